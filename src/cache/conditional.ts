import { HOP_BY_HOP } from '../upstream/headers.ts';
import { dateHeader, firstValue, formatHttpDate, hasHeader, headerValue, listMembers, parseHttpDate, type Headers } from './header-fields.ts';

/**
 * Conditional requests (RFC 9110 §13, RFC 9111 §4.3): answering a client's conditional request from a stored
 * response, revalidating a stored response with the origin, and merging the origin's 304 into it.
 */

export interface EntityTag {
  weak: boolean;
  /** The opaque tag with its quotes (`"abc"`), so weak and strong forms of one tag compare on this field. */
  opaque: string;
}

/** Parses one entity-tag (RFC 9110 §8.8.3); an unquoted value (a common server mistake) is taken whole. */
export function parseEntityTag(value: string): EntityTag {
  const v = value.trim();
  return v.startsWith('W/') ? { weak: true, opaque: v.slice(2) } : { weak: false, opaque: v };
}

/** Strong comparison (§8.8.3.2): neither is weak and the opaque tags are identical. */
export function strongMatch(a: EntityTag, b: EntityTag): boolean {
  return !a.weak && !b.weak && a.opaque === b.opaque;
}

/** Weak comparison (§8.8.3.2): the opaque tags are identical, weak or not. */
export function weakMatch(a: EntityTag, b: EntityTag): boolean {
  return a.opaque === b.opaque;
}

const GET_OR_HEAD = new Set(['GET', 'HEAD']);

/**
 * What the cache answers to the client's own conditional request, given the stored response it would serve
 * (fresh, or just revalidated). Evaluation order is RFC 9110 §13.2.2 as it applies to a cache (RFC 9111 §4.3.2):
 * - `forward`: the request has If-Match or If-Unmodified-Since. RFC 9111 §4.3.2 says these "are not applicable to
 *   a cache" — they guard the origin's current state, so only the origin can answer them.
 * - `not-modified`: If-None-Match matches the stored ETag by weak comparison (`*` matches any stored response),
 *   or, without If-None-Match, the stored response was not modified after If-Modified-Since (compared with its
 *   Last-Modified, else its Date — §4.3.2). Answer 304 with `notModifiedHeaders(stored)` (and Age).
 * - undefined: serve the stored response (Range then applies).
 * Only GET and HEAD are answered; other methods get undefined. An invalid If-Modified-Since is ignored.
 */
export function clientConditional(method: string, reqHeaders: Headers, stored: Headers): 'not-modified' | 'forward' | undefined {
  if (!GET_OR_HEAD.has(method)) return undefined;
  if (hasHeader(reqHeaders, 'if-match') || hasHeader(reqHeaders, 'if-unmodified-since')) return 'forward';
  const ifNoneMatch = headerValue(reqHeaders, 'if-none-match');
  if (ifNoneMatch !== undefined) {
    const members = listMembers(ifNoneMatch);
    if (members.includes('*')) return 'not-modified';
    const etag = firstValue(stored, 'etag');
    if (etag === undefined) return undefined;
    const tag = parseEntityTag(etag);
    return members.some((m) => weakMatch(parseEntityTag(m), tag)) ? 'not-modified' : undefined;
  }
  const since = parseHttpDate(headerValue(reqHeaders, 'if-modified-since'));
  if (since === undefined) return undefined;
  const modified = dateHeader(stored, 'last-modified') ?? dateHeader(stored, 'date');
  return modified !== undefined && modified <= since ? 'not-modified' : undefined;
}

/**
 * The headers that make a revalidation request conditional (RFC 9111 §4.3.1): If-None-Match with the stored ETag
 * and If-Modified-Since with its Last-Modified — both when both exist (an origin that ignores one still
 * honours the other). Empty when the response has no validator: the revalidation is then a plain GET.
 */
export function validatorsFor(stored: Headers): Record<string, string> {
  const out: Record<string, string> = {};
  const etag = firstValue(stored, 'etag');
  if (etag !== undefined) out['if-none-match'] = etag;
  const lastModified = firstValue(stored, 'last-modified');
  if (lastModified !== undefined) out['if-modified-since'] = lastModified;
  return out;
}

/**
 * Whether the origin's 304 is about this stored response (RFC 9111 §4.3.4): its ETag, if it has one, must match
 * the stored one (strongly when strong, weakly when weak); else its Last-Modified, if it has one, must equal the
 * stored one. A 304 with neither answers the conditional request built from this very entry, so it applies (the
 * RFC's stricter wording is for a cache choosing among several stored responses). When false, do not update:
 * fetch the resource again unconditionally.
 */
export function notModifiedApplies(stored: Headers, notModified: Headers): boolean {
  const newTag = firstValue(notModified, 'etag');
  if (newTag !== undefined) {
    const storedTag = firstValue(stored, 'etag');
    if (storedTag === undefined) return false;
    const [a, b] = [parseEntityTag(newTag), parseEntityTag(storedTag)];
    return a.weak ? weakMatch(a, b) : strongMatch(a, b);
  }
  if (hasHeader(notModified, 'last-modified')) {
    const lm = dateHeader(notModified, 'last-modified');
    return lm !== undefined && lm === dateHeader(stored, 'last-modified');
  }
  return true;
}

/**
 * Fields a 304 never changes in a stored response: Content-Length (RFC 9111 §3.2), and the fields describing the
 * stored bytes themselves, Content-Encoding and Content-Range (§3.2 lets a cache keep those for integrity: the
 * stored content is not re-encoded to match).
 */
const KEPT_FROM_STORED = new Set(['content-length', 'content-encoding', 'content-range']);

export interface UpdateOptions {
  /** When the 304 arrived: its Date when it has none (RFC 9110 §6.6.1), so the entry's age restarts from it. */
  responseTime?: number;
  /** Accept Set-Cookie from the 304 (as StoreOptions.storeSetCookie); default false. */
  storeSetCookie?: boolean;
}

/**
 * The stored response's headers freshened by a 304 (RFC 9111 §4.3.4, §3.2): every field of the 304 replaces the
 * stored one, except hop-by-hop fields (and those the 304's Connection names), the fields in KEPT_FROM_STORED and,
 * unless allowed, Set-Cookie. Age is the 304's or none (the entry's timing restarts with the revalidation, so the
 * old Age would count twice); without a Date in the 304, `responseTime` provides one. Returns a new object.
 */
export function headersAfter304(stored: Headers, notModified: Headers, opts: UpdateOptions = {}): Headers {
  const connectionNames = new Set(listMembers(headerValue(notModified, 'connection')).map((n) => n.toLowerCase()));
  const out: Headers = { ...stored };
  delete out['age'];
  for (const [name, value] of Object.entries(notModified)) {
    if (value === undefined || HOP_BY_HOP.has(name) || connectionNames.has(name) || KEPT_FROM_STORED.has(name)) continue;
    if (name === 'set-cookie' && opts.storeSetCookie !== true) continue;
    out[name] = Array.isArray(value) ? [...value] : value;
  }
  if (!hasHeader(notModified, 'date') && opts.responseTime !== undefined) out['date'] = formatHttpDate(opts.responseTime);
  return out;
}

/**
 * The stored fields a 304 to the client carries (RFC 9110 §15.4.5): those a 200 would have sent among
 * Cache-Control, Content-Location, Date, ETag, Expires and Vary, plus Last-Modified (useful to a client without
 * an ETag). The caller adds Age.
 */
export const NOT_MODIFIED_HEADERS: readonly string[] = ['cache-control', 'content-location', 'date', 'etag', 'expires', 'last-modified', 'vary'];

/** The headers of a 304 built from a stored response (see NOT_MODIFIED_HEADERS). */
export function notModifiedHeaders(stored: Headers): Headers {
  const out: Headers = {};
  for (const name of NOT_MODIFIED_HEADERS) if (stored[name] !== undefined) out[name] = stored[name];
  return out;
}
