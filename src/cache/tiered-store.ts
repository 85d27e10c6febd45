import type { MemoryCacheStore } from './memory-store.ts';
import type { RedisCacheStore } from './redis-store.ts';
import type { CachedResponse, Stored } from './entry.ts';
import type { CacheStore, PurgeSelector } from './store.ts';

/**
 * A small in-process LRU in front of Redis: hits on hot keys cost no round trip. Every purge of the shared Redis is
 * announced over pub/sub and each node's memory tier drops the same keys at once (stores.ts subscribes); a copy is
 * held at most `maxHold` (the memory store's cap), which bounds how long one can outlive a lost message.
 */
export class TieredCacheStore implements CacheStore {
  readonly kind = 'tiered' as const;
  readonly memory: MemoryCacheStore;
  readonly redis: RedisCacheStore;

  constructor(memory: MemoryCacheStore, redis: RedisCacheStore) {
    this.memory = memory;
    this.redis = redis;
  }

  get(key: string, now: number): Stored | undefined | Promise<Stored | undefined> {
    const near = this.memory.get(key, now);
    if (near !== undefined) return near;
    return this.redis.get(key).then((far) => {
      if (far !== undefined) this.memory.put(key, far, far.kind === 'response' ? far.entry.keepUntil : far.keepUntil);
      return far;
    });
  }

  async set(primary: string, key: string, entry: CachedResponse, vary: readonly string[]): Promise<void> {
    await this.memory.set(primary, key, entry, vary);
    await this.redis.set(primary, key, entry, vary);
  }

  async purge(selector: PurgeSelector): Promise<number> {
    this.memory.purgeNow(selector);
    return this.redis.purge(selector);
  }
}
