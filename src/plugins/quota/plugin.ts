import { definePlugin, PluginConfigError, type PluginHandlers } from '../../core/plugin.ts';
import { Policy, groupHandler, pluginPolicyId, storeFor } from '../../limits/policy.ts';
import { PERIOD_IDS, calendarQuota, checkTimeZone } from '../../limits/limits.ts';
import { compileKey, keyValue } from '../../limits/keys.ts';
import { VOLATILE_QUOTA } from '../../limits/schema.ts';
import { QuotaConfig } from './schema.ts';

export const quota = definePlugin({
  name: 'quota',
  description: 'A quota of requests per day, week or month (calendar periods in a time zone) per consumer, API key or other key; answers 429 `quota_exceeded`.',
  // After rate-limit and usage plans: a request they refuse never uses up quota.
  priority: 800,
  schema: QuotaConfig,
  create(config, scope): PluginHandlers {
    if (config.storage === 'local' && !config.allowVolatile) throw new PluginConfigError('storage', `is "local", which ${VOLATILE_QUOTA}`);
    checkTimeZone(config.timeZone, 'timeZone');
    const id = pluginPolicyId('quota', scope);
    const store = storeFor(config, scope, id);
    const groupNames = Object.keys(config.groups);
    const key = compileKey(config.by, config.whenMissing, groupNames);
    const policy = (policyId: string, limit: number, period: typeof config.period) => new Policy({
      id: policyId, source: 'quota', limits: [calendarQuota(config.id ?? PERIOD_IDS[period], limit, period, config.timeZone)], key, store,
      onStoreFailure: config.onStoreFailure, headers: config.headers,
    });
    const base = policy(id, config.limit, config.period);
    const groups = groupNames.map((g) => {
      const o = config.groups[g]!;
      return [g, policy(`${id}.group.${keyValue(g)}`, o.limit, o.period ?? config.period)] as const;
    });
    return { throttle: groupHandler(base, groups) };
  },
});
