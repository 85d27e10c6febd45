import { definePlugin, type PluginHandlers } from '../../core/plugin.ts';
import { Policy, groupHandler, pluginPolicyId, storeFor } from '../../limits/policy.ts';
import { compileRateLimits } from '../../limits/limits.ts';
import { compileKey, keyValue } from '../../limits/keys.ts';
import { RateLimitConfig } from './schema.ts';

export const rateLimit = definePlugin({
  name: 'rate-limit',
  description: 'Limits request rates (token bucket or sliding window) per consumer, group, API key, client address or header; answers 429 `rate_limited` with Retry-After.',
  // The first throttle-phase policy: a request it refuses never counts against a usage plan or a quota.
  priority: 900,
  schema: RateLimitConfig,
  create(config, scope): PluginHandlers {
    const id = pluginPolicyId('rate-limit', scope);
    const store = storeFor(config, scope, id);
    const groupNames = Object.keys(config.groups);
    const key = compileKey(config.by, config.whenMissing, groupNames);
    const policy = (policyId: string, limits: typeof config.limits, path: string) => new Policy({
      id: policyId, source: 'rate-limit', limits: compileRateLimits(limits, path), key, store,
      onStoreFailure: config.onStoreFailure, headers: config.headers,
    });
    const base = policy(id, config.limits, 'limits');
    const groups = groupNames.map((g) => [g, policy(`${id}.group.${keyValue(g)}`, config.groups[g]!.limits, `groups.${g}.limits`)] as const);
    return { throttle: groupHandler(base, groups) };
  },
});
