/** Response headers as the cache keeps them: lower-case names, repeated fields as arrays. */
export type StoredHeaders = Record<string, string | string[]>;

/**
 * One stored response: everything needed to serve it again and to judge its freshness (RFC 9111 §4.2.3 needs the
 * times the request was sent and the response received). Immutable once stored; a 304 revalidation stores a new one.
 */
export interface CachedResponse {
  status: number;
  /** Without hop-by-hop fields, Content-Length and the surrogate-key headers. */
  headers: StoredHeaders;
  /** ms since epoch: when the request that fetched it was sent, and when its response headers arrived. */
  requestTime: number;
  responseTime: number;
  body: Buffer;
  /** Surrogate keys (Surrogate-Key / Cache-Tag) for purging. */
  tags: readonly string[];
  /** May be served to requests that carry credentials (RFC 9111 §3.5: public, s-maxage or must-revalidate). */
  authShared: boolean;
  /** ms since epoch after which the store may drop it: freshness plus the stale windows. */
  keepUntil: number;
}

/** What a lookup finds under a primary key: a response, or the Vary header names its variants are keyed by. */
export type Stored = { kind: 'response'; entry: CachedResponse } | { kind: 'vary'; names: readonly string[]; keepUntil: number };

interface EntryMeta {
  s: number;
  h: StoredHeaders;
  q: number;
  r: number;
  t: readonly string[];
  a: boolean;
  k: number;
}

/** The metadata of an entry as JSON (the body travels apart, as raw bytes). */
export function encodeMeta(e: CachedResponse): string {
  const m: EntryMeta = { s: e.status, h: e.headers, q: e.requestTime, r: e.responseTime, t: e.tags, a: e.authShared, k: e.keepUntil };
  return JSON.stringify(m);
}

export function decodeEntry(meta: string, body: Buffer): CachedResponse {
  const m = JSON.parse(meta) as EntryMeta;
  return { status: m.s, headers: m.h, requestTime: m.q, responseTime: m.r, body, tags: m.t, authShared: m.a, keepUntil: m.k };
}

/** Bytes an entry costs in memory, roughly: body, header text and a fixed overhead for the objects. */
export function entrySize(key: string, e: CachedResponse): number {
  let n = 200 + key.length * 2 + e.body.length;
  for (const [k, v] of Object.entries(e.headers)) n += k.length + (typeof v === 'string' ? v.length : v.reduce((a, x) => a + x.length, 0)) + 16;
  for (const t of e.tags) n += t.length + 16;
  return n;
}
