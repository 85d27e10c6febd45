import type { BalanceInput, Balancer, Target } from '../target.ts';

export interface EwmaOptions {
  /**
   * Uniform random numbers in [0, 1); injectable so tests are deterministic. Default: an inlined xorshift32
   * seeded from `Math.random` (a function returning fresh doubles boxes each of them: about 16 bytes a pick).
   */
  random?: () => number;
  /**
   * Share of picks that go to the losing candidate. Without it a target that was slow once (one GC pause is
   * enough) may never be picked again on a quiet pool, so its stale EWMA would never be corrected: `ewmaMs` is
   * only updated by responses. Default 0.01.
   */
  probeRate?: number;
}

/** Random draws for a candidate before falling back to an exact count of the eligible targets. */
const SAMPLE_TRIES = 4;

/**
 * Power of two choices on latency: two distinct eligible targets drawn uniformly, and the one with the lower
 * `ewmaMs * (inflight + 1) / weight` wins. Weighting by in-flight requests spreads a burst instead of piling it
 * onto the fastest target, and lets slower targets take the overflow. A target without a latency sample yet
 * (`ewmaMs` 0) is taken to be as fast as the other candidate and wins ties, so a new target gets traffic at once
 * without being flooded before its first response. O(1) expected when most targets are eligible.
 */
export class EwmaBalancer implements Balancer {
  readonly name = 'ewma';
  #targets: readonly Target[] = [];
  readonly #random: (() => number) | undefined;
  /** xorshift32 state of the default random source (a typed array: updating it never allocates). */
  readonly #state = new Uint32Array([Math.floor(Math.random() * 0xfffffffe) + 1]);
  readonly #probeRate: number;

  constructor(options: EwmaOptions = {}) {
    this.#random = options.random;
    this.#probeRate = options.probeRate ?? 0.01;
  }

  update(targets: readonly Target[]): void {
    this.#targets = targets.slice();
  }

  pick(_input: BalanceInput, eligible: (t: Target) => boolean): Target | undefined {
    const a = this.#draw(eligible, -1);
    if (a < 0) return undefined;
    const b = this.#draw(eligible, a);
    const ta = this.#targets[a]!;
    if (b < 0) return ta;
    const tb = this.#targets[b]!;
    const aWins = prefersFirst(ta, tb);
    const probe = this.#probeRate > 0 && this.#uniform() < this.#probeRate;
    return aWins !== probe ? ta : tb;
  }

  #uniform(): number {
    if (this.#random !== undefined) return this.#random();
    let x = this.#state[0]!;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.#state[0] = x;
    return (x >>> 0) / 4294967296;
  }

  /** Index of a uniformly drawn eligible target other than `exclude`, or -1 when there is none. */
  #draw(eligible: (t: Target) => boolean, exclude: number): number {
    const targets = this.#targets;
    const n = targets.length;
    // Rejection sampling: each accepted draw is uniform over the eligible targets, and cheap when most are.
    for (let k = 0; k < SAMPLE_TRIES; k++) {
      const i = Math.floor(this.#uniform() * n);
      const t = targets[i];
      if (i !== exclude && t !== undefined && t.weight > 0 && eligible(t)) return i;
    }
    // Few eligible: count them, then take the r-th. Still uniform, so the mixture of both paths is too.
    let count = 0;
    for (let i = 0; i < n; i++) {
      const t = targets[i]!;
      if (i !== exclude && t.weight > 0 && eligible(t)) count++;
    }
    if (count === 0) return -1;
    let r = Math.min(Math.floor(this.#uniform() * count), count - 1);
    for (let i = 0; i < n; i++) {
      const t = targets[i]!;
      if (i !== exclude && t.weight > 0 && eligible(t) && r-- === 0) return i;
    }
    return -1; // eligibility changed between the two passes
  }
}

/** Whether `a` should be chosen over `b`. */
function prefersFirst(a: Target, b: Target): boolean {
  // An unsampled target borrows the other's latency: "at least as fast", then compared on load alone.
  const la = a.ewmaMs === 0 ? b.ewmaMs : a.ewmaMs;
  const lb = b.ewmaMs === 0 ? a.ewmaMs : b.ewmaMs;
  const sa = la * (a.inflight + 1) * b.weight;
  const sb = lb * (b.inflight + 1) * a.weight;
  if (sa !== sb) return sa < sb;
  if (la === 0) {
    // Neither has a sample: fewer in flight per weight wins.
    const loadA = (a.inflight + 1) * b.weight;
    const loadB = (b.inflight + 1) * a.weight;
    if (loadA !== loadB) return loadA < loadB;
  }
  return a.ewmaMs === 0 || b.ewmaMs !== 0;
}
