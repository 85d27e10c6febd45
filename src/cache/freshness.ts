import {
  DELTA_SECONDS_MAX, deltaSeconds, has, parseDeltaSeconds, requestCacheControl, responseCacheControl, type CacheControl,
} from './directives.ts';
import { dateHeader, firstValue, hasHeader, type Headers } from './header-fields.ts';

/**
 * Freshness and age (RFC 9111 §4.2) for a SHARED cache, and the decision whether a stored response can answer a
 * request (§4, §4.2.4, RFC 5861). Times are ms since the epoch, passed in: nothing here reads a clock.
 */

/** Statuses a cache may give heuristic freshness (RFC 9110 §15.1). */
export const HEURISTICALLY_CACHEABLE: ReadonlySet<number> = new Set([200, 203, 204, 206, 300, 301, 308, 404, 405, 410, 414, 501]);
/** Heuristic freshness is this fraction of the time since Last-Modified (the RFC 9111 §4.2.2 "typical" 10%)... */
export const HEURISTIC_FRACTION = 0.1;
/** ...and never more than a day (the §5.5 Warning 113 threshold of RFC 7234). */
export const HEURISTIC_CAP_MS = 24 * 3600_000;

export interface StoredTiming {
  /** When the request that produced the stored response was sent (ms since epoch). */
  requestTime: number;
  /** When its response headers were received (ms since epoch). */
  responseTime: number;
}

/**
 * The freshness lifetime (§4.2.1), most specific first: s-maxage, max-age, Expires − Date, heuristic (§4.2.2), the
 * configured default, 0. A present but invalid s-maxage / max-age / Expires (`Expires: 0`) means already stale
 * (§4.2.1, §5.3), not "try the next rule". Heuristics apply only without explicit expiry, for heuristically
 * cacheable statuses or `public` responses, and need Last-Modified; a heuristic of 0 (Last-Modified = Date, typical
 * of generated content) counts as none, so `defaultTtlMs` applies. `responseTime` stands in for a missing Date.
 */
export function freshnessLifetimeMs(status: number, resHeaders: Headers, defaultTtlMs: number, responseTime?: number): number {
  return lifetimeMs(status, responseCacheControl(resHeaders), resHeaders, defaultTtlMs, responseTime);
}

/** The explicit lifetime (s-maxage, max-age, Expires), or undefined when the response has none. */
export function explicitLifetimeMs(cc: CacheControl, resHeaders: Headers, responseTime?: number): number | undefined {
  if (has(cc, 's-maxage')) return (deltaSeconds(cc, 's-maxage') ?? 0) * 1000;
  if (has(cc, 'max-age')) return (deltaSeconds(cc, 'max-age') ?? 0) * 1000;
  if (!hasHeader(resHeaders, 'expires')) return undefined;
  const expires = dateHeader(resHeaders, 'expires');
  const date = dateHeader(resHeaders, 'date') ?? responseTime;
  if (expires === undefined || date === undefined) return 0;
  return Math.max(0, expires - date);
}

function lifetimeMs(status: number, cc: CacheControl, resHeaders: Headers, defaultTtlMs: number, responseTime?: number): number {
  const explicit = explicitLifetimeMs(cc, resHeaders, responseTime);
  if (explicit !== undefined) return explicit;
  if (HEURISTICALLY_CACHEABLE.has(status) || has(cc, 'public')) {
    const lastModified = dateHeader(resHeaders, 'last-modified');
    const date = dateHeader(resHeaders, 'date') ?? responseTime;
    if (lastModified !== undefined && date !== undefined && date > lastModified) {
      return Math.min(HEURISTIC_CAP_MS, Math.floor((date - lastModified) * HEURISTIC_FRACTION));
    }
  }
  return Math.max(0, defaultTtlMs);
}

/**
 * The current age (§4.2.3), exactly:
 *   apparent_age = max(0, response_time − date_value)
 *   corrected_age_value = age_value + (response_time − request_time)
 *   current_age = max(apparent_age, corrected_age_value) + (now − response_time)
 * A missing Date counts as response_time; a missing or invalid Age as 0. Never negative.
 */
export function currentAgeMs(resHeaders: Headers, timing: StoredTiming, now: number): number {
  const date = dateHeader(resHeaders, 'date') ?? timing.responseTime;
  const apparentAge = Math.max(0, timing.responseTime - date);
  const ageValue = ageSeconds(resHeaders) * 1000;
  const correctedAgeValue = ageValue + (timing.responseTime - timing.requestTime);
  const correctedInitialAge = Math.max(apparentAge, correctedAgeValue);
  return Math.max(0, correctedInitialAge + (now - timing.responseTime));
}

function ageSeconds(resHeaders: Headers): number {
  // Age is one delta-seconds; from a (wrongly) repeated field, the first value.
  return parseDeltaSeconds(firstValue(resHeaders, 'age')?.split(',')[0]?.trim()) ?? 0;
}

/** The Age header value for an age: whole seconds, rounded down (§5.1), clamped to 2^31. */
export function ageHeader(ageMs: number): string {
  return String(Math.min(DELTA_SECONDS_MAX, Math.max(0, Math.floor(ageMs / 1000))));
}

/**
 * What a stored response can do for a request:
 * - `fresh`: serve it (a hit).
 * - `stale`: serve it although stale; for `stale-while-revalidate` the caller also refreshes it in the background.
 * - `revalidate`: validate with the origin before use; if the origin fails, the stored response must NOT be served.
 * - `stale-if-error`: validate with the origin before use; if the origin fails (no answer, or 500/502/503/504 —
 *   RFC 5861 §4), serve the stored response instead. Returned when the response is fresh but the request forced
 *   revalidation (RFC 9111 §4.3.3 lets a cache reuse it when the origin does not answer) or when it is stale within
 *   the stale-if-error window.
 */
export type Usability =
  | { use: 'fresh' }
  | { use: 'stale'; why: 'max-stale' | 'stale-while-revalidate' }
  | { use: 'revalidate' }
  | { use: 'stale-if-error' };

export interface UsabilityInput {
  status: number;
  resHeaders: Headers;
  timing: StoredTiming;
  reqHeaders: Headers;
  now: number;
  defaultTtlMs: number;
  /**
   * Let the client force revalidation: request no-cache, Pragma: no-cache, max-age and min-fresh. When false, a
   * client (a browser reload, a bot) cannot make the gateway go to the origin for a fresh entry; max-stale (which
   * only relaxes) is still honoured.
   */
  honourRequestNoCache: boolean;
}

export interface UsabilityResult {
  usability: Usability;
  ageMs: number;
  freshnessMs: number;
  /**
   * How long past expiry the response may be served when the origin fails: the request's stale-if-error if it has
   * one (its scope is that request), else the response's. 0 when none, and 0 when the response forbids serving
   * stale (no-cache, must-revalidate, proxy-revalidate, s-maxage — RFC 9111 §4.2.4 and §5.2.2.2 outrank RFC 5861).
   */
  staleIfErrorMs: number;
}

/**
 * True when the response may never be served stale (RFC 9111 §4.2.4): no-cache, must-revalidate, and for a shared
 * cache proxy-revalidate and s-maxage (§5.2.2.10 implies proxy-revalidate).
 */
export function staleForbidden(res: CacheControl): boolean {
  return has(res, 'no-cache') || has(res, 'must-revalidate') || has(res, 'proxy-revalidate') || has(res, 's-maxage');
}

/** Decides how a stored response may answer a request (rules in order; see the Usability doc). */
export function usability(input: UsabilityInput): UsabilityResult {
  const { resHeaders, reqHeaders, timing } = input;
  const res = responseCacheControl(resHeaders);
  const req = requestCacheControl(reqHeaders);
  const freshnessMs = lifetimeMs(input.status, res, resHeaders, input.defaultTtlMs, timing.responseTime);
  const ageMs = currentAgeMs(resHeaders, timing, input.now);
  const fresh = freshnessMs > ageMs;
  const forbidsStale = staleForbidden(res);
  const sieSeconds = deltaSeconds(req, 'stale-if-error') ?? deltaSeconds(res, 'stale-if-error') ?? 0;
  const staleIfErrorMs = forbidsStale ? 0 : sieSeconds * 1000;
  const result = (usability: Usability): UsabilityResult => ({ usability, ageMs, freshnessMs, staleIfErrorMs });
  const staleMs = ageMs - freshnessMs;
  // No-cache (qualified or not) means validate before every use, and never serve it unvalidated.
  if (has(res, 'no-cache')) return result({ use: 'revalidate' });
  const mustValidate = (): UsabilityResult =>
    result(fresh || (staleIfErrorMs > 0 && staleMs <= staleIfErrorMs) ? { use: 'stale-if-error' } : { use: 'revalidate' });
  if (input.honourRequestNoCache && clientForcesValidation(req, res, fresh, ageMs, freshnessMs)) return mustValidate();
  if (fresh) return result({ use: 'fresh' });
  if (forbidsStale) return result({ use: 'revalidate' });
  if (has(req, 'max-stale')) {
    const maxStale = deltaSeconds(req, 'max-stale');
    if (maxStale === undefined || staleMs <= maxStale * 1000) return result({ use: 'stale', why: 'max-stale' });
  }
  const swr = deltaSeconds(res, 'stale-while-revalidate');
  if (swr !== undefined && staleMs <= swr * 1000) return result({ use: 'stale', why: 'stale-while-revalidate' });
  return mustValidate();
}

/**
 * Request directives that ask for a newer response than the cache would otherwise serve (§5.2.1). A fresh
 * `immutable` response (RFC 8246) ignores no-cache and max-age: it will not change while fresh, so a reload
 * revalidating it would only load the origin.
 */
function clientForcesValidation(req: CacheControl, res: CacheControl, fresh: boolean, ageMs: number, freshnessMs: number): boolean {
  const immutable = fresh && has(res, 'immutable');
  if (!immutable && has(req, 'no-cache')) return true;
  const maxAge = deltaSeconds(req, 'max-age');
  if (!immutable && maxAge !== undefined && ageMs > maxAge * 1000) return true;
  const minFresh = deltaSeconds(req, 'min-fresh');
  return minFresh !== undefined && freshnessMs - ageMs < minFresh * 1000;
}

/** The longer of the response's stale-while-revalidate and stale-if-error windows (RFC 5861), in ms. */
export function staleWindowMs(res: CacheControl): number {
  return Math.max(deltaSeconds(res, 'stale-while-revalidate') ?? 0, deltaSeconds(res, 'stale-if-error') ?? 0) * 1000;
}

/** Entries with a validator stay past their usable life this long, so a later request can revalidate (304) them. */
export function revalidationGraceMs(freshnessMs: number): number {
  return Math.min(HEURISTIC_CAP_MS, Math.max(60_000, freshnessMs));
}

/**
 * How long to keep a response in the store from now: until its age passes the freshness lifetime plus the
 * longest of the stale-while-revalidate window, the stale-if-error window and — when it has a validator (ETag,
 * Last-Modified) — the revalidation grace (its freshness lifetime, at least a minute, at most a day). Stale windows
 * do not count when the response forbids serving stale. 0 means do not store.
 */
export function storeTtlMs(freshnessMs: number, resHeaders: Headers, ageMs: number): number {
  const cc = responseCacheControl(resHeaders);
  let pastExpiry = staleForbidden(cc) ? 0 : staleWindowMs(cc);
  if (hasHeader(resHeaders, 'etag') || hasHeader(resHeaders, 'last-modified')) {
    pastExpiry = Math.max(pastExpiry, revalidationGraceMs(freshnessMs));
  }
  return Math.max(0, freshnessMs + pastExpiry - ageMs);
}
