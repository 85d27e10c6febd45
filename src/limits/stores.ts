import type { Logger } from '../core/logger.ts';
import type { RedisConfigT } from '../config/schema/redis.ts';
import { MemoryStore } from './memory-store.ts';
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
