import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { ConcurrencyLimiter, type Waiter } from '../../src/upstream/limiter.ts';

/** A waiter that records what happened to it, in a log shared by the test. */
class Recorder implements Waiter {
  readonly id: number;
  readonly log: string[];
  enqueuedAt = performance.now();
  settledAt = 0;
  onGrant: (() => void) | undefined;
  onReject: (() => void) | undefined;

  constructor(id: number, log: string[]) {
    this.id = id;
    this.log = log;
  }

  grant(): void {
    this.settledAt = performance.now();
    this.log.push(`grant ${this.id}`);
    this.onGrant?.();
  }

  reject(reason: 'timeout'): void {
    this.settledAt = performance.now();
    this.log.push(`${reason} ${this.id}`);
    this.onReject?.();
  }
}

const ok = (latencyMs: number) => ({ latencyMs, ok: true });
const failed = { latencyMs: 1, ok: false };

/** Runs `rounds` rounds that fill the limit (all 'now') and release every request with `outcome`. */
function saturate(limiter: ConcurrencyLimiter, rounds: number, outcome: { latencyMs: number; ok: boolean }): void {
  const log: string[] = [];
  for (let r = 0; r < rounds; r++) {
    const n = limiter.limit;
    for (let i = 0; i < n; i++) assert.equal(limiter.acquire(new Recorder(i, log)), 'now');
    for (let i = 0; i < n; i++) limiter.release(outcome);
  }
}

describe('ConcurrencyLimiter', () => {
  it('grants 20 queued waiters in arrival order under limit 1', async () => {
    const limiter = new ConcurrencyLimiter({ maxConcurrent: 1, maxQueued: 100, queueTimeout: 10_000 });
    const log: string[] = [];
    assert.equal(limiter.acquire(new Recorder(-1, log)), 'now');
    const last = Promise.withResolvers<void>();
    const expected: string[] = [];
    for (let i = 0; i < 20; i++) {
      const w = new Recorder(i, log);
      // Each granted request completes asynchronously, as a real exchange does.
      w.onGrant = () => void setImmediate(() => limiter.release(ok(1)));
      if (i === 19) w.onGrant = () => { limiter.release(ok(1)); last.resolve(); };
      assert.equal(limiter.acquire(w), 'queued');
      expected.push(`grant ${i}`);
    }
    assert.equal(limiter.queued, 20);
    limiter.release();
    await last.promise;
    assert.deepEqual(log, expected);
    assert.equal(limiter.inflight, 0);
    assert.equal(limiter.queued, 0);
  });

  it('drains a long queue whose grants release at once without recursion, still in order', () => {
    const n = 100_000;
    const limiter = new ConcurrencyLimiter({ maxConcurrent: 1, maxQueued: n, queueTimeout: 10_000 });
    const order: number[] = [];
    const waiters: Waiter[] = [];
    for (let i = 0; i < n; i++) waiters.push({ grant: () => { order.push(i); limiter.release(); }, reject: () => assert.fail('rejected') });
    assert.equal(limiter.acquire({ grant() {}, reject() {} }), 'now');
    for (const w of waiters) assert.equal(limiter.acquire(w), 'queued');
    limiter.release();
    assert.equal(order.length, n);
    assert.ok(order.every((v, i) => v === i), 'grants out of order');
    assert.equal(limiter.inflight, 0);
  });

  it('queues a newcomer behind waiters even when a grant frees a slot synchronously', () => {
    const limiter = new ConcurrencyLimiter({ maxConcurrent: 1, maxQueued: 10, queueTimeout: 10_000 });
    const log: string[] = [];
    const a = new Recorder(1, log);
    const b = new Recorder(2, log);
    const late = new Recorder(3, log);
    // a's request fails at once and, while still in grant(), a new request arrives: it must not overtake b.
    a.onGrant = () => { limiter.release(failed); assert.equal(limiter.acquire(late), 'queued'); };
    b.onGrant = () => limiter.release();
    late.onGrant = () => limiter.release();
    limiter.acquire(new Recorder(0, log));
    limiter.acquire(a);
    limiter.acquire(b);
    limiter.release();
    assert.deepEqual(log, ['grant 1', 'grant 2', 'grant 3']);
  });

  it('refuses with full once maxQueued waiters wait, and queues again when room is made', () => {
    const limiter = new ConcurrencyLimiter({ maxConcurrent: 1, maxQueued: 3, queueTimeout: 10_000 });
    const log: string[] = [];
    assert.equal(limiter.acquire(new Recorder(0, log)), 'now');
    for (let i = 1; i <= 3; i++) assert.equal(limiter.acquire(new Recorder(i, log)), 'queued');
    assert.equal(limiter.acquire(new Recorder(4, log)), 'full');
    assert.equal(limiter.queued, 3);
    limiter.release();
    assert.deepEqual(log, ['grant 1']);
    assert.equal(limiter.acquire(new Recorder(5, log)), 'queued');
    assert.equal(limiter.acquire(new Recorder(6, log)), 'full');
    // Leave nothing behind: empty the queue.
    for (let i = 0; i < 4; i++) limiter.release();
    assert.equal(limiter.queued, 0);
  });

  it('refuses at once when maxQueued or queueTimeout is 0', () => {
    for (const config of [{ maxConcurrent: 1, maxQueued: 0, queueTimeout: 1000 }, { maxConcurrent: 1, maxQueued: 10, queueTimeout: 0 }]) {
      const limiter = new ConcurrencyLimiter(config);
      assert.equal(limiter.acquire(new Recorder(0, [])), 'now');
      assert.equal(limiter.acquire(new Recorder(1, [])), 'full');
    }
  });

  it('release grants the next waiter before returning', () => {
    const limiter = new ConcurrencyLimiter({ maxConcurrent: 2, maxQueued: 10, queueTimeout: 10_000 });
    const log: string[] = [];
    limiter.acquire(new Recorder(0, log));
    limiter.acquire(new Recorder(1, log));
    assert.equal(limiter.acquire(new Recorder(2, log)), 'queued');
    assert.equal(limiter.acquire(new Recorder(3, log)), 'queued');
    limiter.release();
    assert.deepEqual(log, ['grant 2']);
    assert.equal(limiter.inflight, 2);
    assert.equal(limiter.queued, 1);
    limiter.release();
    assert.deepEqual(log, ['grant 2', 'grant 3']);
    assert.equal(limiter.queued, 0);
  });

  it('expires queued waiters in order, each queueTimeout (±20 ms) after it was queued; a cancelled waiter gets nothing', async () => {
    const timeout = 150;
    const limiter = new ConcurrencyLimiter({ maxConcurrent: 1, maxQueued: 10, queueTimeout: timeout });
    const log: string[] = [];
    limiter.acquire(new Recorder(0, log));
    const waiters: Recorder[] = [];
    const done = Promise.withResolvers<void>();
    for (let i = 1; i <= 5; i++) {
      // The second comes well after the head, so expiring it on the head's deadline would show.
      if (i > 1) await delay(i === 2 ? 40 : 10);
      const w = new Recorder(i, log);
      w.enqueuedAt = performance.now();
      assert.equal(limiter.acquire(w), 'queued');
      waiters.push(w);
      // Cancel the head once another waits: the timer is still armed for the head's deadline, not the next one's.
      if (i === 2) assert.equal(limiter.cancel(waiters[0]!), true);
    }
    waiters.at(-1)!.onReject = () => done.resolve();
    // And one in the middle of the queue.
    assert.equal(limiter.cancel(waiters[2]!), true);
    assert.equal(limiter.cancel(waiters[2]!), false);
    assert.equal(limiter.queued, 3);
    await done.promise;
    assert.deepEqual(log, ['timeout 2', 'timeout 4', 'timeout 5']);
    for (const w of [waiters[1]!, waiters[3]!, waiters[4]!]) {
      const waited = w.settledAt - w.enqueuedAt;
      assert.ok(Math.abs(waited - timeout) <= 20, `waiter ${w.id} waited ${waited.toFixed(1)} ms, not ${timeout}±20`);
    }
    assert.equal(limiter.queued, 0);
    // The slot holder is unaffected, and the cancelled or expired waiters are never granted.
    assert.equal(limiter.inflight, 1);
    limiter.release();
    assert.equal(limiter.inflight, 0);
    assert.deepEqual(log, ['timeout 2', 'timeout 4', 'timeout 5']);
  });

  it('cancel is false for a waiter that was granted (it holds a slot)', () => {
    const limiter = new ConcurrencyLimiter({ maxConcurrent: 1, maxQueued: 10, queueTimeout: 10_000 });
    const w = new Recorder(1, []);
    limiter.acquire(new Recorder(0, []));
    limiter.acquire(w);
    limiter.release();
    assert.equal(limiter.cancel(w), false);
    assert.equal(limiter.inflight, 1);
  });

  it('refuses to queue the same waiter twice and to release a slot not held', () => {
    const limiter = new ConcurrencyLimiter({ maxConcurrent: 1, maxQueued: 10, queueTimeout: 10_000 });
    const w = new Recorder(1, []);
    limiter.acquire(new Recorder(0, []));
    limiter.acquire(w);
    assert.throws(() => limiter.acquire(w), /already queued/);
    limiter.cancel(w);
    limiter.release();
    assert.throws(() => limiter.release(), /without a slot/);
  });

  it('suggests Retry-After from the queue timeout, at least 1 s', () => {
    assert.equal(new ConcurrencyLimiter({ maxConcurrent: 1, maxQueued: 1, queueTimeout: 5000 }).retryAfterSeconds(), 5);
    assert.equal(new ConcurrencyLimiter({ maxConcurrent: 1, maxQueued: 1, queueTimeout: 2500 }).retryAfterSeconds(), 3);
    assert.equal(new ConcurrencyLimiter({ maxConcurrent: 1, maxQueued: 1, queueTimeout: 100 }).retryAfterSeconds(), 1);
    assert.equal(new ConcurrencyLimiter({ maxConcurrent: 1, maxQueued: 1, queueTimeout: 0 }).retryAfterSeconds(), 1);
  });

  it('never queues when unlimited, and only counts requests in flight', () => {
    const limiter = new ConcurrencyLimiter({ maxConcurrent: 0, maxQueued: 10, queueTimeout: 1000 });
    const w = new Recorder(0, []);
    for (let i = 0; i < 10_000; i++) assert.equal(limiter.acquire(w), 'now');
    assert.equal(limiter.inflight, 10_000);
    assert.equal(limiter.queued, 0);
    assert.equal(limiter.limit, 0);
    for (let i = 0; i < 10_000; i++) limiter.release(ok(1));
    assert.equal(limiter.inflight, 0);
  });

  it('builds from the limits config: durations parsed, no config meaning unlimited', () => {
    const limiter = ConcurrencyLimiter.fromConfig({ maxConcurrent: 1, maxQueued: 5, queueTimeout: '3s' });
    assert.equal(limiter.limit, 1);
    assert.equal(limiter.retryAfterSeconds(), 3);
    assert.equal(ConcurrencyLimiter.fromConfig(undefined).limit, 0);
  });

  it('refuses an adaptive range with min above max', () => {
    assert.throws(() => new ConcurrencyLimiter({ maxConcurrent: 5, maxQueued: 0, queueTimeout: 0, adaptive: { min: 10, max: 5, latencyTolerance: 2 } }), RangeError);
  });

  describe('adaptive', () => {
    const adaptive = { min: 2, max: 8, latencyTolerance: 2 };

    it('starts at maxConcurrent clamped to [min, max], or at min when maxConcurrent is 0', () => {
      assert.equal(new ConcurrencyLimiter({ maxConcurrent: 4, maxQueued: 0, queueTimeout: 0, adaptive }).limit, 4);
      assert.equal(new ConcurrencyLimiter({ maxConcurrent: 0, maxQueued: 0, queueTimeout: 0, adaptive }).limit, 2);
      assert.equal(new ConcurrencyLimiter({ maxConcurrent: 50, maxQueued: 0, queueTimeout: 0, adaptive }).limit, 8);
    });

    it('grows by one per good window while the limit is used, up to max and no further', () => {
      const limiter = new ConcurrencyLimiter({ maxConcurrent: 2, maxQueued: 0, queueTimeout: 0, adaptive });
      const seen: number[] = [limiter.limit];
      for (let r = 0; r < 12; r++) {
        saturate(limiter, 1, ok(10));
        seen.push(limiter.limit);
      }
      assert.deepEqual(seen, [2, 3, 4, 5, 6, 7, 8, 8, 8, 8, 8, 8, 8]);
    });

    it('does not grow while the limit is far from used', () => {
      const limiter = new ConcurrencyLimiter({ maxConcurrent: 6, maxQueued: 0, queueTimeout: 0, adaptive });
      for (let i = 0; i < 100; i++) {
        limiter.acquire(new Recorder(i, []));
        limiter.release(ok(10));
      }
      assert.equal(limiter.limit, 6);
    });

    it('halves on a failure, once per incident, down to min and no further', () => {
      const limiter = new ConcurrencyLimiter({ maxConcurrent: 8, maxQueued: 0, queueTimeout: 0, adaptive });
      saturate(limiter, 2, ok(10));
      for (let i = 0; i < 8; i++) limiter.acquire(new Recorder(i, []));
      limiter.release(failed);
      assert.equal(limiter.limit, 4);
      // The 7 other requests were in flight under the old limit: their failures are the same incident.
      for (let i = 0; i < 7; i++) limiter.release(failed);
      assert.equal(limiter.limit, 4);
      limiter.acquire(new Recorder(0, []));
      limiter.release(failed);
      assert.equal(limiter.limit, 2);
      for (let i = 0; i < 5; i++) {
        limiter.acquire(new Recorder(0, []));
        limiter.release(failed);
      }
      assert.equal(limiter.limit, 2);
    });

    it('shrinks when latency exceeds the tolerance times the best recent latency, not below it', () => {
      const limiter = new ConcurrencyLimiter({ maxConcurrent: 8, maxQueued: 0, queueTimeout: 0, adaptive });
      saturate(limiter, 2, ok(10));
      assert.equal(limiter.limit, 8);
      limiter.acquire(new Recorder(0, []));
      limiter.release(ok(19));
      assert.equal(limiter.limit, 8, '19 ms is within 2 × 10 ms');
      limiter.acquire(new Recorder(0, []));
      limiter.release(ok(25));
      assert.equal(limiter.limit, 4, '25 ms is above 2 × 10 ms');
    });

    it('follows a lasting change of the upstream latency instead of shrinking forever', () => {
      const limiter = new ConcurrencyLimiter({ maxConcurrent: 8, maxQueued: 0, queueTimeout: 0, adaptive });
      saturate(limiter, 2, ok(10));
      // The upstream is now 3× slower for good: a few decreases, then the baseline is the new latency and it grows.
      saturate(limiter, 3, ok(30));
      const low = limiter.limit;
      saturate(limiter, 10, ok(30));
      assert.ok(limiter.limit > low, `limit stuck at ${low}`);
      assert.equal(limiter.limit, 8);
    });

    it('grants queued waiters when the limit grows', () => {
      const limiter = new ConcurrencyLimiter({ maxConcurrent: 2, maxQueued: 10, queueTimeout: 10_000, adaptive });
      const log: string[] = [];
      limiter.acquire(new Recorder(0, log));
      limiter.acquire(new Recorder(1, log));
      limiter.acquire(new Recorder(2, log));
      limiter.acquire(new Recorder(3, log));
      limiter.acquire(new Recorder(4, log));
      limiter.release(ok(10));
      assert.deepEqual(log, ['grant 2']);
      // Second completion of the window of 2, in full use: the limit becomes 3, so two waiters start for one release.
      limiter.release(ok(10));
      assert.equal(limiter.limit, 3);
      assert.deepEqual(log, ['grant 2', 'grant 3', 'grant 4']);
      assert.equal(limiter.inflight, 3);
      assert.equal(limiter.queued, 0);
      while (limiter.inflight > 0) limiter.release();
    });
  });
});
