import { TypeCompiler } from '@sinclair/typebox/compiler';
import { SetErrorFunction, ValueErrorType, type ValueError } from '@sinclair/typebox/errors';
import { Value } from '@sinclair/typebox/value';
import type { TSchema } from '@sinclair/typebox';
import { BlockList, isIP } from 'node:net';
import { ConfigSchema, ConsumerConfig, PluginsConfig, type Config } from './schema/index.ts';
import { UpstreamConfig } from './schema/upstream.ts';
import { FunctionConfig } from './schema/function.ts';
import { PlanConfig } from './schema/plan.ts';
import { checkIdentity, type At } from './check-identity.ts';
import { checkPlans } from './check-plans.ts';
import { NAME_PATTERN } from './schema/common.ts';
import { ConfigError, formatPath, pointerToSegments, type ConfigIssue } from './errors.ts';
import { schemaMessage } from './messages.ts';
import { closest } from './suggest.ts';
import type { LoadedConfig } from './load.ts';
import { parseDuration } from './units.ts';

SetErrorFunction(schemaMessage);

const checker = TypeCompiler.Compile(ConfigSchema);
const NAME_RE = new RegExp(NAME_PATTERN);
const HOST_RE = /^(\*\.)?([a-z0-9]([a-z0-9-]*[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]*[a-z0-9])?$/i;

type Segments = (string | number)[];

/** What validation can use from a loaded file: lines for messages, and which values came from `${env:…}`. */
export type ValidateSource = Partial<Pick<LoadedConfig, 'lineOf' | 'envPaths'>>;

/**
 * Validates a parsed config: schema (types, unknown keys, formats), then meaning (references, duplicate names,
 * required combinations). Returns a new config with defaults applied; the input is never mutated. Throws
 * ConfigError listing every issue with its path (and line, when `source` knows it).
 */
export function validateConfig(input: unknown, source: ValidateSource = {}): Config {
  const issues = new IssueList(source.lineOf);

  // Defaults first, on a copy: a field with a default is never "required", and the caller's object is never touched.
  const candidate = Value.Default(ConfigSchema, structuredClone(input ?? {})) as Record<string, unknown>;
  // TypeBox does not descend into records whose value schema has no default of its own.
  const ups = candidate?.upstreams;
  defaultRecord(ups, UpstreamConfig);
  defaultRecord(candidate?.consumers, ConsumerConfig);
  defaultRecord(candidate?.plans, PlanConfig);
  defaultRecord(candidate?.functions, FunctionConfig);
  if (Array.isArray(candidate?.routes)) {
    for (const r of candidate.routes) if (isObject(r)) defaultRecord(r.consumerPlugins, PluginsConfig);
  }
  if (source.envPaths && source.envPaths.length > 0) convertEnvValues(candidate, source.envPaths);

  if (!checker.Check(candidate)) {
    for (const e of checker.Errors(candidate)) issues.addSchemaError(e);
  }
  try {
    const at: At = (segments, message, options) => issues.add(segments, message, options?.unlessInside);
    checkMeaning(candidate as Config, at);
    checkIdentity(candidate as Config, at);
    checkPlans(candidate as Config, at);
  } catch (err) {
    // A shape the schema refused can trip the meaning checks; those issues are reported already.
    if (!issues.hasSchemaIssues) throw err;
  }
  if (issues.list.length > 0) throw new ConfigError(issues.list);
  return candidate as Config;
}

/**
 * Issues in the order found, one per path. A value the schema refused is reported once, by its most useful message:
 * a union's own message, not one per member; and no meaning check repeats a path the schema already reported.
 */
class IssueList {
  readonly list: ConfigIssue[] = [];
  hasSchemaIssues = false;
  readonly #paths: string[] = [];
  readonly #lineOf: LoadedConfig['lineOf'] | undefined;

  constructor(lineOf: LoadedConfig['lineOf'] | undefined) {
    this.#lineOf = lineOf;
  }

  addSchemaError(e: ValueError): void {
    const segments = pointerToSegments(e.path);
    const member = e.type === ValueErrorType.Union ? taggedMember(e.schema, e.value) : undefined;
    if (member !== undefined) {
      // A union tagged by `type` (credentials): report what is wrong inside the member the value names.
      for (const inner of Value.Errors(member, e.value)) this.addSchemaError({ ...inner, path: e.path + inner.path });
      return;
    }
    let message = e.message;
    if (e.type === ValueErrorType.ObjectAdditionalProperties) {
      const key = String(segments.at(-1));
      const known = Object.keys((e.schema as { properties?: object }).properties ?? {});
      const near = closest(key, known);
      message = `unknown key "${key}"${near ? ` (did you mean "${near}"?)` : ''}`;
    } else if (e.type === ValueErrorType.ObjectRequiredProperty) {
      message = 'is required';
    } else if (this.#covered(formatPath(segments))) {
      return;
    }
    this.hasSchemaIssues = true;
    this.#push(segments, message);
  }

  /** A meaning issue; with `unlessInside`, skipped when something inside the value is reported already. */
  add(segments: Segments, message: string, unlessInside = false): void {
    const path = formatPath(segments);
    if (this.#covered(path)) return;
    if (unlessInside && this.#paths.some((p) => p.startsWith(`${path}.`) || p.startsWith(`${path}[`))) return;
    this.#push(segments, message);
  }

  #push(segments: Segments, message: string): void {
    const path = formatPath(segments);
    if (this.list.some((i) => i.path === path && i.message === message)) return;
    this.#paths.push(path);
    const line = this.#lineOf?.(segments);
    this.list.push(line === undefined ? { path, message } : { path, message, line });
  }

  /** Whether `path` or a parent of it has an issue already. */
  #covered(path: string): boolean {
    return this.#paths.some((p) => p === '' || p === path || path.startsWith(`${p}.`) || path.startsWith(`${p}[`));
  }
}


/**
 * Checks the schema cannot express: references, duplicates, combinations. Runs on values the schema may have
 * refused, so every read is guarded; each route is checked on its own so one odd route cannot hide the others.
 */
/** Combinations within one upstream the schema can't express. */
function checkUpstreamPolicies(u: Record<string, unknown>, path: (string | number)[], at: At): void {
  const targets = Array.isArray(u.targets) ? u.targets : [];
  const dns = isObject(u.discovery) && Array.isArray(u.discovery.dns) ? u.discovery.dns : [];
  if (targets.length === 0 && dns.length === 0) at([...path, 'targets'], 'needs at least one target, or discovery.dns');
  dns.forEach((d: unknown, i: number) => {
    if (!isObject(d)) return;
    if (d.type !== 'SRV' && d.port === undefined) at([...path, 'discovery', 'dns', i, 'port'], `is required for ${String(d.type ?? 'A')} records`);
    if (typeof d.resolver === 'string' && !validResolver(d.resolver)) {
      at([...path, 'discovery', 'dns', i, 'resolver'], `must be an IP address with an optional port ("10.0.0.2:53", "[::1]:53"), not "${d.resolver}"`);
    }
  });
  const active = isObject(u.health) && isObject(u.health.active) ? u.health.active : undefined;
  if (active !== undefined && (typeof active.interval === 'string' || typeof active.interval === 'number')) {
    try {
      if (parseDuration(active.interval) < 100) at([...path, 'health', 'active', 'interval'], 'must be at least 100ms');
    } catch {
      // The schema reports a malformed duration.
    }
  }
  const hashOn = u.hashOn;
  if (u.balancer === 'consistent-hash' && !isObject(hashOn)) at([...path, 'hashOn'], 'is required with balancer "consistent-hash"');
  if (isObject(hashOn) && (hashOn.source === 'header' || hashOn.source === 'cookie') && typeof hashOn.name !== 'string') {
    at([...path, 'hashOn', 'name'], `is required when hashing on a ${hashOn.source}`);
  }
  const adaptive = isObject(u.limits) && isObject(u.limits.adaptive) ? u.limits.adaptive : undefined;
  if (adaptive && typeof adaptive.min === 'number' && typeof adaptive.max === 'number' && adaptive.min > adaptive.max) {
    at([...path, 'limits', 'adaptive', 'min'], `must not exceed max (${adaptive.max})`);
  }
}

/** A function runs code here (`handler`, a `provided` bootstrap) or remotely (`arn`); not both, not neither. */
function checkFunction(f: Record<string, unknown>, path: Array<string | number>, at: At): void {
  if (typeof f.arn === 'string') {
    for (const local of ['handler', 'codeDir'] as const) if (f[local] !== undefined) at([...path, local], 'is for functions run here; a function with an "arn" runs on AWS Lambda');
    return;
  }
  if (f.arn === undefined && f.endpoint !== undefined) at([...path, 'endpoint'], 'needs an "arn" (the function to invoke at that endpoint)');
  if ((f.runtime ?? 'nodejs') === 'nodejs') {
    if (typeof f.handler !== 'string') at([...path, 'handler'], 'is required for the nodejs runtime: "path/to/file.export", e.g. "src/orders.handler"');
    else if (!/^.+\.[A-Za-z_$][\w$]*$/.test(f.handler)) at([...path, 'handler'], `must be "path/to/file.export" (e.g. "src/orders.handler"), not "${f.handler}"`);
  }
}

function checkMeaning(config: Config, at: At): void {
  const share = isObject(config.analytics) && isObject(config.analytics.share) ? config.analytics.share : undefined;
  if (share?.enabled === true && !isObject(config.redis)) {
    at(['analytics', 'share', 'enabled'], 'is true but the config has no root `redis` section to share the rollups through: add one (`redis: { url: "redis://127.0.0.1:6379" }`)');
  }
  const upstreams = isObject(config.upstreams) ? config.upstreams : {};
  for (const name of Object.keys(upstreams)) {
    if (!NAME_RE.test(name)) at(['upstreams', name], `invalid upstream name "${name}": use letters, digits, "_", "." and "-", starting with a letter or digit`);
    const u = upstreams[name] as Record<string, unknown> | undefined;
    if (isObject(u)) checkUpstreamPolicies(u, ['upstreams', name], at);
    const targets = u?.targets;
    if (!Array.isArray(targets)) continue;
    targets.forEach((t: { url?: unknown } | undefined, i) => {
      // The schema pattern sees an origin's shape; a bad port or host character only shows when it is parsed.
      if (typeof t?.url === 'string' && !URL.canParse(t.url)) at(['upstreams', name, 'targets', i, 'url'], `invalid URL "${t.url}"`);
    });
  }
  const functions = isObject(config.functions) ? config.functions : {};
  for (const [name, f] of Object.entries(functions)) {
    if (!NAME_RE.test(name)) at(['functions', name], `invalid function name "${name}": use letters, digits, "_", "." and "-", starting with a letter or digit`);
    if (isObject(f)) checkFunction(f, ['functions', name], at);
  }
  const names = new Map<string, number>();
  const routes = Array.isArray(config.routes) ? config.routes : [];
  routes.forEach((route, i) => {
    if (!isObject(route)) return;
    if (typeof route.name === 'string') {
      const prev = names.get(route.name);
      if (prev !== undefined) at(['routes', i, 'name'], `duplicate route name "${route.name}" (also routes[${prev}])`);
      else names.set(route.name, i);
    }
    if (typeof route.upstream === 'string' && !Object.hasOwn(upstreams, route.upstream)) {
      at(['routes', i, 'upstream'], `unknown upstream "${route.upstream}"`);
    }
    const fn = isObject(route.function) ? route.function : undefined;
    if (fn !== undefined && typeof fn.name === 'string' && !Object.hasOwn(functions, fn.name)) {
      at(['routes', i, 'function', 'name'], `unknown function "${fn.name}"`);
    }
    if (fn !== undefined && route.upstream !== undefined) at(['routes', i, 'function'], 'a route has an "upstream" or a "function", not both');
    if (route.upstream === undefined && fn === undefined && !isObject((route.plugins as Record<string, unknown> | undefined)?.mock)) {
      // Unless a typo in the route (`upstrem:`) explains it: that one is reported already.
      at(['routes', i], 'needs an "upstream", a "function" or a "mock" plugin to answer its requests', { unlessInside: true });
    }
    const match: Record<string, unknown> = isObject(route.match) ? route.match : {};
    const host = match.host;
    const hosts = typeof host === 'string' ? [host] : Array.isArray(host) ? host : [];
    hosts.forEach((h, j) => {
      if (typeof h === 'string' && !HOST_RE.test(h)) {
        at(['routes', i, 'match', 'host', ...(Array.isArray(host) ? [j] : [])], `invalid host pattern "${h}"`);
      }
    });
    for (const field of ['headers', 'query'] as const) {
      const rules = match[field];
      if (!isObject(rules)) continue;
      for (const [k, v] of Object.entries(rules)) {
        if (isObject(v) && typeof v.regex === 'string') checkRegex(v.regex, ['routes', i, 'match', field, k, 'regex'], at);
      }
    }
    const pattern = (route.rewrite as { regex?: { pattern?: unknown } } | undefined)?.regex?.pattern;
    if (typeof pattern === 'string') checkRegex(pattern, ['routes', i, 'rewrite', 'regex', 'pattern'], at);
  });

  const proxies = config.server?.trustedProxies;
  if (Array.isArray(proxies)) {
    proxies.forEach((cidr, i) => {
      if (typeof cidr === 'string' && !validCidr(cidr)) at(['server', 'trustedProxies', i], `invalid address or CIDR "${cidr}"`);
    });
  }

  const admin = config.admin;
  if (isObject(admin) && admin.enabled !== false) {
    const host = typeof admin.host === 'string' ? admin.host : '127.0.0.1';
    const tokens = Array.isArray(admin.tokens) ? admin.tokens : [];
    if (!isLoopback(host) && admin.token === undefined && tokens.length === 0) {
      at(['admin', 'token'], `is required when the admin API listens on a non-loopback address ("${host}")`);
    }
    checkAdminTokens(admin.token, tokens, at);
    const listen = config.listen;
    if (isObject(listen) && admin.port === listen.port && admin.port !== 0 && sameAddress(host, String(listen.host))) {
      at(['admin', 'port'], `must differ from listen.port (${listen.port}): the admin API never shares the proxy listener`);
    }
  }
}

/**
 * Each admin token's name and value must be unique, `admin.token` (named `admin`) included: a name is the actor the
 * audit log records, and one value with two roles would be ambiguous. A duplicate value is reported without it.
 */
function checkAdminTokens(token: unknown, tokens: readonly unknown[], at: (path: (string | number)[], message: string) => void): void {
  const names = new Map<string, string>();
  const values = new Map<string, string>();
  if (typeof token === 'string') {
    names.set('admin', 'admin.token');
    values.set(token, 'admin.token');
  }
  tokens.forEach((t, i) => {
    if (!isObject(t)) return;
    if (typeof t.name === 'string') {
      const prev = names.get(t.name);
      if (prev !== undefined) at(['admin', 'tokens', i, 'name'], `duplicate token name "${t.name}" (also ${prev}${prev === 'admin.token' ? ', whose name is "admin"' : ''})`);
      else names.set(t.name, `admin.tokens[${i}]`);
    }
    if (typeof t.token === 'string') {
      const prev = values.get(t.token);
      if (prev !== undefined) at(['admin', 'tokens', i, 'token'], `the same token as ${prev}: each token must be different`);
      else values.set(t.token, `admin.tokens[${i}]`);
    }
  });
}

/** The member of a union of objects tagged by a `type` literal that a value's `type` names, if any. */
function taggedMember(schema: TSchema, value: unknown): TSchema | undefined {
  if (!isObject(value) || typeof value.type !== 'string') return undefined;
  const members = (schema as { anyOf?: TSchema[] }).anyOf ?? [];
  return members.find((m) => (m as { properties?: { type?: { const?: unknown } } }).properties?.type?.const === value.type);
}

/** Applies a schema's defaults to each value of a record in place (TypeBox does not descend into records). */
function defaultRecord(record: unknown, schema: TSchema): void {
  if (!isObject(record)) return;
  for (const [k, v] of Object.entries(record)) if (isObject(v)) record[k] = Value.Default(schema, v);
}

/** Writes the converted form of each `${env:…}` value where the schema wants a number or boolean. */
function convertEnvValues(candidate: Record<string, unknown>, paths: readonly (readonly (string | number)[])[]): void {
  const converted = Value.Convert(ConfigSchema, structuredClone(candidate));
  for (const path of paths) {
    let from: unknown = converted;
    let to: unknown = candidate;
    for (const seg of path.slice(0, -1)) {
      from = (from as Record<string | number, unknown> | undefined)?.[seg];
      to = (to as Record<string | number, unknown> | undefined)?.[seg];
    }
    const last = path.at(-1);
    if (last === undefined || !isObject(from) || !isObject(to) && !Array.isArray(to)) continue;
    (to as Record<string | number, unknown>)[last] = (from as Record<string | number, unknown>)[last];
  }
}

function checkRegex(source: string, path: Segments, at: At): void {
  try {
    new RegExp(source);
  } catch (err) {
    at(path, `invalid regular expression "${source}": ${(err as Error).message.replace(/^Invalid regular expression: \/.*\/[a-z]*: /s, '')}`);
  }
}

/** Whether `value` is an IPv4/IPv6 address or a CIDR block with a prefix length that fits its family. */
export function validCidr(value: string): boolean {
  const [addr, bits, ...rest] = value.split('/');
  if (rest.length > 0 || addr === undefined) return false;
  const family = isIP(addr);
  if (family === 0) return false;
  if (bits === undefined) return true;
  return /^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128);
}

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

/** Whether a bind address only accepts connections from this machine (`localhost`, 127.0.0.0/8, `::1`). */
export function isLoopback(host: string): boolean {
  if (host.toLowerCase() === 'localhost') return true;
  const family = isIP(host);
  return family !== 0 && LOOPBACK.check(host, family === 4 ? 'ipv4' : 'ipv6');
}

function sameAddress(a: string, b: string): boolean {
  const any = (h: string) => h === '0.0.0.0' || h === '::' || h === '';
  return a === b || any(a) || any(b);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** What node:dns's Resolver#setServers accepts: an IP, `ip:port`, or `[ipv6]:port`. */
function validResolver(v: string): boolean {
  if (isIP(v) !== 0) return true;
  const m = /^\[([^\]]+)\]:(\d{1,5})$/.exec(v) ?? /^([^:]+):(\d{1,5})$/.exec(v);
  return m !== null && isIP(m[1]!) !== 0 && Number(m[2]) <= 65535;
}
