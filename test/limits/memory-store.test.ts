import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryStore } from '../../src/limits/memory-store.ts';
import type { LimitCheck, LimitSpec } from '../../src/limits/types.ts';

const T0 = 1_754_000_000_777;
const perSecond: LimitSpec = { id: 'second', algorithm: 'token-bucket', limit: 3, intervalMs: 1000 / 3 };
const perMinute: LimitSpec = { id: 'minute', algorithm: 'sliding-window', limit: 5, intervalMs: 60_000 };
const perDay: LimitSpec = { id: 'day', algorithm: 'calendar', limit: 4, intervalMs: 0 };
const day = { start: T0 - 5000, end: T0 + 86_400_000 };

function checks(client: string): LimitCheck[] {
  return [
    { key: `rl:{p:${client}}:second`, spec: perSecond },
    { key: `rl:{p:${client}}:minute`, spec: perMinute },
    { key: `rl:{p:${client}}:day`, spec: perDay, period: day },
  ];
}

describe('MemoryStore', () => {
  it('hit consumes one request from every limit when all allow', () => {
    const store = new MemoryStore();
    const [s, m, d] = store.hit(checks('a'), T0);
    assert.deepEqual(s, { allowed: true, limit: 3, remaining: 2, resetMs: 334, retryAfterMs: 0 });
    assert.deepEqual(m, { allowed: true, limit: 5, remaining: 4, resetMs: 60_000 - (T0 % 60_000), retryAfterMs: 0 });
    assert.deepEqual(d, { allowed: true, limit: 4, remaining: 3, resetMs: 86_400_000, retryAfterMs: 0 });
  });

  it('is all-or-nothing: a request refused by one limit consumes nothing from the others', () => {
    const store = new MemoryStore();
    // Spend the per-second burst, then keep asking in the same instant.
    for (let i = 0; i < 3; i++) assert.equal(store.hit(checks('a'), T0).every((s) => s.allowed), true);
    for (let i = 0; i < 10; i++) {
      const [s, m, d] = store.hit(checks('a'), T0);
      assert.equal(s!.allowed, false);
      // The others say what is left as if this request had not been made.
      assert.deepEqual([m!.allowed, m!.remaining, d!.allowed, d!.remaining], [true, 2, true, 1]);
    }
    // A second later the bucket has refilled; minute and day still hold 2 and 1 requests.
    const later = store.hit(checks('a'), T0 + 1000);
    assert.deepEqual(later.map((s) => [s.allowed, s.remaining]), [[true, 2], [true, 1], [true, 0]]);
    // The day is spent: refused, and the bucket (full again) and the window keep their budget.
    const refused = store.hit(checks('a'), T0 + 2000);
    assert.deepEqual(refused.map((s) => [s.allowed, s.remaining]), [[true, 3], [true, 1], [false, 0]]);
    assert.deepEqual(store.hit(checks('a'), T0 + 2000).map((s) => [s.allowed, s.remaining]), [[true, 3], [true, 1], [false, 0]]);
    assert.equal(refused[2]!.retryAfterMs, day.end - (T0 + 2000));
  });

  it('keys are independent', () => {
    const store = new MemoryStore();
    for (let i = 0; i < 3; i++) store.hit(checks('a'), T0);
    assert.equal(store.hit(checks('a'), T0)[0]!.allowed, false);
    assert.equal(store.hit(checks('b'), T0)[0]!.allowed, true);
  });

  it('peek reports the state without consuming anything', () => {
    const store = new MemoryStore();
    store.hit(checks('a'), T0);
    const before = store.peek(checks('a'), T0);
    assert.deepEqual(before.map((s) => [s.allowed, s.remaining]), [[true, 2], [true, 4], [true, 3]]);
    assert.deepEqual(store.peek(checks('a'), T0), before);
    assert.deepEqual(store.hit(checks('a'), T0).map((s) => s.remaining), [1, 3, 2]);
    // A fresh client: everything left.
    assert.deepEqual(store.peek(checks('z'), T0).map((s) => s.remaining), [3, 5, 4]);
  });

  it('retryAfterMs of a refusal is when the request would pass', () => {
    const store = new MemoryStore();
    for (let i = 0; i < 3; i++) store.hit(checks('a'), T0);
    const [s] = store.hit(checks('a'), T0);
    assert.equal(s!.retryAfterMs, 334);
    assert.equal(store.hit(checks('a'), T0 + 333)[0]!.allowed, false);
    assert.equal(store.hit(checks('a'), T0 + 334)[0]!.allowed, true);
  });

  it('a counter past its lifetime counts as fresh, and sweep drops it', () => {
    const store = new MemoryStore({ sweepEvery: 1_000_000 });
    const bucket: LimitCheck[] = [{ key: 'b', spec: { id: 'b', algorithm: 'token-bucket', limit: 2, intervalMs: 500 } }];
    const window: LimitCheck[] = [{ key: 'w', spec: { id: 'w', algorithm: 'sliding-window', limit: 1, intervalMs: 1000 } }];
    store.hit(bucket, T0);
    store.hit(bucket, T0);
    store.hit(window, T0);
    assert.equal(store.size, 2);
    // The bucket is full again 1000 ms later; the window's counter is needed for two windows from its start.
    store.sweep(T0 + 999);
    assert.equal(store.size, 2);
    store.sweep(T0 + 1000);
    assert.equal(store.size, 1);
    assert.deepEqual(store.hit(bucket, T0 + 1000)[0], { allowed: true, limit: 2, remaining: 1, resetMs: 500, retryAfterMs: 0 });
    const windowEnd = Math.floor(T0 / 1000) * 1000 + 2000;
    store.sweep(windowEnd - 1);
    assert.equal(store.size, 2);
    store.sweep(windowEnd);
    assert.equal(store.size, 1);
  });

  it('sweeps by itself every `sweepEvery` hits, so memory follows the active clients', () => {
    const store = new MemoryStore({ sweepEvery: 100 });
    const spec: LimitSpec = { id: 's', algorithm: 'token-bucket', limit: 1, intervalMs: 10 };
    for (let i = 0; i < 99; i++) store.hit([{ key: `c${i}`, spec }], T0);
    assert.equal(store.size, 99);
    // The 100th hit, a second later, sweeps the 99 expired buckets first.
    store.hit([{ key: 'last', spec }], T0 + 1000);
    assert.equal(store.size, 1);
  });

  it('an empty call answers an empty list', () => {
    assert.deepEqual(new MemoryStore().hit([], T0), []);
  });

  it('close drops every counter', async () => {
    const store = new MemoryStore();
    store.hit(checks('a'), T0);
    await store.close();
    assert.equal(store.size, 0);
  });
});
