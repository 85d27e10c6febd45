/**
 * Counts of rate-limit and quota decisions, in process, for the metrics endpoint to expose (the observability
 * issue): `expeditor_ratelimit_requests_total{policy, source, key, outcome}`. Cardinality is bounded by the config,
 * never by traffic: `policy` is a policy id (route, consumer or plan names), `key` the key class (`consumer`,
 * `route+ip`, `fallback-ip`…), never a client's value.
 */
export type LimitSource = 'rate-limit' | 'quota' | 'usage-plan';

/**
 * - `allowed`: every limit of the policy admitted the request;
 * - `rate_limited` / `quota_exceeded`: refused (the code the client got);
 * - `skipped`: the request had no value for the policy's key and `whenMissing` is `skip`;
 * - `failed_open` / `failed_closed`: the store could not answer; let through, or refused with 503;
 * - `fallback_allowed` / `fallback_limited`: the store could not answer and the local fallback decided.
 */
export type LimitOutcome =
  | 'allowed' | 'rate_limited' | 'quota_exceeded' | 'skipped' | 'failed_open' | 'failed_closed' | 'fallback_allowed' | 'fallback_limited';

export interface LimitLabels {
  readonly policy: string;
  readonly source: LimitSource;
  readonly key: string;
  readonly outcome: LimitOutcome;
}

/** One counter; policies keep references, so counting is an increment, not a lookup. */
export interface LimitCounter {
  readonly labels: LimitLabels;
  value: number;
}

export const LIMIT_METRIC = 'expeditor_ratelimit_requests_total';

class LimitStats {
  readonly #counters = new Map<string, LimitCounter>();

  /** The counter for these labels, created at 0 the first time. */
  counter(labels: LimitLabels): LimitCounter {
    const id = `${labels.policy}\u0000${labels.source}\u0000${labels.key}\u0000${labels.outcome}`;
    let c = this.#counters.get(id);
    if (c === undefined) this.#counters.set(id, (c = { labels: Object.freeze({ ...labels }), value: 0 }));
    return c;
  }

  /** Every counter, sorted by labels (a copy: later counts do not change it). */
  snapshot(): Array<{ labels: LimitLabels; value: number }> {
    return [...this.#counters.values()]
      .map((c) => ({ labels: c.labels, value: c.value }))
      .sort((a, b) => labelOrder(a.labels) < labelOrder(b.labels) ? -1 : 1);
  }

  /** The value of one counter (0 when never counted). */
  value(labels: LimitLabels): number {
    return this.#counters.get(`${labels.policy}\u0000${labels.source}\u0000${labels.key}\u0000${labels.outcome}`)?.value ?? 0;
  }

  /** Sum over the counters whose labels match every given one. */
  sum(match: Partial<LimitLabels>): number {
    let n = 0;
    for (const c of this.#counters.values()) {
      if ((Object.keys(match) as (keyof LimitLabels)[]).every((k) => c.labels[k] === match[k])) n += c.value;
    }
    return n;
  }

  /** Zeroes every counter (tests; counters already handed out keep working). */
  reset(): void {
    for (const c of this.#counters.values()) c.value = 0;
  }
}

function labelOrder(l: LimitLabels): string {
  return `${l.policy}\u0000${l.source}\u0000${l.key}\u0000${l.outcome}`;
}

/** The process-wide registry (counts survive reloads, as Prometheus counters must). */
export const limitStats = new LimitStats();
