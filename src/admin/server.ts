import http from 'node:http';
import { randomUUID } from 'node:crypto';
import { ConfigError, withLines } from '../config/errors.ts';
import { checkConfig } from '../config/check.ts';
import { configJsonSchema } from '../config/json-schema.ts';
import { parseConfigText, type LoadedConfig } from '../config/load.ts';
import { validateConfig } from '../config/validate.ts';
import type { ErrorCode } from '../core/errors.ts';
import { consumerView } from '../identity/view.ts';
import { storeHealth } from '../limits/health.ts';
import { planUsage, planView } from '../limits/plans.ts';
import { StoreUnavailable } from '../limits/types.ts';
import type { Logger } from '../core/logger.ts';
import type { Runtime } from '../runtime/build.ts';
import type { GatewayMetrics } from '../observability/gateway-metrics.ts';
import type { GatewayAnalytics } from '../observability/analytics/analytics.ts';
import { parseAnalyticsQuery } from '../observability/analytics/query-params.ts';
import { listenOn } from '../server/gateway.ts';
import { STATIC_KEYS } from '../config/static-sections.ts';
import { VERSION } from '../version.ts';
import { cacheStoreStats, openConfiguredStores, purgeAll } from '../cache/stores.ts';
import type { StoreConfigT } from '../config/schema/store.ts';
import { StoreError } from '../store/errors.ts';
import type { NewAuditEntry } from '../store/types.ts';
import { AdminAuth, allows, requiredRole, type AdminToken } from './auth.ts';
import { releaseRoutes, storeOpener } from './release-routes.ts';
import { invalidConfig, notFound, problem, storeFailure, type Handler } from './reply.ts';
import { ADMIN_MAX_BODY, TextBody, findEndpoint, queryOf, readBody, send } from './http.ts';
import { purgeSelector } from '../cache/purge-body.ts';

/** What the admin API needs from the gateway. */
export interface AdminHost {
  readonly runtime: Runtime;
  readonly startedAt: Date;
  readonly reloads: number;
  readonly logger: Logger;
  /** True once SIGTERM (or stop()) began: the gateway no longer takes new requests. */
  readonly draining: boolean;
  readonly metrics: GatewayMetrics;
  readonly analytics: GatewayAnalytics;
  /** Validates, builds and swaps in a config; throws ConfigError (the live runtime untouched) when it cannot. */
  apply(input: unknown): Promise<Runtime>;
}

export interface AdminOptions {
  port: number;
  host: string;
  /** `admin.token` and `admin.tokens` (see adminTokens); none: the API is open. */
  tokens: readonly AdminToken[];
  /** The `store` settings the gateway started with, and the config file's directory a relative SQLite path is from. */
  store: Partial<StoreConfigT> | undefined;
  baseDir: string | undefined;
}

/** Endpoints served without the admin token. */
const PUBLIC_PATHS: ReadonlySet<string> = new Set(['/health/live', '/health/ready']);

const STATIC_SECTIONS = STATIC_KEYS;

/**
 * The admin API: its own listener (loopback by default), never the proxy port. When tokens are configured every
 * request must carry one as a bearer token (401 otherwise), whose role must allow the endpoint (403 otherwise);
 * config validation refuses a non-loopback listener without one. Errors are problem+json like the proxy's; config
 * errors add `errors: [{ path, message, line? }]`.
 */
export async function startAdmin(host: AdminHost, options: AdminOptions): Promise<http.Server> {
  const auth = new AdminAuth(options.tokens);
  const store = storeOpener(options.store, options.baseDir);
  /** Audit entries of changes the store does not record itself; a store that fails is logged, the change stands. */
  const audit = async (entry: NewAuditEntry) => {
    try {
      await (await store()).appendAudit(entry);
    } catch (err) {
      host.logger.error('admin: the audit entry could not be written', { action: entry.action, target: entry.target, err });
    }
  };
  const startedWith = Object.fromEntries(STATIC_SECTIONS.map((k) => [k, JSON.stringify(host.runtime.config[k])]));
  const routes: Record<string, Handler> = {
    'GET /status': () => {
      const rt = host.runtime;
      return [200, {
        version: VERSION,
        startedAt: host.startedAt.toISOString(),
        uptimeSeconds: Math.round((Date.now() - host.startedAt.getTime()) / 1000),
        configHash: rt.hash,
        configLoadedAt: rt.createdAt.toISOString(),
        reloads: host.reloads,
        counts: { routes: rt.routes.length, upstreams: rt.upstreams.size, targets: [...rt.upstreams.values()].reduce((n, u) => n + u.targets.length, 0) },
      }];
    },
    'GET /routes': () => {
      const rt = host.runtime;
      return [200, {
        routes: rt.config.routes.map((rc, i) => ({
          name: rc.name,
          match: rc.match,
          priority: rc.priority,
          upstream: rc.upstream,
          plugins: rt.routes[i]!.chain.plugins,
        })),
      }];
    },
    'GET /schema': () => [200, configJsonSchema()],
    // Consumers without their secrets: credential types, labels, user names and key ids, expiry, revocation.
    'GET /consumers': () => {
      const consumers = host.runtime.config.consumers ?? {};
      return [200, { consumers: Object.entries(consumers).map(([name, c]) => consumerView(name, c)) }];
    },
    'GET /consumers/:name': (_body, p) => {
      const c = host.runtime.config.consumers?.[p.name!];
      return c === undefined ? notFound(`no consumer "${p.name}"`) : [200, consumerView(p.name!, c)];
    },
    // A consumer's usage of its plan, read without consuming anything (Redis-backed plans answer for every node).
    'GET /consumers/:name/usage': async (_body, p) => {
      const rt = host.runtime;
      const consumer = rt.consumers.byName(p.name!);
      if (consumer === undefined) return notFound(`no consumer "${p.name}"`);
      const plan = rt.config.consumers?.[p.name!]?.plan;
      const compiled = plan === undefined ? undefined : rt.plans.get(plan);
      if (compiled === undefined) return [200, { consumer: consumer.name, plan: null }];
      try {
        return [200, await planUsage(compiled, consumer)];
      } catch (err) {
        if (!(err instanceof StoreUnavailable)) throw err;
        return [503, problem('rate_limit_unavailable', `the store of plan "${plan}" is unavailable: ${err.message}`, randomUUID())];
      }
    },
    'GET /plans': () => {
      const rt = host.runtime;
      const subscribers = new Map<string, string[]>();
      for (const [name, c] of Object.entries(rt.config.consumers ?? {})) {
        if (c.plan !== undefined) subscribers.set(c.plan, [...(subscribers.get(c.plan) ?? []), name]);
      }
      return [200, { plans: [...rt.plans.values()].map((plan) => planView(plan, subscribers.get(plan.name) ?? [])) }];
    },
    // Probes for load balancers and Kubernetes: live while the process answers; ready while a config is loaded and
    // the gateway is not draining (later: and its required stores are reachable).
    'GET /health/live': () => [200, { status: 'live' }],
    'GET /health/ready': () => {
      if (host.draining) return [503, problem('shutting_down', 'the gateway is draining', randomUUID())];
      const stores = storeHealth(host.runtime.config, host.logger);
      if (stores.required && stores.redis === 'down') {
        return [503, { ...problem('rate_limit_unavailable', 'Redis is down and a rate limit fails closed without it', randomUUID()), stores: { redis: 'down' } }];
      }
      return [200, stores.redis === undefined ? { status: 'ready' } : { status: 'ready', stores: { redis: stores.redis } }];
    },
    // Prometheus text format (docs/observability.md); 404 while metrics are disabled.
    'GET /metrics': async () => {
      if (!host.metrics.enabled) return notFound('metrics are disabled (metrics.enabled: false)');
      const { contentType, body } = await host.metrics.scrape();
      return [200, new TextBody(body, contentType)];
    },
    // Per-minute rollups of the last 24 hours (docs/observability.md, "Built-in analytics"); 404 while disabled.
    'GET /analytics': async (_body, _p, query) => {
      const analytics = host.analytics;
      if (!analytics.enabled) return notFound('analytics are disabled (analytics.enabled: false)');
      const parsed = parseAnalyticsQuery(query, Date.now(), { topN: analytics.topN, sharing: analytics.sharing !== undefined });
      if (!parsed.ok) {
        const detail = parsed.errors.map((e) => `${e.param} ${e.message}`).join('; ');
        return [400, { ...problem('bad_request', `invalid query: ${detail}`, randomUUID()), errors: parsed.errors }];
      }
      return [200, await analytics.query(parsed.query)];
    },
    // Functions (docs/functions.md): invocations, sandboxes and queues, live.
    'GET /functions': () => [200, { functions: [...host.runtime.functions.values()].map((f) => f.invoker.stats()) }],
    'GET /functions/:name': (_body, p) => {
      const f = host.runtime.functions.get(p.name!);
      return f === undefined ? notFound(`no function "${p.name}"`) : [200, f.invoker.stats()];
    },
    // The response cache (docs/caching.md): what the stores hold, and purging.
    'GET /cache': () => [200, cacheStoreStats()],
    'POST /cache/purge': async (body, _p, _q, caller) => {
      const selector = purgeSelector(body);
      if (typeof selector === 'string') return [400, problem('bad_request', selector, randomUUID())];
      openConfiguredStores(host.runtime.config, host.logger);
      const purged = await purgeAll(selector);
      const [kind, value] = Object.entries(selector)[0]!;
      await audit({ actor: caller.name, action: 'cache.purge', target: `${kind}:${value}`, details: { selector, purged } });
      return [200, { purged }];
    },
    'GET /upstreams': () => [200, { upstreams: [...host.runtime.upstreams.values()].map((u) => u.snapshot()) }],
    'GET /upstreams/:name': (_body, p) => {
      const u = host.runtime.upstreams.get(p.name!);
      return u === undefined ? notFound(`no upstream "${p.name}"`) : [200, u.snapshot()];
    },
    'POST /upstreams/:name/targets/:id/drain': (_body, p) => drain(p, true),
    'DELETE /upstreams/:name/targets/:id/drain': (_body, p) => drain(p, false),
    'POST /config/validate': async (body) => {
      // The same checks as PUT /config, trial build included, so "valid" here means PUT would take it.
      const config = await checkConfig(parseBody(body));
      return [200, { valid: true, routes: config.routes.length, upstreams: Object.keys(config.upstreams ?? {}).length }];
    },
    'PUT /config': async (body, _p, _q, caller) => {
      const loaded = parseBody(body);
      // Validated here first for the line numbers; apply() validates again, builds and swaps.
      const config = validateConfig(loaded.value, loaded);
      // Compared with what the listeners were started with (a reload may have replaced the config's copy); a
      // section left out is not a change: it keeps its running value until a restart either way.
      const sent = loaded.value as Record<string, unknown>;
      const restartRequired = STATIC_SECTIONS.filter((k) => sent[k] !== undefined && JSON.stringify(config[k]) !== startedWith[k]);
      let rt: Runtime;
      try {
        rt = await host.apply(loaded.value);
      } catch (err) {
        if (err instanceof ConfigError) throw new ConfigError(withLines(err.issues, loaded.lineOf));
        throw err;
      }
      await audit({ actor: caller.name, action: 'config.apply', target: 'config', details: { configHash: rt.hash, routes: rt.routes.length, restartRequired } });
      return [200, { applied: true, configHash: rt.hash, routes: rt.routes.length, upstreams: rt.upstreams.size, restartRequired }];
    },
    ...releaseRoutes(store),
  };
  const endpoints = Object.keys(routes);

  /** Takes a target out of rotation (or puts it back); in-flight requests finish. */
  function drain(p: Record<string, string>, on: boolean): [number, unknown] {
    const u = host.runtime.upstreams.get(p.name!);
    if (u === undefined) return notFound(`no upstream "${p.name}"`);
    const t = u.drain(p.id!, on);
    if (t === undefined) return notFound(`upstream "${p.name}" has no target "${p.id}" (ids are host:port, see GET /upstreams/${p.name})`);
    return [200, { upstream: u.name, target: t.id, draining: t.draining, inflight: t.inflight }];
  }

  const server = http.createServer({ maxHeaderSize: 16 * 1024, requestTimeout: 30_000 }, (req, res) => {
    void handle(req, res);
  });

  async function handle(req: http.IncomingMessage, res: http.ServerResponse) {
    const requestId = randomUUID();
    const fail = (status: number, code: ErrorCode, detail: string, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}) =>
      send(res, status, { ...problem(code, detail, requestId), ...extra }, headers);

    // Before anything else, so an unauthenticated client learns nothing, not even which endpoints exist.
    // Health probes answer without the token (probes rarely carry credentials; they reveal nothing but up/down).
    const path = (req.url ?? '/').split('?')[0]!;
    const header = req.headers.authorization;
    const caller = auth.identify(header);
    if (caller === undefined && !PUBLIC_PATHS.has(path)) {
      const challenge = header === undefined ? 'Bearer realm="expeditor-admin"' : 'Bearer realm="expeditor-admin", error="invalid_token"';
      return fail(401, 'unauthorized', header === undefined ? 'the admin API requires Authorization: Bearer <token>' : 'invalid admin token', {}, { 'www-authenticate': challenge });
    }
    const found = findEndpoint(endpoints, `${req.method} ${path}`);
    const handler = found ? routes[found.key] : undefined;
    if (handler === undefined) {
      const allowed = endpoints.filter((k) => findEndpoint([k], `${k.split(' ')[0]} ${path}`) !== undefined).map((k) => k.split(' ')[0]!);
      if (allowed.length > 0) return fail(405, 'method_not_allowed', `${path} answers ${allowed.join(', ')}`, {}, { allow: allowed.join(', ') });
      return fail(404, 'route_not_found', `no admin endpoint ${req.method} ${path}; the endpoints are ${endpoints.join(', ')}`, { endpoints });
    }
    const needed = requiredRole(found!.key);
    if (caller !== undefined && !allows(caller, needed)) {
      return fail(403, 'forbidden', `${found!.key} needs a token with the "${needed}" role; the token "${caller.name}" has "${caller.role}"`);
    }
    const tooLarge = () => fail(413, 'payload_too_large', `admin request bodies are limited to ${ADMIN_MAX_BODY} bytes`, {}, { connection: 'close' });
    if (Number(req.headers['content-length'] ?? 0) > ADMIN_MAX_BODY) return tooLarge();
    let body: Buffer;
    try {
      body = await readBody(req);
    } catch {
      return tooLarge();
    }
    try {
      // Health probes answer anonymous callers too (they need no role); the caller is then nobody's.
      const [status, payload] = await handler(body, found!.params, new URLSearchParams(queryOf(req.url)), caller ?? { name: 'anonymous', role: 'read' });
      send(res, status, payload);
    } catch (err) {
      if (err instanceof ConfigError) return send(res, ...invalidConfig(err.issues, 'the running config keeps serving'));
      const failure = err instanceof StoreError ? storeFailure(err) : undefined;
      if (failure !== undefined) return send(res, ...failure);
      host.logger.error('admin request failed', { method: req.method, path, requestId, err });
      fail(500, 'internal_error', 'the admin request failed; see the gateway log');
    }
  }

  await listenOn(server, options.port, options.host);
  return server;
}

/**
 * A config in a request body, YAML or JSON whatever the Content-Type says (JSON is YAML). `${env:…}` placeholders
 * are refused: expanding them would hand the gateway's environment to whoever can upload a config.
 */
function parseBody(body: Buffer): LoadedConfig {
  if (body.length === 0) throw new ConfigError([{ path: '', message: 'request body is empty: send the config as YAML or JSON' }]);
  return parseConfigText(body.toString('utf8'), 'admin request', { env: false });
}
