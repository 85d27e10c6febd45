import { has, parseCacheControl, responseCacheControl } from './directives.ts';
import { explicitLifetimeMs, freshnessLifetimeMs, HEURISTICALLY_CACHEABLE, staleWindowMs } from './freshness.ts';
import { hasHeader, type Headers } from './header-fields.ts';
import { varyNames } from './vary.ts';

/**
 * Whether a SHARED cache may store a response (RFC 9111 §3, §3.5), plus the gateway's own limits (config).
 */
export interface StoreOptions {
  /**
   * Statuses this route allows storing at all. When given, only these are stored, and any of them may take
   * `defaultTtlMs`. When absent: a response with explicit freshness (Expires, max-age, s-maxage) or `public` is
   * storable with any understood status; one without needs a heuristically cacheable status (RFC 9110 §15.1), so
   * `defaultTtlMs` never makes a 500 or a 302 cacheable by itself.
   */
  statuses?: ReadonlySet<number>;
  /** ms; freshness for responses that have no explicit expiry and are not heuristically fresh; 0 = none (opt-in). */
  defaultTtlMs: number;
  /** Store responses carrying Set-Cookie (the cookie is then served to every client that gets the entry). */
  storeSetCookie: boolean;
  /** The cache key includes the consumer (so an authenticated response is not shared across consumers). */
  keyHasConsumer: boolean;
  /**
   * The gateway authenticated the request (a consumer was identified). Such a request counts as an
   * Authorization request (§3.5) even when its credential is not in an Authorization header. `keyHasConsumer`
   * lifts the §3.5 restriction only for authenticated requests: an Authorization header the gateway did not
   * check identifies nobody in the key.
   */
  authenticated?: boolean;
  /** When the response headers arrived (ms since epoch): stands in for a missing Date header. */
  responseTime?: number;
}

export type Storability = { store: true } | { store: false; reason: StoreRefusal };

/** Why a response was not stored (short kebab-case, for logs, metrics and the Cache-Status `detail`). */
export type StoreRefusal =
  | 'method'
  | 'status'
  | 'partial-content'
  | 'no-store'
  | 'private'
  | 'vary-star'
  | 'authorization'
  | 'set-cookie'
  | 'no-freshness';

/**
 * Final statuses whose semantics (RFC 9110 §15) this cache understands, for §3 ("the cache understands the
 * response status code") and must-understand (§5.2.2.3).
 */
export const UNDERSTOOD_STATUSES: ReadonlySet<number> = new Set([
  200, 201, 202, 203, 204, 205, 206, 300, 301, 302, 303, 304, 307, 308, 400, 401, 402, 403, 404, 405, 406, 407, 408,
  409, 410, 411, 412, 413, 414, 415, 416, 417, 421, 422, 426, 500, 501, 502, 503, 504, 505,
]);

/**
 * Checks, in order (the first failing one is the reason): method GET (HEAD responses have no content to store);
 * the status is understood, not 206 (partial content is not stored) and not 304; no `no-store` in the request or
 * the response (a response's `must-understand` overrides its `no-store` for an understood status, §5.2.2.3);
 * no `private` (qualified or not — a shared cache never stores it); no `Vary: *`; a request with Authorization or
 * an authenticated one only with `public`, `s-maxage` or `must-revalidate` (§3.5), or when the key holds the
 * consumer; no Set-Cookie unless allowed; the status allowed (see `StoreOptions.statuses`); and something to
 * reuse it by — freshness (explicit, heuristic or default), a validator, or a stale-while-revalidate /
 * stale-if-error window. A `no-cache` response is stored: it is revalidated before every use.
 */
export function storability(method: string, reqHeaders: Headers, status: number, resHeaders: Headers, opts: StoreOptions): Storability {
  const no = (reason: StoreRefusal): Storability => ({ store: false, reason });
  if (method !== 'GET') return no('method');
  if (!UNDERSTOOD_STATUSES.has(status) || status === 304) return no('status');
  if (status === 206) return no('partial-content');
  const cc = responseCacheControl(resHeaders);
  if (has(parseCacheControl(reqHeaders['cache-control']), 'no-store')) return no('no-store');
  if (has(cc, 'no-store') && !has(cc, 'must-understand')) return no('no-store');
  if (has(cc, 'private')) return no('private');
  if (varyNames(resHeaders) === '*') return no('vary-star');
  const authorized = hasHeader(reqHeaders, 'authorization') || opts.authenticated === true;
  if (authorized && !has(cc, 'public') && !has(cc, 's-maxage') && !has(cc, 'must-revalidate')) {
    if (!(opts.keyHasConsumer && opts.authenticated === true)) return no('authorization');
  }
  if (hasHeader(resHeaders, 'set-cookie') && !opts.storeSetCookie) return no('set-cookie');
  const explicit = explicitLifetimeMs(cc, resHeaders) !== undefined;
  if (opts.statuses !== undefined ? !opts.statuses.has(status) : !explicit && !has(cc, 'public') && !HEURISTICALLY_CACHEABLE.has(status)) {
    return no('status');
  }
  const freshness = freshnessLifetimeMs(status, resHeaders, opts.defaultTtlMs, opts.responseTime);
  const validator = hasHeader(resHeaders, 'etag') || hasHeader(resHeaders, 'last-modified');
  if (freshness === 0 && !validator && staleWindowMs(cc) === 0) return no('no-freshness');
  return { store: true };
}
