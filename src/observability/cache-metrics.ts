import { CACHE_METRICS, cacheStats } from '../cache/stats.ts';
import { cacheStoreStats } from '../cache/stores.ts';
import { registerCollector } from './metrics.ts';

/**
 * Response cache outcomes, counted by the cache itself (src/cache/stats.ts), and what its stores hold, read at
 * scrape time: no per-request cost here. Labels: route names from the config and a fixed list of outcomes.
 */
registerCollector(() => {
  const stores = cacheStoreStats();
  const bytes = [];
  const entries = [];
  for (const [tier, s] of [['memory', stores.memory], ['tier', stores.tier]] as const) {
    if (s === undefined) continue;
    bytes.push({ labels: { store: tier }, value: s.bytes });
    entries.push({ labels: { store: tier }, value: s.entries });
  }
  return [
    {
      name: CACHE_METRICS.requests,
      help: 'Requests on routes with the response cache, by route and outcome (hit, stale, miss, collapsed, revalidated, bypass), and stores (stored, not-stored, refreshed, invalidated).',
      type: 'counter',
      samples: cacheStats.snapshot().map(({ route, outcome, value }) => ({ labels: { route, outcome }, value })),
    },
    { name: CACHE_METRICS.bytes, help: 'Bytes held by the in-process cache stores (store: memory, or tier: the memory tier in front of Redis).', type: 'gauge', samples: bytes },
    { name: CACHE_METRICS.entries, help: 'Entries held by the in-process cache stores.', type: 'gauge', samples: entries },
  ];
});
