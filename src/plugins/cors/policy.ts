import { PluginConfigError } from '../../core/plugin.ts';
import type { Reply } from '../../core/reply.ts';
import type { CorsConfig } from './schema.ts';

/**
 * The CORS protocol decisions of the Fetch standard (§3.2), as pure functions over a policy compiled once from config.
 * Nothing here enforces anything on the server: CORS tells the browser what a script may read; the browser blocks.
 */
export interface CorsPolicy {
  /** `origins: ["*"]`: every origin, answered with `Access-Control-Allow-Origin: *` and no `Vary: Origin`. */
  readonly anyOrigin: boolean;
  readonly exactOrigins: ReadonlySet<string>;
  readonly originPatterns: readonly RegExp[];
  readonly methods: ReadonlySet<string>;
  readonly allowMethods: string;
  /** undefined: reflect the preflight's Access-Control-Request-Headers. */
  readonly allowHeaders: string | undefined;
  readonly exposeHeaders: string | undefined;
  readonly credentials: boolean;
  readonly maxAge: string;
  readonly preflightContinue: boolean;
}

export const PREFLIGHT_VARY = 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers';

/** A comma-separated list of header names, as browsers send in Access-Control-Request-Headers. */
const HEADER_LIST = /^[ \t]*[!#$%&'*+.^_`|~0-9A-Za-z-]+(?:[ \t]*,[ \t]*[!#$%&'*+.^_`|~0-9A-Za-z-]+)*[ \t]*$/;
const SCHEME_HOST = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]+$/;

export function compileCorsPolicy(config: CorsConfig): CorsPolicy {
  let anyOrigin = false;
  const exactOrigins = new Set<string>();
  const originPatterns: RegExp[] = [];
  config.origins.forEach((o, i) => {
    if (typeof o !== 'string') {
      originPatterns.push(compileOriginRegex(`origins[${i}].regex`, o.regex));
    } else if (o === '*') {
      anyOrigin = true;
    } else {
      exactOrigins.add(checkOrigin(`origins[${i}]`, o));
    }
  });
  if (anyOrigin && config.origins.length > 1) {
    throw new PluginConfigError('origins', '"*" already allows every origin: list it alone');
  }
  if (anyOrigin && config.credentials) {
    throw new PluginConfigError('credentials', 'credentials cannot be allowed for every origin ("*"): browsers refuse it; list the origins');
  }
  if (config.credentials) {
    config.allowHeaders?.forEach((h, i) => refuseWildcard(`allowHeaders[${i}]`, h));
    config.exposeHeaders.forEach((h, i) => refuseWildcard(`exposeHeaders[${i}]`, h));
  }
  return {
    anyOrigin,
    exactOrigins,
    originPatterns,
    methods: new Set(config.methods),
    allowMethods: [...new Set(config.methods)].join(', '),
    allowHeaders: config.allowHeaders === undefined ? undefined : dedupe(config.allowHeaders).join(', '),
    exposeHeaders: config.exposeHeaders.length === 0 ? undefined : dedupe(config.exposeHeaders).join(', '),
    credentials: config.credentials,
    maxAge: String(config.maxAge),
    preflightContinue: config.preflightContinue,
  };
}

function checkOrigin(path: string, origin: string): string {
  if (origin === 'null') {
    throw new PluginConfigError(path, 'the "null" origin is sent by sandboxed frames, file: pages and redirects: any site can produce it, so it cannot be allowed');
  }
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    throw new PluginConfigError(path, `"${origin}" is not an origin: expected scheme://host[:port], e.g. "https://app.example.com"`);
  }
  const canonical = `${url.protocol}//${url.host}`;
  if (url.host === '' || !SCHEME_HOST.test(canonical)) {
    throw new PluginConfigError(path, `"${origin}" is not an origin: expected scheme://host[:port], e.g. "https://app.example.com"`);
  }
  if (canonical !== origin) {
    // Browsers send the serialised origin; anything else (a path, upper case, a default port) would never match.
    throw new PluginConfigError(path, `"${origin}" is not an origin as browsers send it: did you mean "${canonical}"?`);
  }
  return origin;
}

function compileOriginRegex(path: string, source: string): RegExp {
  try {
    // Anchored: an unanchored `https://example\.com` would also allow https://example.com.evil.net.
    return new RegExp(`^(?:${source})$`);
  } catch (e) {
    throw new PluginConfigError(path, `invalid regular expression: ${(e as Error).message}`);
  }
}

function refuseWildcard(path: string, name: string): void {
  if (name === '*') throw new PluginConfigError(path, '"*" is only a wildcard without credentials; with credentials: true, list the header names');
}

function dedupe(names: readonly string[]): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const n of names) {
    const lower = n.toLowerCase();
    if (!seen.has(lower)) {
      seen.add(lower);
      out.push(n);
    }
  }
  return out;
}

/** Whether a request's Origin may read the response. */
export function isOriginAllowed(policy: CorsPolicy, origin: string): boolean {
  if (policy.anyOrigin || policy.exactOrigins.has(origin)) return true;
  for (const re of policy.originPatterns) if (re.test(origin)) return true;
  return false;
}

/**
 * The Access-Control-Allow-Origin value for a response to a request with this Origin (undefined when absent): `*`
 * for a policy that allows every origin (whether or not the request is cross-origin, so caches can share it), the
 * origin itself when allowed, otherwise undefined (no CORS headers at all).
 */
export function corsDecision(policy: CorsPolicy, origin: string | undefined): string | undefined {
  if (policy.anyOrigin) return '*';
  return origin !== undefined && isOriginAllowed(policy, origin) ? origin : undefined;
}

const REFUSED_HEADERS: Readonly<Record<string, string>> = Object.freeze({ vary: PREFLIGHT_VARY });

/**
 * Headers answering a preflight. Refused (origin or method not allowed, or unreadable request headers): only `Vary`,
 * with no Access-Control-Allow-* header, so the browser fails the preflight. The shared frozen object is returned
 * then; callers must not mutate the result.
 */
export function preflightHeaders(
  policy: CorsPolicy, origin: string, requestMethod: string, requestHeaders: string | undefined,
): Readonly<Record<string, string>> {
  const allowOrigin = corsDecision(policy, origin);
  if (allowOrigin === undefined || !policy.methods.has(requestMethod)) return REFUSED_HEADERS;
  const headers: Record<string, string> = {
    'access-control-allow-origin': allowOrigin,
    'access-control-allow-methods': policy.allowMethods,
    'access-control-max-age': policy.maxAge,
    vary: PREFLIGHT_VARY,
  };
  if (policy.allowHeaders !== undefined) {
    if (policy.allowHeaders !== '') headers['access-control-allow-headers'] = policy.allowHeaders;
  } else if (requestHeaders !== undefined && requestHeaders !== '') {
    // Reflect only a well-formed list: anything else would be an injection vector, and the browser never sends it.
    if (!HEADER_LIST.test(requestHeaders)) return REFUSED_HEADERS;
    headers['access-control-allow-headers'] = requestHeaders;
  }
  if (policy.credentials) headers['access-control-allow-credentials'] = 'true';
  return headers;
}

const REFUSED_PREFLIGHT: Reply = Object.freeze({ status: 204, headers: REFUSED_HEADERS });

/** The 204 reply to a preflight (see preflightHeaders for what a refusal looks like). */
export function preflightReply(policy: CorsPolicy, origin: string, requestMethod: string, requestHeaders: string | undefined): Reply {
  const headers = preflightHeaders(policy, origin, requestMethod, requestHeaders);
  return headers === REFUSED_HEADERS ? REFUSED_PREFLIGHT : { status: 204, headers };
}
