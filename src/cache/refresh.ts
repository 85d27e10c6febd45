import type { RequestContext } from '../core/context.ts';
import type { CachedResponse, StoredHeaders } from './entry.ts';
import type { CachePolicy } from './policy.ts';
import { headersAfter304, validatorsFor } from './conditional.ts';
import { CLIENT_CONDITIONALS, recordPairs, storedHeaders } from './fill.ts';

/** Primary keys with a background refresh in flight: one per key, however many stale hits ask. */
const refreshing = new Set<string>();

/**
 * stale-while-revalidate (RFC 5861 §3): the stale response was served; fetch a new one in the background,
 * conditionally when the entry has validators, and store it (a 304 renews the stored one). Failures are dropped:
 * the stale entry stays until its window ends.
 */
export function refresh(policy: CachePolicy, ctx: RequestContext, primary: string, entry: CachedResponse): void {
  const backend = ctx.route?.backend;
  if (backend?.fetch === undefined || refreshing.has(primary)) return;
  refreshing.add(primary);
  for (const h of CLIENT_CONDITIONALS) ctx.requestHeaders.removeHeader(h);
  backend.fetch(ctx, validatorsFor(entry.headers)).then((r) => {
    const { headers, tags } = storedHeaders(recordPairs(r.headers), policy.tagHeaders);
    let next: CachedResponse | undefined;
    if (r.status === 304) {
      next = policy.entry(ctx, entry.status, headersAfter304(entry.headers, headers, { responseTime: r.responseTime, storeSetCookie: policy.storeSetCookie }) as StoredHeaders, entry.body, entry.tags, r.requestTime, r.responseTime);
    } else if (r.body.length <= policy.maxObjectSize) {
      const verdict = policy.decide(ctx, r.status, headers, tags, r.requestTime, r.responseTime, r.body.length, 'GET');
      if (verdict.store) next = { ...verdict.entry, body: r.body };
    }
    if (next === undefined) return;
    policy.count('refreshed');
    return policy.store(ctx, primary, next);
  }).catch(() => {}).finally(() => refreshing.delete(primary));
}
