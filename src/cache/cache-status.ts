/**
 * The Cache-Status response header (RFC 9211): one list member per cache, its name then parameters as
 * Structured Fields (RFC 8941). Caches append their member after those already present (the last is the one
 * nearest the client), so the caller joins `existing, cacheStatus(...)` when the origin sent one.
 */

/** Why the request went forward (RFC 9211 §2.2). */
export type ForwardReason = 'uri-miss' | 'vary-miss' | 'miss' | 'request' | 'stale' | 'partial' | 'bypass' | 'method';

export interface CacheStatusEntry {
  /** Served from the cache without going to the origin (§2.1). Omit when `fwd` is set. */
  hit?: boolean;
  fwd?: ForwardReason;
  /** The status the origin answered the forwarded request with (§2.3), e.g. 304 after a revalidation. */
  fwdStatus?: number;
  /** The response was stored (§2.5). */
  stored?: boolean;
  /** Seconds of freshness left (§2.4); negative for a stale response served. Rounded toward zero. */
  ttlSeconds?: number;
  /** The request was collapsed into another's forward (§2.6). */
  collapsed?: boolean;
  /** The cache key (§2.7). */
  key?: string;
  /** Implementation-specific detail (§2.8), e.g. a storability refusal. */
  detail?: string;
}

const SF_TOKEN = /^[A-Za-z*][!#$%&'*+\-.^_`|~0-9A-Za-z:/]*$/;

/** An sf-string (RFC 8941 §3.3.3): quoted, `"` and `\` escaped; characters outside printable ASCII become `?`. */
function sfString(s: string): string {
  return `"${s.replace(/[^\x20-\x7e]/g, '?').replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/**
 * One Cache-Status member, parameters in the RFC's order: hit, fwd, fwd-status, ttl, stored, collapsed, key,
 * detail. Booleans appear bare when true and not at all when false; fwd is a token; key and detail are strings
 * (always quoted, so a detail reads the same whatever it contains). The name is a token when it can be one.
 *
 * @example cacheStatus({ hit: true, ttlSeconds: 37 })                              // 'Expeditor; hit; ttl=37'
 * @example cacheStatus({ fwd: 'uri-miss', fwdStatus: 200, stored: true })         // 'Expeditor; fwd=uri-miss; fwd-status=200; stored'
 * @example cacheStatus({ fwd: 'uri-miss', detail: 'no-store' })                   // 'Expeditor; fwd=uri-miss; detail="no-store"'
 */
export function cacheStatus(entry: CacheStatusEntry, cacheName = 'Expeditor'): string {
  const parts = [SF_TOKEN.test(cacheName) ? cacheName : sfString(cacheName)];
  if (entry.hit === true) parts.push('hit');
  if (entry.fwd !== undefined) parts.push(`fwd=${entry.fwd}`);
  if (entry.fwdStatus !== undefined) parts.push(`fwd-status=${Math.trunc(entry.fwdStatus)}`);
  if (entry.ttlSeconds !== undefined) parts.push(`ttl=${Math.trunc(entry.ttlSeconds) || 0}`);
  if (entry.stored === true) parts.push('stored');
  if (entry.collapsed === true) parts.push('collapsed');
  if (entry.key !== undefined) parts.push(`key=${sfString(entry.key)}`);
  if (entry.detail !== undefined) parts.push(`detail=${sfString(entry.detail)}`);
  return parts.join('; ');
}
