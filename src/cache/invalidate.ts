import type { RequestContext } from '../core/context.ts';
import type { Reply } from '../core/reply.ts';
import type { ResponseTap } from '../core/tap.ts';
import type { CachePolicy } from './policy.ts';
import { invalidatedUrls } from './invalidation.ts';
import { rawPairs, recordFromPairs } from './fill.ts';
import { cacheStats } from './stats.ts';

/**
 * Watches the answer to an unsafe request (POST, PUT, DELETE, PATCH…) on a cached route: a 2xx or 3xx invalidates
 * the stored responses of the target path and of same-host Location / Content-Location (RFC 9111 §4.4), every
 * query and host variant of them (a broader sweep than the RFC's exact URI: it costs only future misses).
 */
export class CacheInvalidation implements ResponseTap {
  readonly policy: CachePolicy;
  readonly ctx: RequestContext;

  constructor(policy: CachePolicy, ctx: RequestContext) {
    this.policy = policy;
    this.ctx = ctx;
  }

  headers(status: number, rawHeaders: readonly Buffer[]): Reply | undefined {
    const ctx = this.ctx;
    const host = ctx.req.headers.host ?? ctx.host;
    const urls = invalidatedUrls(ctx.method, status, host, ctx.query === '' ? ctx.path : `${ctx.path}?${ctx.query}`, recordFromPairs(rawPairs(rawHeaders)));
    for (const url of urls) {
      const q = url.indexOf('?');
      void this.policy.storage.purge({ path: q === -1 ? url : url.slice(0, q) }).catch(() => {});
    }
    if (urls.length > 0) cacheStats.count(this.policy.route, 'invalidated');
    return undefined;
  }

  data(): void {}
  end(): void {}
  aborted(): void {}
  failed(): Reply | undefined {
    return undefined;
  }
}
