import type { Logger } from '../core/logger.ts';
import type { RedisConfigT } from '../config/schema/redis.ts';
import type { CacheSettingsT } from '../config/schema/cache.ts';
import type { Config } from '../config/schema/index.ts';
import { parseDuration, parseSize } from '../config/units.ts';
import { MemoryCacheStore } from './memory-store.ts';
import { RedisCacheStore } from './redis-store.ts';
import { TieredCacheStore } from './tiered-store.ts';
import type { CacheStore, PurgeSelector } from './store.ts';

/**
 * The stores every route's cache shares. Stored responses must outlive a config reload (a reload must not empty
 * the cache), so stores are process-wide: one memory store, one Redis store per distinct `redis` settings, one
 * memory tier in front of them. Keys carry what makes them distinct (path, host, the key's headers and consumer),
 * so routes serving the same URL share entries, as a CDN does.
 */
let memory: MemoryCacheStore | undefined;
let tier: MemoryCacheStore | undefined;
const redisStores = new Map<string, RedisCacheStore>();
const tiered = new Map<string, TieredCacheStore>();

export type StoreKind = 'memory' | 'redis' | 'tiered';

const settingsOf = (s: CacheSettingsT | undefined) => ({
  memorySize: parseSize(s?.memorySize ?? '128mb'),
  tierMemorySize: parseSize(s?.tierMemorySize ?? '32mb'),
  tierMemoryHold: parseDuration(s?.tierMemoryHold ?? '10s'),
  redisTimeout: parseDuration(s?.redisTimeout ?? '250ms'),
});

export function memoryCacheStore(settings: CacheSettingsT | undefined): MemoryCacheStore {
  const s = settingsOf(settings);
  if (memory === undefined) memory = new MemoryCacheStore(s.memorySize);
  else if (memory.maxBytes !== s.memorySize) memory.resize(s.memorySize);
  return memory;
}

function redisCacheStore(redis: RedisConfigT, settings: CacheSettingsT | undefined, logger: Logger): RedisCacheStore {
  const s = settingsOf(settings);
  const id = JSON.stringify([redis, s.redisTimeout]);
  let store = redisStores.get(id);
  if (store === undefined) redisStores.set(id, (store = new RedisCacheStore(redis, s.redisTimeout, logger)));
  return store;
}

/** The store of a kind; Redis kinds need the root `redis` settings (the caller checks they exist). */
export function cacheStore(kind: StoreKind, settings: CacheSettingsT | undefined, redis: RedisConfigT | undefined, logger: Logger): CacheStore {
  if (kind === 'memory') return memoryCacheStore(settings);
  const far = redisCacheStore(redis!, settings, logger);
  if (kind === 'redis') return far;
  const s = settingsOf(settings);
  if (tier === undefined) tier = new MemoryCacheStore(s.tierMemorySize, s.tierMemoryHold);
  else if (tier.maxBytes !== s.tierMemorySize) tier.resize(s.tierMemorySize);
  let t = tiered.get(JSON.stringify(redis));
  if (t === undefined) {
    tiered.set(JSON.stringify(redis), (t = new TieredCacheStore(tier, far)));
    // Another node's purge (or invalidation) of the shared Redis reaches this node's memory tier at once.
    const near = tier;
    far.listenForPurges((selector) => near.purgeNow(selector));
  }
  return t;
}

/** The store kinds a config's `cache` plugins use, wherever they are configured. */
function configuredKinds(config: Config): Set<StoreKind> {
  const kinds = new Set<StoreKind>();
  const look = (plugins: Record<string, unknown> | undefined) => {
    const c = plugins?.cache as { store?: StoreKind } | undefined;
    if (c !== undefined) kinds.add(c.store ?? 'memory');
  };
  look(config.plugins);
  for (const r of config.routes) {
    look(r.plugins);
    for (const p of Object.values(r.consumerPlugins ?? {})) look(p);
  }
  for (const c of Object.values(config.consumers ?? {})) look(c.plugins);
  return kinds;
}

/**
 * Opens the stores a config uses, so that a purge reaches Redis even on a node that has not served a cached request
 * yet (stores open on first use).
 */
export function openConfiguredStores(config: Config, logger: Logger): void {
  for (const kind of configuredKinds(config)) {
    if (kind === 'memory' || config.redis !== undefined) cacheStore(kind, config.cache, config.redis, logger);
  }
}

/** Purges every store this process has opened; resolves to the keys removed, by store kind. */
export async function purgeAll(selector: PurgeSelector): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  if (memory !== undefined) out.memory = memory.purgeNow(selector);
  if (tier !== undefined) out.tier = tier.purgeNow(selector);
  let n = 0;
  for (const r of redisStores.values()) n += await r.purge(selector);
  if (redisStores.size > 0) out.redis = n;
  return out;
}

/** What the stores hold, for the admin API and metrics. */
export function cacheStoreStats(): { memory?: { entries: number; bytes: number; maxBytes: number; evictions: number }; tier?: { entries: number; bytes: number; maxBytes: number }; redis: { stores: number; errors: number } } {
  const view = (m: MemoryCacheStore) => ({ entries: m.size, bytes: m.bytes, maxBytes: m.maxBytes, evictions: m.evictions });
  return {
    ...(memory !== undefined ? { memory: view(memory) } : {}),
    ...(tier !== undefined ? { tier: view(tier) } : {}),
    redis: { stores: redisStores.size, errors: [...redisStores.values()].reduce((a, r) => a + r.errors, 0) },
  };
}

/** Drops the memory stores and closes the Redis connections (the process stops, or a test ends). */
export async function closeCacheStores(): Promise<void> {
  memory?.clear();
  tier?.clear();
  memory = undefined;
  tier = undefined;
  const open = [...redisStores.values()];
  redisStores.clear();
  tiered.clear();
  await Promise.allSettled(open.map((r) => r.close()));
}
