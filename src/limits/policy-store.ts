import type { Logger } from '../core/logger.ts';
import type { RedisConfigT } from '../config/schema/redis.ts';
import { localStore, redisStore } from './stores.ts';
import { resilientStore } from './resilient-store.ts';
import type { OnStoreFailureT, StorageT } from './schema.ts';
import type { LimitStore } from './types.ts';

/**
 * The store one policy uses: the process's local store, or the shared Redis store (one connection per distinct
 * `redis` settings) behind the policy's `onStoreFailure`, named after the policy so its outages are logged once.
 */
export function policyStore(
  settings: { storage: StorageT; onStoreFailure: OnStoreFailureT; fallbackShare: number },
  redis: RedisConfigT | undefined, logger: Logger, name: string,
): LimitStore {
  if (settings.storage === 'local') return localStore();
  if (redis === undefined) throw new Error(`policy ${name}: storage "redis" without a redis section`);
  return resilientStore(redisStore(redis, logger), { policy: settings.onStoreFailure, fallbackShare: settings.fallbackShare, logger, name });
}
