/** Metric names served by src/observability/cache-metrics.ts. */
export const CACHE_METRICS = {
  requests: 'expeditor_cache_requests_total',
  bytes: 'expeditor_cache_memory_bytes',
  entries: 'expeditor_cache_memory_entries',
} as const;

/** What happened to a request at the cache, for `expeditor_cache_requests_total`. */
export type CacheOutcome = 'hit' | 'stale' | 'miss' | 'revalidated' | 'bypass' | 'collapsed' | 'stored' | 'not-stored' | 'refreshed' | 'invalidated';

/**
 * Counts by route and outcome, read at scrape time (src/observability/cache-metrics.ts). Routes come from the
 * config and outcomes from a fixed list, so the series are bounded.
 */
class CacheStats {
  readonly #counts = new Map<string, Map<CacheOutcome, number>>();

  count(route: string, outcome: CacheOutcome): void {
    let m = this.#counts.get(route);
    if (m === undefined) this.#counts.set(route, (m = new Map()));
    m.set(outcome, (m.get(outcome) ?? 0) + 1);
  }

  snapshot(): Array<{ route: string; outcome: CacheOutcome; value: number }> {
    const out: Array<{ route: string; outcome: CacheOutcome; value: number }> = [];
    for (const [route, m] of this.#counts) for (const [outcome, value] of m) out.push({ route, outcome, value });
    return out;
  }
}

export const cacheStats = new CacheStats();
