import { counterTtl, evaluate, unconsumed, type Counter } from './algorithms.ts';
import type { LimitCheck, LimitState, LimitStore } from './types.ts';

interface Entry {
  counter: Counter;
  /** ms since the epoch after which the counter holds nothing a request needs. */
  expires: number;
}

/**
 * Counters in this process: exact, synchronous, no I/O. Each gateway process has its own, so N processes admit up
 * to N times a limit (docs/rate-limiting.md); use the redis store to share one limit. Expired counters are swept
 * every `sweepEvery` hits, so memory follows the number of active clients, not of all clients ever seen.
 */
export class MemoryStore implements LimitStore {
  readonly kind = 'local' as const;
  readonly #entries = new Map<string, Entry>();
  readonly #sweepEvery: number;
  #hits = 0;

  constructor(options: { sweepEvery?: number } = {}) {
    this.#sweepEvery = options.sweepEvery ?? 10_000;
  }

  get size(): number {
    return this.#entries.size;
  }

  hit(checks: readonly LimitCheck[], now: number): LimitState[] {
    if (++this.#hits >= this.#sweepEvery) this.sweep(now);
    const states: LimitState[] = new Array(checks.length);
    const nexts: Counter[] = new Array(checks.length);
    let allowed = true;
    for (let i = 0; i < checks.length; i++) {
      const e = this.#entries.get(checks[i]!.key);
      const r = evaluate(checks[i]!, e !== undefined && e.expires > now ? e.counter : undefined, now);
      states[i] = r.state;
      nexts[i] = r.next;
      if (!r.state.allowed) allowed = false;
    }
    if (!allowed) {
      for (let i = 0; i < states.length; i++) states[i] = unconsumed(states[i]!);
      return states;
    }
    for (let i = 0; i < checks.length; i++) {
      const check = checks[i]!;
      const counter = nexts[i]!;
      const expires = now + counterTtl(check, counter, now);
      const e = this.#entries.get(check.key);
      if (e === undefined) this.#entries.set(check.key, { counter, expires });
      else {
        e.counter = counter;
        e.expires = expires;
      }
    }
    return states;
  }

  peek(checks: readonly LimitCheck[], now: number): LimitState[] {
    return checks.map((check) => {
      const e = this.#entries.get(check.key);
      return unconsumed(evaluate(check, e !== undefined && e.expires > now ? e.counter : undefined, now).state);
    });
  }

  /** Drops counters that expired. */
  sweep(now: number): void {
    this.#hits = 0;
    for (const [key, e] of this.#entries) if (e.expires <= now) this.#entries.delete(key);
  }

  async close(): Promise<void> {
    this.#entries.clear();
  }
}
