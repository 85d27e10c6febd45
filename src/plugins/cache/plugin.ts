import { definePlugin, type PluginHandlers } from '../../core/plugin.ts';
import { CachePolicy } from '../../cache/policy.ts';
import { cacheLookup } from '../../cache/lookup.ts';
import { CacheFill } from '../../cache/fill.ts';
import { CacheInvalidation } from '../../cache/invalidate.ts';
import { CacheConfig } from './schema.ts';

/** Methods whose responses never touch the cache (RFC 9110 §9.2.1 safe methods other than GET and HEAD). */
const SAFE_UNCACHED: ReadonlySet<string> = new Set(['OPTIONS', 'TRACE']);

export const cache = definePlugin({
  name: 'cache',
  description: 'A shared HTTP cache (RFC 9111, RFC 5861, RFC 9211 Cache-Status) in memory, in Redis, or both: stores GET responses, serves them while fresh, revalidates, coalesces concurrent misses, purges by key, prefix or surrogate key.',
  priority: 100,
  schema: CacheConfig,
  create(config, scope): PluginHandlers {
    const policy = new CachePolicy(config, scope);
    return {
      cacheLookup(ctx) {
        const m = ctx.method;
        if (m === 'GET' || m === 'HEAD') return cacheLookup(policy, ctx);
        if (!SAFE_UNCACHED.has(m) && ctx.responseTap === undefined) ctx.responseTap = new CacheInvalidation(policy, ctx);
        return undefined;
      },
      log(ctx) {
        const tap = ctx.responseTap;
        if (tap instanceof CacheFill) tap.close();
      },
    };
  },
});
