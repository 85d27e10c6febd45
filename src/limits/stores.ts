import type { Logger } from '../core/logger.ts';
import type { RedisConfigT } from '../config/schema/redis.ts';
import { parseDuration } from '../config/units.ts';
import { MemoryStore } from './memory-store.ts';
import { RedisStore } from './redis-store.ts';
import type { LimitStore } from './types.ts';

/**
 * The stores policies share. Counters must outlive a config reload (a reload must not hand every client a fresh
 * budget), so stores are process-wide: one memory store, and one Redis store per distinct `redis` settings. Keys
 * carry the policy's identity (route, plugin, limit), so policies never collide.
 */
let local: MemoryStore | undefined;

export function localStore(): MemoryStore {
  return (local ??= new MemoryStore());
}

/** What to do when the shared store can't answer in time (see docs/rate-limiting.md). */
export type StoreFailurePolicy = 'fail-open' | 'fail-closed' | 'fallback-local';

export interface RedisStoreFactory {
  (settings: RedisConfigT, logger: Logger): LimitStore;
}

const redisStores = new Map<string, RedisStore>();

function redisIdentity(s: RedisConfigT): string {
  const ms = (d: string | number | undefined) => (d === undefined ? null : parseDuration(d));
  return JSON.stringify([s.url ?? null, s.cluster ?? null, s.keyPrefix ?? null, ms(s.timeout), ms(s.connectTimeout)]);
}

/**
 * The Redis store for these settings: one per distinct settings in the process, shared by every policy and kept
 * across config reloads (a reload that keeps `redis:` as it was keeps the connection). Policies must not close it;
 * closeSharedStores does. Key layout the policies must follow: see RedisStore (every key of one call carries the
 * client's hash tag: policies use `rl:{<policy-id>:<client-key>}:<limit-id>`).
 */
export const redisStore: RedisStoreFactory = (settings, logger) => {
  const id = redisIdentity(settings);
  let store = redisStores.get(id);
  if (store === undefined || store.closed) {
    store = new RedisStore(settings, logger);
    redisStores.set(id, store);
  }
  return store;
};

/**
 * Closes every shared store: quits the Redis connections and drops the local counters. For Gateway.stop; a later
 * localStore() or redisStore() starts afresh.
 */
export async function closeSharedStores(): Promise<void> {
  const stores = [...redisStores.values()];
  redisStores.clear();
  const memory = local;
  local = undefined;
  await Promise.allSettled([...stores.map((s) => s.close()), memory?.close()]);
}
