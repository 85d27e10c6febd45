import { BlockList, isIPv4 } from 'node:net';
import { createHash } from 'node:crypto';
import type { Config, RouteConfigT } from '../config/schema/index.ts';
import { ConfigError, formatPath, type ConfigIssue } from '../config/errors.ts';
import { parseDuration, parseSize } from '../config/units.ts';
import { REQUEST_PHASES, PluginConfigError, type PhaseHandler, type PluginHandlers, type LogHandler, type ResponseHandler } from '../core/plugin.ts';
import type { ChainPhase, CompiledChain, CompiledRoute, RouteSecrets } from '../core/route.ts';
import type { Logger } from '../core/logger.ts';
import { pluginByName } from '../plugins/index.ts';
import { RouteConflictError, RouteTable, type TableRoute, type ValueMatcher } from '../router/route-table.ts';
import type { NormalizeOptions } from '../router/normalize.ts';
import { Upstream, upstreamHash, type UpstreamTimeouts } from '../upstream/pool.ts';
import { UpstreamBackend } from '../upstream/forward.ts';
import { FunctionBackend } from '../functions/backend.ts';
import { buildFunctions, type FunctionHandle } from '../functions/invokers.ts';
import { RetryPolicy } from '../upstream/retry.ts';
import { resolvePluginConfigs } from './plugin-scope.ts';
import { ConsumerDirectory } from '../identity/consumers.ts';
import { composeAuthentication, extraOwnedHeaders, type NamedAuthenticator } from '../identity/authenticate.ts';
import { Value } from '@sinclair/typebox/value';
import { AuthSettings, type AuthSettingsT } from '../config/schema/consumer.ts';
import { consumerDispatch } from './consumer-scope.ts';
import { compileRewrite } from './rewrite.ts';
import { USAGE_PLAN, USAGE_PLAN_PRIORITY, compilePlans, planHandler, planSubscriptions, type CompiledPlan } from '../limits/plans.ts';

/** Per-request limits and hygiene settings, parsed once. */
export interface RequestLimits {
  maxHeaders: number;
  maxUrlBytes: number;
  maxBodyBytes: number;
}

/**
 * Everything a request needs, compiled from one validated config and never changed afterwards. A reload builds a
 * new Runtime next to the live one and swaps it in with one assignment; requests keep the Runtime they started on.
 */
export interface Runtime {
  readonly hash: string;
  readonly config: Config;
  readonly createdAt: Date;
  readonly table: RouteTable;
  readonly routes: readonly CompiledRoute[];
  /** Global plugins only: runs for requests that match no route (404/405). */
  readonly globalChain: CompiledChain;
  readonly upstreams: ReadonlyMap<string, Upstream>;
  /** Functions by name; one whose config is unchanged by a reload is reused (its warm sandboxes stay). */
  readonly functions: ReadonlyMap<string, FunctionHandle>;
  readonly consumers: ConsumerDirectory;
  /** Usage plans by name (the admin API reports their usage). */
  readonly plans: ReadonlyMap<string, CompiledPlan>;
  readonly limits: RequestLimits;
  readonly paths: NormalizeOptions;
  /** undefined when no proxy is trusted: then no incoming forwarding header is believed. */
  readonly trustedProxies: BlockList | undefined;
  /** Upstreams this build created (not reused from the previous runtime): started by activateRuntime. */
  readonly fresh: readonly Upstream[];
  /** Every plugin instance this build created, for closing them when the gateway stops. */
  readonly plugins: readonly PluginHandlers[];
}

/**
 * Starts the background work of the upstreams a build created (DNS discovery's first resolution, active health
 * checks), before the runtime goes live. If an upstream can't start (DNS finds nothing), they are all destroyed
 * and ConfigError names the upstream: the live runtime is untouched.
 */
export async function activateRuntime(rt: Runtime): Promise<void> {
  const results = await Promise.allSettled(rt.fresh.map((u) => u.start()));
  const issues: ConfigIssue[] = [];
  results.forEach((r, i) => {
    if (r.status === 'rejected') issues.push({ path: formatPath(['upstreams', rt.fresh[i]!.name, 'discovery']), message: (r.reason as Error).message });
  });
  if (issues.length > 0) {
    for (const u of rt.fresh) u.destroy();
    throw new ConfigError(issues);
  }
}

export function configHash(config: Config): string {
  return createHash('sha256').update(JSON.stringify(config)).digest('hex').slice(0, 16);
}

/**
 * Builds a Runtime. Upstreams whose config is unchanged from `previous` are reused (their connections stay warm).
 * Throws ConfigError when a plugin refuses its config; nothing is created in that case (new upstreams are
 * destroyed again), so the live runtime is untouched.
 */
export function buildRuntime(config: Config, logger: Logger, previous?: Runtime, options: BuildOptions = {}): Runtime {
  const issues: ConfigIssue[] = [];
  const functions = buildFunctions(config, previous?.functions, { baseDir: options.baseDir ?? process.cwd(), logger }, issues);
  const upstreams = new Map<string, Upstream>();
  const created: Upstream[] = [];
  for (const [name, uc] of Object.entries(config.upstreams ?? {})) {
    const old = previous?.upstreams.get(name);
    if (old !== undefined && old.hash === upstreamHash(uc)) {
      upstreams.set(name, old);
    } else {
      const u = new Upstream(name, uc, logger);
      created.push(u);
      upstreams.set(name, u);
    }
  }

  const consumers = new ConsumerDirectory(config);
  const auth = Value.Default(AuthSettings, structuredClone(config.auth ?? {})) as AuthSettingsT;
  const ownedHeaders = extraOwnedHeaders(auth.upstreamHeaders);
  const globalConfigs = (config.plugins ?? {}) as Record<string, unknown>;
  const globalInstances = new Map<string, PluginHandlers>();
  const instances: PluginHandlers[] = [];
  const instantiate = (name: string, cfg: unknown, path: (string | number)[], route?: string, consumer?: string): PluginHandlers | undefined => {
    const def = pluginByName.get(name);
    if (def === undefined) {
      issues.push({ path: formatPath(path), message: `unknown plugin "${name}"` });
      return undefined;
    }
    try {
      const h = def.create(cfg as never, { route, consumer, consumers, auth, logger, redis: config.redis, cache: config.cache, functions: (fn) => functions.get(fn)?.invoker });
      instances.push(h);
      return h;
    } catch (err) {
      if (err instanceof PluginConfigError) {
        issues.push({ path: formatPath(path) + (err.path ? (err.path.startsWith('[') ? err.path : `.${err.path}`) : ''), message: err.message });
      } else {
        issues.push({ path: formatPath(path), message: (err as Error).message });
      }
      return undefined;
    }
  };
  for (const [name, cfg] of Object.entries(globalConfigs)) {
    const inst = instantiate(name, cfg, ['plugins', name]);
    if (inst) globalInstances.set(name, inst);
  }

  // Usage plans: one policy per plan, shared by every route it covers; a route gets a throttle-phase handler when
  // some consumer's plan covers it.
  const plans = compilePlans(config, { redis: config.redis, logger }, issues);
  const subscriptions = planSubscriptions(config, consumers, plans);

  const bodyDefault = parseSize(config.server?.maxBodyBytes ?? '10mb');
  const routes: CompiledRoute[] = [];
  const tableRoutes: TableRoute[] = [];
  // Consumer-wide instances are shared by every route, so their state (a limiter's buckets, say) is too.
  const consumerInstances = new Map<string, PluginHandlers | undefined>();
  const consumerInstance = (consumer: string, name: string, cfg: unknown): PluginHandlers | undefined => {
    const key = `${consumer}\u0000${name}`;
    if (!consumerInstances.has(key)) consumerInstances.set(key, instantiate(name, cfg, ['consumers', consumer, 'plugins', name], undefined, consumer));
    return consumerInstances.get(key);
  };
  config.routes.forEach((rc, i) => {
    const routePlugins = rc.plugins as Record<string, unknown> | undefined;
    const resolved = resolvePluginConfigs({ global: globalConfigs, route: routePlugins });
    let handlers: Array<{ name: string; h: PluginHandlers }> = [];
    for (const p of resolved) {
      const h = p.scope === 'global' ? globalInstances.get(p.name) : instantiate(p.name, p.config, ['routes', i, 'plugins', p.name], rc.name);
      if (h) handlers.push({ name: p.name, h });
    }
    handlers = consumerDispatch(handlers, {
      consumers,
      resolve: (name) => resolvePluginConfigs({
        global: globalConfigs,
        route: routePlugins,
        consumer: config.consumers?.[name]?.plugins as Record<string, unknown> | undefined,
        routeConsumer: rc.consumerPlugins?.[name] as Record<string, unknown> | undefined,
      }),
      instantiate: (consumer, p) => p.scope === 'consumer'
        ? consumerInstance(consumer, p.name, p.config)
        : instantiate(p.name, p.config, ['routes', i, 'consumerPlugins', consumer, p.name], rc.name, consumer),
    });
    const methods: NamedAuthenticator[] = [];
    for (const { name, h } of handlers) if (h.authenticator !== undefined) methods.push({ name, authenticator: h.authenticator });
    const order = rc.auth?.order;
    const rank = (n: string) => (order === undefined ? -(pluginByName.get(n)?.priority ?? 0) : order.indexOf(n) < 0 ? order.length : order.indexOf(n));
    methods.sort((a, b) => rank(a.name) - rank(b.name) || (a.name < b.name ? -1 : 1));
    const anonymous = rc.auth?.anonymous !== undefined ? consumers.byName(rc.auth.anonymous) : undefined;
    if (methods.length > 0 || anonymous !== undefined) {
      handlers.push({ name: 'auth', h: { authenticate: composeAuthentication(methods, { mode: rc.auth?.mode ?? 'any', anonymous, headers: auth.upstreamHeaders, logger, route: rc.name }) } });
    }
    const plan = planHandler(rc.name, subscriptions);
    if (plan !== undefined) handlers.push({ name: USAGE_PLAN, h: plan });
    const upstream = rc.upstream !== undefined ? upstreams.get(rc.upstream) : undefined;
    const fn = rc.function !== undefined ? functions.get(rc.function.name) : undefined;
    const backend = fn !== undefined
      ? new FunctionBackend(fn.invoker, rc.function!, { path: firstPath(rc.match.path), methods: rc.match.methods }, logger)
      : upstream === undefined ? undefined : new UpstreamBackend(upstream, {
        host: rc.hostHeader ?? (rc.preserveHost ? 'preserve' : undefined),
        timeouts: routeTimeouts(upstream.timeouts, rc.timeouts),
        retry: rc.retries !== undefined ? new RetryPolicy(rc.retries) : upstream.retry,
      }, logger);
    const route: CompiledRoute = {
      name: rc.name,
      chain: compileChain(handlers),
      backend,
      rewrite: compileRewrite(rc.rewrite),
      maxBodyBytes: rc.maxBodyBytes !== undefined ? parseSize(rc.maxBodyBytes) : bodyDefault,
      websocket: rc.websocket,
      ownedHeaders,
      secrets: routeSecrets(handlers.map((x) => x.h)),
    };
    routes.push(route);
    tableRoutes.push(tableRoute(route, rc, i));
  });

  let table: RouteTable | undefined;
  try {
    table = new RouteTable(tableRoutes);
  } catch (err) {
    if (!(err instanceof RouteConflictError)) throw err;
    issues.push({ path: formatPath(['routes', err.index, 'match']), message: `matches exactly the same requests as routes[${err.other}] (path "${err.path}"): remove one or tell them apart by host, method, header or query` });
  }

  if (issues.length > 0 || table === undefined) {
    for (const u of created) u.destroy();
    throw new ConfigError(issues);
  }

  const server = config.server;
  const trusted = server?.trustedProxies ?? [];
  return {
    hash: configHash(config),
    config,
    createdAt: new Date(),
    table,
    routes,
    globalChain: compileChain([...globalInstances].map(([name, h]) => ({ name, h }))),
    upstreams,
    functions,
    consumers,
    plans,
    limits: {
      maxHeaders: server?.maxHeaders ?? 100,
      maxUrlBytes: parseSize(server?.maxUrlBytes ?? '8kb'),
      maxBodyBytes: bodyDefault,
    },
    paths: {
      duplicateSlashes: server?.paths?.duplicateSlashes ?? 'merge',
      escapedSlashes: server?.paths?.escapedSlashes ?? 'keep',
    },
    trustedProxies: trusted.length > 0 ? blockList(trusted) : undefined,
    fresh: created,
    plugins: instances,
  };
}

/** Where a build finds what config paths are relative to. */
export interface BuildOptions {
  /** The config file's directory: functions' `codeDir` and handlers are relative to it (default: the working directory). */
  baseDir?: string;
}

/** The first path pattern of a route (a function event's `resource` / `routeKey`). */
function firstPath(path: string | string[]): string {
  return Array.isArray(path) ? path[0]! : path;
}

function routeSecrets(handlers: readonly PluginHandlers[]): RouteSecrets {
  const query = new Set<string>();
  const headers = new Set<string>();
  const cookies = new Set<string>();
  for (const h of handlers) {
    for (const q of h.secrets?.query ?? []) query.add(q);
    for (const x of h.secrets?.headers ?? []) headers.add(x.toLowerCase());
    for (const c of h.secrets?.cookies ?? []) cookies.add(c);
  }
  return { query, headers, cookies };
}

/**
 * Closes the upstreams of `old` that `next` no longer uses, once their requests in flight are done. With no `next`
 * (the gateway stops), also closes every plugin instance. Shared stores (Redis connections) are process-wide and
 * may serve another gateway in the same process: the process closes them (`expeditor start` does, after stop).
 */
export async function retireRuntime(old: Runtime, next: Runtime | undefined): Promise<void> {
  const keep = new Set(next ? [...next.upstreams.values()] : []);
  const keepFunctions = new Set(next ? [...next.functions.values()] : []);
  await Promise.all([
    ...[...old.upstreams.values()].filter((u) => !keep.has(u)).map((u) => u.close()),
    ...[...old.functions.values()].filter((f) => !keepFunctions.has(f)).map((f) => f.invoker.close()),
  ]);
  if (next !== undefined) return;
  await Promise.allSettled(old.plugins.map(async (p) => p.close?.()));
}

function compileChain(instances: ReadonlyArray<{ name: string; h: PluginHandlers }>): CompiledChain {
  const byPriority = [...instances].sort((a, b) => {
    const pa = priorityOf(a.name);
    const pb = priorityOf(b.name);
    return pb - pa || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  });
  const request: PhaseHandler[] = [];
  const phases: ChainPhase[] = [];
  for (const phase of REQUEST_PHASES) {
    const handlers: PhaseHandler[] = [];
    const plugins: string[] = [];
    for (const { name, h } of byPriority) {
      const fn = h[phase];
      if (fn === undefined) continue;
      handlers.push(fn);
      plugins.push(name);
    }
    request.push(...handlers);
    if (handlers.length > 0) phases.push({ name: phase, handlers, plugins });
  }
  const response: ResponseHandler[] = [];
  const log: LogHandler[] = [];
  for (const { h } of byPriority) {
    if (h.response) response.push(h.response);
    if (h.log) log.push(h.log);
  }
  return { request, response, log, plugins: byPriority.map((x) => x.name), phases };
}

/** A plugin's priority; the handlers the build adds itself (`auth`, `usage-plan`) have their own. */
function priorityOf(name: string): number {
  return pluginByName.get(name)?.priority ?? (name === USAGE_PLAN ? USAGE_PLAN_PRIORITY : 0);
}

function tableRoute(route: CompiledRoute, rc: RouteConfigT, index: number): TableRoute {
  const m = rc.match;
  const list = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
  return {
    route,
    paths: list(m.path),
    hosts: list(m.host).map((h) => h.toLowerCase()),
    methods: m.methods,
    headers: Object.entries(m.headers ?? {}).map(([k, v]) => [k.toLowerCase(), valueMatcher(v)] as const),
    query: Object.entries(m.query ?? {}).map(([k, v]) => [k, valueMatcher(v)] as const),
    priority: rc.priority,
    index,
  };
}

function valueMatcher(v: string | { regex: string } | { present: boolean }): ValueMatcher {
  if (typeof v === 'string') return (x) => x === v;
  if ('regex' in v) {
    const re = new RegExp(v.regex);
    return (x) => x !== undefined && re.test(x);
  }
  return v.present ? (x) => x !== undefined : (x) => x === undefined;
}

export function blockList(cidrs: readonly string[]): BlockList {
  const bl = new BlockList();
  for (const c of cidrs) {
    const [addr, bits] = c.split('/') as [string, string | undefined];
    const type = isIPv4(addr) ? 'ipv4' : 'ipv6';
    if (bits === undefined) bl.addAddress(addr, type);
    else bl.addSubnet(addr, Number(bits), type);
  }
  return bl;
}

/** The upstream's timeouts with the route's overrides, field by field. */
function routeTimeouts(base: UpstreamTimeouts, own: RouteConfigT['timeouts']): UpstreamTimeouts {
  if (own === undefined) return base;
  const pick = (v: string | number | undefined, fallback: number) => (v === undefined ? fallback : parseDuration(v));
  return { connect: base.connect, response: pick(own.response, base.response), idle: pick(own.idle, base.idle), total: pick(own.total, base.total) };
}
