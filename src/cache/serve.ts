import type { RequestContext } from '../core/context.ts';
import { problem, type Reply } from '../core/reply.ts';
import type { CachedResponse } from './entry.ts';
import { clientConditional, NOT_MODIFIED_HEADERS } from './conditional.ts';
import { contentRange, rangeFor } from './range.ts';
import { ageHeader } from './freshness.ts';

/** Cache-Status of this cache appended to any the stored response carries from caches before it (RFC 9211 §2). */
export function withCacheStatus(stored: string | string[] | undefined, ours: string): string {
  if (stored === undefined) return ours;
  return `${Array.isArray(stored) ? stored.join(', ') : stored}, ${ours}`;
}

/**
 * The reply that serves a stored response to this request: 304 for a client's conditional request the entry
 * satisfies, 206 for a single byte range of a stored 200 (416 when unsatisfiable;
 * several ranges get the whole response), otherwise the stored response. `Age` is the entry's current age;
 * `cacheStatus` undefined leaves Cache-Status out.
 */
export function storedReply(ctx: RequestContext, entry: CachedResponse, ageMs: number, cacheStatus: string | undefined): Reply {
  const reqHeaders = ctx.req.headers;
  const headers: Record<string, string | readonly string[]> = { ...entry.headers, age: ageHeader(ageMs) };
  if (cacheStatus !== undefined) headers['cache-status'] = withCacheStatus(entry.headers['cache-status'], cacheStatus);
  else delete headers['cache-status'];
  const cond = clientConditional(ctx.method, reqHeaders, entry.headers);
  if (cond === 'not-modified') {
    const out: Record<string, string | readonly string[]> = { age: headers.age! };
    for (const name of NOT_MODIFIED_HEADERS) if (headers[name] !== undefined) out[name] = headers[name]!;
    if (headers['cache-status'] !== undefined) out['cache-status'] = headers['cache-status'];
    return { status: 304, headers: out };
  }
  if (entry.status === 200) {
    const range = rangeFor(ctx.method, reqHeaders, entry.headers, entry.body.length);
    if (range.kind === 'partial') {
      headers['content-range'] = contentRange(range.start, range.end, entry.body.length);
      return { status: 206, headers, body: entry.body.subarray(range.start, range.end + 1) };
    }
    if (range.kind === 'unsatisfiable') {
      return problem('range_not_satisfiable', undefined, { ...cacheStatusOnly(headers), 'content-range': `bytes */${entry.body.length}` });
    }
  }
  return { status: entry.status, headers, body: entry.body };
}

function cacheStatusOnly(headers: Record<string, string | readonly string[]>): Record<string, string | readonly string[]> {
  return headers['cache-status'] === undefined ? {} : { 'cache-status': headers['cache-status'] };
}
