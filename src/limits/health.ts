import type { Config } from '../config/schema/index.ts';
import type { Logger } from '../core/logger.ts';
import { redisStore } from './stores.ts';

const LIMIT_PLUGINS = ['rate-limit', 'quota'] as const;

interface StorageUse {
  storage?: string;
  onStoreFailure?: string;
}

/** Every rate-limit, quota and usage-plan config in a config: global, route, route+consumer and consumer scopes. */
function* storageUses(config: Config): Generator<StorageUse> {
  const scopes: Array<Record<string, unknown> | undefined> = [config.plugins as Record<string, unknown> | undefined];
  for (const r of config.routes) {
    scopes.push(r.plugins as Record<string, unknown> | undefined);
    for (const p of Object.values(r.consumerPlugins ?? {})) scopes.push(p as Record<string, unknown>);
  }
  for (const c of Object.values(config.consumers ?? {})) scopes.push(c.plugins as Record<string, unknown> | undefined);
  for (const scope of scopes) for (const name of LIMIT_PLUGINS) if (scope?.[name] !== undefined) yield scope[name] as StorageUse;
  for (const plan of Object.values((config as { plans?: Record<string, StorageUse> }).plans ?? {})) yield plan;
}

export interface StoreHealth {
  /** `up` or `down`; absent when no policy uses Redis. */
  readonly redis?: 'up' | 'down';
  /** Whether the gateway can't serve its limited routes without Redis: some policy fails closed. */
  readonly required: boolean;
}

/**
 * The rate-limit stores' health for readiness. Redis is *required* only when a policy that uses it fails closed:
 * with fail-open or fallback-local the gateway keeps serving without it, and taking every node out of its load
 * balancer because Redis is down would turn a degraded service into an outage.
 */
export function storeHealth(config: Config, logger: Logger): StoreHealth {
  if (config.redis === undefined) return { required: false };
  let used = false;
  let required = false;
  for (const u of storageUses(config)) {
    if (u.storage !== 'redis') continue;
    used = true;
    if (u.onStoreFailure === 'fail-closed') required = true;
  }
  if (!used) return { required: false };
  const store = redisStore(config.redis, logger) as { connected?: boolean };
  return { redis: store.connected === true ? 'up' : 'down', required };
}
