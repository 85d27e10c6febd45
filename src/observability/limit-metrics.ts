import { LIMIT_METRIC, limitStats } from '../limits/stats.ts';
import { registerCollector } from './metrics.ts';

/**
 * Rate-limit, quota and usage-plan decisions, counted by the policies themselves (src/limits/stats.ts) and read at
 * scrape time: no per-request cost here. Labels are bounded by the config (policy ids, key classes, outcomes).
 */
registerCollector(() => [{
  name: LIMIT_METRIC,
  help: 'Rate-limit, quota and usage-plan decisions, by policy, source (rate-limit|quota|usage-plan), key class and outcome.',
  type: 'counter',
  samples: limitStats.snapshot().map(({ labels, value }) => ({
    labels: { policy: labels.policy, source: labels.source, key: labels.key, outcome: labels.outcome },
    value,
  })),
}]);
