import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { counterTtl, evaluate, unconsumed, type Counter } from '../../src/limits/algorithms.ts';
import type { LimitCheck, LimitSpec, LimitState } from '../../src/limits/types.ts';

/** A realistic epoch time: ms doubles near 1.75e12 round at 2^-12 ms, which is where float bugs show. */
const T0 = 1_754_000_000_777;

const tb = (limit: number, intervalMs: number): LimitSpec => ({ id: 'tb', algorithm: 'token-bucket', limit, intervalMs });
const sw = (limit: number, intervalMs: number): LimitSpec => ({ id: 'sw', algorithm: 'sliding-window', limit, intervalMs });
const cal = (limit: number): LimitSpec => ({ id: 'cal', algorithm: 'calendar', limit, intervalMs: 0 });

/** One key's counter, hit the way a store does: the counter changes only when the request is allowed. */
function bucket(check: LimitCheck) {
  let counter: Counter | undefined;
  return {
    hit(now: number): LimitState {
      const r = evaluate(check, counter, now);
      if (r.state.allowed) counter = r.next;
      return r.state;
    },
    peek: (now: number) => unconsumed(evaluate(check, counter, now).state),
    get counter() { return counter; },
    set counter(c: Counter | undefined) { counter = c; },
  };
}

describe('token bucket (GCRA)', () => {
  it('a fresh bucket admits exactly `limit` at once, each reporting what is left and when it is full again', () => {
    const b = bucket({ key: 'k', spec: tb(5, 200) });
    for (let i = 1; i <= 5; i++) {
      assert.deepEqual(b.hit(T0), { allowed: true, limit: 5, remaining: 5 - i, resetMs: 200 * i, retryAfterMs: 0 });
    }
    assert.deepEqual(b.hit(T0), { allowed: false, limit: 5, remaining: 0, resetMs: 1000, retryAfterMs: 200 });
  });

  it('admits the whole burst with intervals that are not whole ms, at real epoch times (no float drift)', () => {
    for (const rate of [3, 6, 7, 9, 11, 13, 17, 30, 70, 0.3]) {
      for (const limit of [1, 2, 3, 5, 7, 10, 100, 1000]) {
        for (const now of [0, T0, 1_999_999_999_999]) {
          const b = bucket({ key: 'k', spec: tb(limit, 1000 / rate) });
          let allowed = 0;
          for (let i = 0; i <= limit; i++) if (b.hit(now).allowed) allowed++;
          assert.equal(allowed, limit, `rate ${rate}/s, burst ${limit}, now ${now}`);
        }
      }
    }
  });

  it('earns one request back every interval: refused 1 ms early, allowed on time', () => {
    const b = bucket({ key: 'k', spec: tb(2, 500) });
    b.hit(T0);
    b.hit(T0);
    assert.deepEqual(b.hit(T0 + 499), { allowed: false, limit: 2, remaining: 0, resetMs: 501, retryAfterMs: 1 });
    assert.deepEqual(b.hit(T0 + 500), { allowed: true, limit: 2, remaining: 0, resetMs: 1000, retryAfterMs: 0 });
    assert.equal(b.hit(T0 + 500).allowed, false);
    assert.equal(b.hit(T0 + 1000).allowed, true);
  });

  it('a steady rate of exactly 1/interval is always admitted; any faster is refused once the burst is spent', () => {
    const steady = bucket({ key: 'k', spec: tb(1, 250) });
    for (let i = 0; i < 240; i++) assert.equal(steady.hit(T0 + i * 250).allowed, true);
    const third = bucket({ key: 'k', spec: tb(1, 1000 / 3) });
    // 333 ms apart is faster than 3/s: the second is refused; 334 ms apart is always admitted.
    assert.equal(third.hit(T0).allowed, true);
    assert.equal(third.hit(T0 + 333).allowed, false);
    for (let i = 1; i < 180; i++) assert.equal(third.hit(T0 + i * 334).allowed, true);
    const fast = bucket({ key: 'k', spec: tb(3, 100) });
    let allowed = 0;
    for (let i = 0; i < 100; i++) if (fast.hit(T0 + i * 90).allowed) allowed++;
    // 90 ms apart over 8.91 s: the burst of 3 plus one per 100 ms earned (the 8.91 s hold 89 whole intervals).
    assert.equal(allowed, 3 + 89);
  });

  it('is full again `limit · interval` after the last request: the burst is available again', () => {
    const b = bucket({ key: 'k', spec: tb(3, 1000 / 3) });
    for (let i = 0; i < 3; i++) b.hit(T0);
    const refused = b.hit(T0);
    assert.equal(refused.resetMs, 1000);
    for (let i = 0; i < 3; i++) assert.equal(b.hit(T0 + 1000).allowed, true);
    assert.equal(b.hit(T0 + 1000).allowed, false);
  });

  it('retryAfterMs is exact: refused 1 ms before it, allowed at it (whole ms, rounded up)', () => {
    for (const interval of [250, 1000 / 3, 1000 / 7, 60_000 / 7]) {
      const b = bucket({ key: 'k', spec: tb(4, interval) });
      let now = T0;
      for (let i = 0; i < 4; i++) b.hit(now);
      for (let round = 0; round < 10; round++) {
        const r = b.peek(now);
        assert.equal(r.allowed, false);
        assert.equal(b.hit(now + r.retryAfterMs - 1).allowed, false, `interval ${interval}: early`);
        assert.equal(b.hit(now + r.retryAfterMs).allowed, true, `interval ${interval}: on time`);
        now += r.retryAfterMs;
      }
    }
  });

  it('a refused request leaves the counter as it was', () => {
    const check: LimitCheck = { key: 'k', spec: tb(1, 1000) };
    const first = evaluate(check, undefined, T0);
    const second = evaluate(check, first.next, T0 + 10);
    assert.equal(second.state.allowed, false);
    assert.deepEqual(second.next, first.next);
  });

  it('the counter lives until the bucket is full again', () => {
    const check: LimitCheck = { key: 'k', spec: tb(5, 200) };
    const { next } = evaluate(check, undefined, T0);
    assert.equal(counterTtl(check, next, T0), 200);
    assert.equal(counterTtl(check, next, T0 + 10_000), 1);
  });
});

describe('sliding-window counter', () => {
  const W = 1000;
  /** An instant `ms` into a window (windows are aligned on multiples of W). */
  const at = (window: number, ms: number) => Math.floor(T0 / W) * W + window * W + ms;

  it('admits `limit` in a fresh window, then refuses until the window ends and its weight has shrunk enough', () => {
    const b = bucket({ key: 'k', spec: sw(4, W) });
    for (let i = 1; i <= 4; i++) {
      assert.deepEqual(b.hit(at(0, 100)), { allowed: true, limit: 4, remaining: 4 - i, resetMs: 900, retryAfterMs: 0 });
    }
    // Next window: 4 · (W - e) / W + 1 ≤ 4 from e = 250.
    assert.deepEqual(b.hit(at(0, 100)), { allowed: false, limit: 4, remaining: 0, resetMs: 900, retryAfterMs: 900 + 250 });
    assert.equal(b.hit(at(1, 249)).allowed, false);
    assert.equal(b.hit(at(1, 250)).allowed, true);
  });

  it('weights the previous window by its overlap: half way through a full previous window, half the limit', () => {
    const b = bucket({ key: 'k', spec: sw(10, W) });
    for (let i = 0; i < 10; i++) assert.equal(b.hit(at(0, 0)).allowed, true);
    let allowed = 0;
    for (let i = 0; i < 20; i++) if (b.hit(at(1, 500)).allowed) allowed++;
    assert.equal(allowed, 5);
  });

  it('lands exactly on the limit without float error (10 × 0.7 is 7.000000000000001 as a double)', () => {
    const b = bucket({ key: 'k', spec: sw(10, W) });
    for (let i = 0; i < 10; i++) b.hit(at(0, 0));
    // At 300 ms the previous window weighs 7: three more fit, the third exactly on the limit.
    assert.deepEqual(b.hit(at(1, 300)), { allowed: true, limit: 10, remaining: 2, resetMs: 700, retryAfterMs: 0 });
    assert.deepEqual(b.hit(at(1, 300)), { allowed: true, limit: 10, remaining: 1, resetMs: 700, retryAfterMs: 0 });
    assert.deepEqual(b.hit(at(1, 300)), { allowed: true, limit: 10, remaining: 0, resetMs: 700, retryAfterMs: 0 });
    assert.equal(b.hit(at(1, 300)).allowed, false);
  });

  it('retryAfterMs is exact within the window and across its end', () => {
    for (const [limit, prevFill, currFill, e] of [[10, 10, 3, 200], [10, 7, 0, 50], [5, 0, 5, 999], [7, 3, 7, 10], [3, 3, 3, 0]] as const) {
      const b = bucket({ key: 'k', spec: sw(limit, W) });
      for (let i = 0; i < prevFill; i++) b.hit(at(0, 0));
      for (let i = 0; i < currFill; i++) b.hit(at(1, 0));
      let now = at(1, e);
      while (b.peek(now).allowed) b.hit(now);
      const r = b.peek(now);
      assert.ok(r.retryAfterMs >= 1);
      assert.equal(b.hit(now + r.retryAfterMs - 1).allowed, false, `${limit}/${prevFill}/${currFill}/${e}: early`);
      assert.equal(b.hit(now + r.retryAfterMs).allowed, true, `${limit}/${prevFill}/${currFill}/${e}: on time`);
      now += r.retryAfterMs;
    }
  });

  it('forgets a window older than the previous one', () => {
    const b = bucket({ key: 'k', spec: sw(2, W) });
    b.hit(at(0, 0));
    b.hit(at(0, 0));
    assert.equal(b.hit(at(1, 0)).allowed, false);
    assert.deepEqual(b.hit(at(2, 0)), { allowed: true, limit: 2, remaining: 1, resetMs: 1000, retryAfterMs: 0 });
  });

  it('the counter lives two windows from its window start', () => {
    const check: LimitCheck = { key: 'k', spec: sw(2, W) };
    const { next } = evaluate(check, undefined, at(0, 300));
    assert.equal(counterTtl(check, next, at(0, 300)), 1700);
  });
});

describe('calendar quota', () => {
  const period = { start: T0 - 1000, end: T0 + 86_400_000 };

  it('counts down to zero, then refuses until the period ends', () => {
    const b = bucket({ key: 'k', spec: cal(3), period });
    assert.deepEqual(b.hit(T0), { allowed: true, limit: 3, remaining: 2, resetMs: 86_400_000, retryAfterMs: 0 });
    assert.deepEqual(b.hit(T0 + 1), { allowed: true, limit: 3, remaining: 1, resetMs: 86_399_999, retryAfterMs: 0 });
    assert.deepEqual(b.hit(T0 + 2), { allowed: true, limit: 3, remaining: 0, resetMs: 86_399_998, retryAfterMs: 0 });
    assert.deepEqual(b.hit(T0 + 3), { allowed: false, limit: 3, remaining: 0, resetMs: 86_399_997, retryAfterMs: 86_399_997 });
    assert.equal(b.hit(period.end - 1).retryAfterMs, 1);
  });

  it('starts from zero in the next period', () => {
    const check: LimitCheck = { key: 'k', spec: cal(1), period };
    const first = evaluate(check, undefined, T0);
    const next = { start: period.end, end: period.end + 86_400_000 };
    assert.equal(evaluate(check, first.next, T0 + 5).state.allowed, false);
    assert.deepEqual(evaluate({ ...check, period: next }, first.next, period.end).state,
      { allowed: true, limit: 1, remaining: 0, resetMs: 86_400_000, retryAfterMs: 0 });
  });

  it('the counter lives until the period ends', () => {
    const check: LimitCheck = { key: 'k', spec: cal(1), period };
    assert.equal(counterTtl(check, evaluate(check, undefined, T0).next, T0), 86_400_000);
  });
});

describe('unconsumed', () => {
  it('gives an allowed state its request back, capped at the limit; a refused one is unchanged', () => {
    const allowed: LimitState = { allowed: true, limit: 5, remaining: 3, resetMs: 10, retryAfterMs: 0 };
    assert.equal(unconsumed(allowed).remaining, 4);
    assert.equal(unconsumed({ ...allowed, remaining: 5 }).remaining, 5);
    const refused: LimitState = { allowed: false, limit: 5, remaining: 0, resetMs: 10, retryAfterMs: 3 };
    assert.equal(unconsumed(refused), refused);
  });
});
