import type { LimitCheck, LimitSpec, LimitState } from './types.ts';

/**
 * The algorithms as pure functions over a small mutable state, so the local store runs them directly and the Redis
 * script (limits/redis-script.ts: the same arithmetic in Lua, tested for equal results) can be checked against them.
 * Times are ms since the epoch; nothing here reads a clock.
 */

/** One limit's counters: token-bucket uses `a` (theoretical arrival time, in whole µs since the epoch); the windows
 * use `a` (window or period start), `b` (its count) and `c` (the previous window's count). */
export interface Counter {
  a: number;
  b: number;
  c: number;
}

export function newCounter(): Counter {
  return { a: 0, b: 0, c: 0 };
}

/**
 * Evaluates one request against one limit: its state as if the request were admitted (or why not), and the counter
 * to store if it is. Callers evaluate every limit of a request first and store the counters only when all allow.
 */
export function evaluate(check: LimitCheck, counter: Counter | undefined, now: number): { state: LimitState; next: Counter } {
  const spec = check.spec;
  switch (spec.algorithm) {
    case 'token-bucket': return tokenBucket(spec, counter, now);
    case 'sliding-window': return slidingWindow(spec, counter, now);
    case 'calendar': return calendar(spec, check.period!, counter, now);
  }
}

/** Token-bucket times are kept in whole microseconds: integers below 2^53 add and compare exactly, where ms as
 * doubles near 1.7e12 round at every step and a burst of N could admit only N - 1 (1000/6 ms per request). */
const US = 1000;

/**
 * GCRA: each request advances the theoretical arrival time (TAT) by the emission interval T; a request is allowed
 * when the new TAT is at most `burst · T` ahead of now. A fresh bucket takes `burst` requests at once, then one per T.
 * T is rounded to a whole microsecond; the times reported are whole ms, rounded up (never too early).
 */
function tokenBucket(spec: LimitSpec, counter: Counter | undefined, now: number): { state: LimitState; next: Counter } {
  // floor(x + 0.5) rather than Math.round: it is what the Lua script can compute bit for bit.
  const t = Math.max(1, Math.floor(spec.intervalMs * US + 0.5));
  const tau = spec.limit * t;
  const nowUs = Math.floor(now * US + 0.5);
  const tat = Math.max(counter?.a ?? nowUs, nowUs);
  const newTat = tat + t;
  const ahead = newTat - nowUs;
  if (ahead <= tau) {
    return {
      state: { allowed: true, limit: spec.limit, remaining: Math.floor((tau - ahead) / t), resetMs: Math.ceil(ahead / US), retryAfterMs: 0 },
      next: { a: newTat, b: 0, c: 0 },
    };
  }
  return {
    state: {
      allowed: false, limit: spec.limit, remaining: Math.max(0, Math.floor((tau - (tat - nowUs)) / t)),
      resetMs: Math.ceil((tat - nowUs) / US), retryAfterMs: Math.ceil((ahead - tau) / US),
    },
    next: { a: tat, b: 0, c: 0 },
  };
}

/**
 * Sliding-window counter: windows aligned on multiples of W; the estimate is the previous window's count times the
 * share of it still inside the sliding window, plus the current count. Allowed while the estimate stays within the
 * limit. Accuracy: exact when traffic is even; it can admit a little more or less than `limit` in some W-long span
 * when traffic is bursty (documented in docs/rate-limiting.md).
 *
 * The comparisons are made on the estimate times W (`scaled`), which is an integer for integer times: as a double,
 * 10 × 0.7 is 7.000000000000001 and would refuse a request that lands exactly on the limit.
 */
function slidingWindow(spec: LimitSpec, counter: Counter | undefined, now: number): { state: LimitState; next: Counter } {
  const w = spec.intervalMs;
  const n = spec.limit;
  const start = Math.floor(now / w) * w;
  let curr = 0;
  let prev = 0;
  if (counter !== undefined) {
    if (counter.a === start) {
      curr = counter.b;
      prev = counter.c;
    } else if (counter.a === start - w) {
      prev = counter.b;
    }
  }
  const toWindowEnd = w - (now - start);
  // estimate · W, and the room left under the limit after this request, both · W.
  const scaled = prev * toWindowEnd + curr * w;
  const room = n * w - scaled - w;
  if (room >= 0) {
    return {
      state: { allowed: true, limit: n, remaining: Math.floor(room / w), resetMs: toWindowEnd, retryAfterMs: 0 },
      next: { a: start, b: curr + 1, c: prev },
    };
  }
  let wait: number;
  if (curr + 1 <= n && prev > 0) {
    // Within this window, once the previous window's weight has shrunk enough: prev · (W - e) ≤ W · (n - curr - 1).
    wait = Math.ceil((toWindowEnd * prev - w * (n - curr - 1)) / prev);
  } else {
    // Not before the next window, where this window's count becomes the weighted one.
    wait = toWindowEnd + (curr > 0 ? Math.max(0, Math.ceil((w * curr - w * (n - 1)) / curr)) : 0);
  }
  return {
    state: { allowed: false, limit: n, remaining: 0, resetMs: toWindowEnd, retryAfterMs: Math.max(1, wait) },
    next: { a: start, b: curr, c: prev },
  };
}

/** A quota: a plain counter per calendar period; it resets when the period ends. */
function calendar(spec: LimitSpec, period: { start: number; end: number }, counter: Counter | undefined, now: number): { state: LimitState; next: Counter } {
  const count = counter !== undefined && counter.a === period.start ? counter.b : 0;
  const resetMs = Math.max(0, period.end - now);
  if (count + 1 <= spec.limit) {
    return { state: { allowed: true, limit: spec.limit, remaining: spec.limit - count - 1, resetMs, retryAfterMs: 0 }, next: { a: period.start, b: count + 1, c: 0 } };
  }
  return { state: { allowed: false, limit: spec.limit, remaining: 0, resetMs, retryAfterMs: Math.max(1, resetMs) }, next: { a: period.start, b: count, c: 0 } };
}

/** How long a counter must be kept: past this many ms from now it holds nothing a later request needs. */
export function counterTtl(check: LimitCheck, counter: Counter, now: number): number {
  switch (check.spec.algorithm) {
    case 'token-bucket': return Math.max(1, Math.ceil(counter.a / US - now));
    case 'sliding-window': return Math.max(1, counter.a + 2 * check.spec.intervalMs - now);
    case 'calendar': return Math.max(1, check.period!.end - now);
  }
}

/** The state a request refused by another limit reports for a limit that would have allowed it: nothing consumed. */
export function unconsumed(state: LimitState): LimitState {
  return state.allowed ? { ...state, remaining: Math.min(state.limit, state.remaining + 1) } : state;
}
