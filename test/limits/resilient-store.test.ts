import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as tick } from 'node:timers/promises';
import type { Logger } from '../../src/core/logger.ts';
import { silentLogger } from '../../src/core/logger.ts';
import { MemoryStore } from '../../src/limits/memory-store.ts';
import { RedisStore } from '../../src/limits/redis-store.ts';
import { degradation, FALLBACK_PREFIX, resilientStore } from '../../src/limits/resilient-store.ts';
import { closeSharedStores, localStore, type StoreFailurePolicy } from '../../src/limits/stores.ts';
import { StoreUnavailable, type LimitCheck, type LimitSpec, type LimitState, type LimitStore } from '../../src/limits/types.ts';
import { rawCommand, redisSkip, startRedis, until, type RedisServer } from '../helpers/redis.ts';

const T0 = 1_754_000_000_777;

/** A Logger that keeps every line. */
function capture() {
  const lines: Array<{ level: string; msg: string; fields?: Record<string, unknown> }> = [];
  const logger: Logger = {
    info: (msg, fields) => lines.push({ level: 'info', msg, ...(fields ? { fields } : {}) }),
    warn: (msg, fields) => lines.push({ level: 'warn', msg, ...(fields ? { fields } : {}) }),
    error: (msg, fields) => lines.push({ level: 'error', msg, ...(fields ? { fields } : {}) }),
  };
  return { logger, lines, count: (msg: string) => lines.filter((l) => l.msg === msg).length };
}

/**
 * A primary the test switches: `up` answers from a memory store, `down` rejects with StoreUnavailable, `hang` holds
 * every call until `release()`, which rejects them. Counts the calls it received.
 */
function switchable() {
  const memory = new MemoryStore();
  const held: Array<() => void> = [];
  const p = {
    mode: 'up' as 'up' | 'down' | 'hang' | 'bug',
    calls: 0,
    release() { for (const r of held.splice(0)) r(); },
    store: {
      kind: 'redis',
      hit: (checks, now) => p.answer(() => memory.hit(checks, now)),
      peek: (checks, now) => p.answer(() => memory.peek(checks, now)),
      close: async () => { p.closed = true; },
    } as LimitStore,
    closed: false,
    answer(fn: () => LimitState[]): Promise<LimitState[]> {
      p.calls++;
      if (p.mode === 'up') return Promise.resolve(fn());
      if (p.mode === 'bug') return Promise.reject(new TypeError('a bug'));
      if (p.mode === 'down') return Promise.reject(new StoreUnavailable('down'));
      return new Promise((_, reject) => held.push(() => reject(new StoreUnavailable('timed out'))));
    },
  };
  return p;
}

const minute: LimitSpec = { id: 'minute', algorithm: 'sliding-window', limit: 10, intervalMs: 60_000 };
const one = (key = 'rl:{p:a}:minute', spec = minute): LimitCheck[] => [{ key, spec }];
const DOWN = (policy: StoreFailurePolicy) => `rate-limit store unavailable, now ${policy}`;
const UP = 'rate-limit store available again';

describe('resilientStore', () => {
  it('passes the primary\'s states through untouched while it answers', async () => {
    const p = switchable();
    const log = capture();
    const store = resilientStore(p.store, { policy: 'fail-closed', fallbackShare: 1, logger: log.logger, name: 'r' });
    const [s] = await store.hit(one(), T0);
    assert.deepEqual(s, { allowed: true, limit: 10, remaining: 9, resetMs: 60_000 - (T0 % 60_000), retryAfterMs: 0 });
    assert.equal(degradation(s!), undefined);
    assert.equal(store.kind, 'redis');
    assert.deepEqual(log.lines, []);
  });

  it('fail-open admits every check with remaining = limit, marked, and logs the outage and the recovery once', async () => {
    const p = switchable();
    const log = capture();
    const store = resilientStore(p.store, { policy: 'fail-open', fallbackShare: 1, logger: log.logger, name: 'route-a/rate-limit' });
    p.mode = 'down';
    for (let i = 0; i < 50; i++) {
      const states = await store.hit([...one(), { key: 'rl:{p:a}:other', spec: { ...minute, id: 'other', limit: 3 } }], T0);
      assert.deepEqual(states, [
        { allowed: true, limit: 10, remaining: 10, resetMs: 0, retryAfterMs: 0, degraded: 'fail-open' },
        { allowed: true, limit: 3, remaining: 3, resetMs: 0, retryAfterMs: 0, degraded: 'fail-open' },
      ]);
      assert.equal(degradation(states[0]!), 'fail-open');
    }
    assert.deepEqual(log.lines, [{ level: 'warn', msg: DOWN('fail-open'), fields: { store: 'route-a/rate-limit', error: 'down' } }]);
    p.mode = 'up';
    for (let i = 0; i < 5; i++) assert.equal(degradation((await store.hit(one(), T0))[0]!), undefined);
    assert.deepEqual(log.lines.slice(1), [{ level: 'info', msg: UP, fields: { store: 'route-a/rate-limit' } }]);
  });

  it('fail-closed rejects with StoreUnavailable (the policy answers 503) and logs once', async () => {
    const p = switchable();
    const log = capture();
    const store = resilientStore(p.store, { policy: 'fail-closed', fallbackShare: 1, logger: log.logger, name: 'r' });
    p.mode = 'down';
    for (let i = 0; i < 20; i++) await assert.rejects(async () => store.hit(one(), T0), StoreUnavailable);
    await assert.rejects(async () => store.peek(one(), T0), StoreUnavailable);
    assert.equal(log.count(DOWN('fail-closed')), 1);
  });

  it('fallback-local enforces each limit scaled to fallbackShare, under keys of its own', async () => {
    const p = switchable();
    const local = new MemoryStore();
    const store = resilientStore(p.store, { policy: 'fallback-local', fallbackShare: 0.3, logger: silentLogger, name: 'r', fallback: () => local });
    // A local policy counting under the very same key is not touched by the fallback counters.
    local.hit(one(), T0);
    p.mode = 'down';
    const results = [];
    for (let i = 0; i < 10; i++) results.push((await store.hit(one(), T0))[0]!);
    assert.deepEqual(results.map((s) => s.allowed), [true, true, true, false, false, false, false, false, false, false]);
    assert.deepEqual(results[0], { allowed: true, limit: 3, remaining: 2, resetMs: 60_000 - (T0 % 60_000), retryAfterMs: 0, degraded: 'fallback-local' });
    assert.equal(local.peek(one(), T0)[0]!.remaining, 9);
    assert.equal(local.peek(one(`${FALLBACK_PREFIX}rl:{p:a}:minute`, { ...minute, limit: 3 }), T0)[0]!.remaining, 0);
  });

  it('fallback-local scales a token bucket\'s burst and rate', async () => {
    const p = switchable();
    const local = new MemoryStore();
    const store = resilientStore(p.store, { policy: 'fallback-local', fallbackShare: 0.5, logger: silentLogger, name: 'r', fallback: () => local });
    p.mode = 'down';
    const bucket: LimitSpec = { id: 'tb', algorithm: 'token-bucket', limit: 10, intervalMs: 100 };
    const checks = one('rl:{p:a}:tb', bucket);
    const states = [];
    for (let i = 0; i < 6; i++) states.push((await store.hit(checks, T0))[0]!);
    assert.deepEqual(states.map((s) => s.allowed), [true, true, true, true, true, false]);
    // Burst 5, one request per 200 ms (rate halved).
    assert.deepEqual(states[5], { allowed: false, limit: 5, remaining: 0, resetMs: 1000, retryAfterMs: 200, degraded: 'fallback-local' });
    assert.equal((await store.hit(checks, T0 + 199))[0]!.allowed, false);
    assert.equal((await store.hit(checks, T0 + 200))[0]!.allowed, true);
  });

  it('fallback-local counts in the process-wide local store by default', async () => {
    const p = switchable();
    const store = resilientStore(p.store, { policy: 'fallback-local', fallbackShare: 0.5, logger: silentLogger, name: 'r' });
    p.mode = 'down';
    await store.hit(one('rl:{p:default}:minute'), T0);
    assert.equal(localStore().peek(one(`${FALLBACK_PREFIX}rl:{p:default}:minute`, { ...minute, limit: 5 }), T0)[0]!.remaining, 4);
    await closeSharedStores();
  });

  it('while down, probes the primary one call at a time: the others do not wait for a hanging store', async () => {
    const p = switchable();
    const log = capture();
    const store = resilientStore(p.store, { policy: 'fail-open', fallbackShare: 1, logger: log.logger, name: 'r' });
    p.mode = 'down';
    await store.hit(one(), T0);
    p.mode = 'hang';
    p.calls = 0;
    const probe = store.hit(one(), T0);
    for (let i = 0; i < 10; i++) assert.equal(degradation((await store.hit(one(), T0))[0]!), 'fail-open');
    assert.equal(p.calls, 1);
    p.release();
    assert.equal(degradation((await probe)[0]!), 'fail-open');
    p.mode = 'up';
    assert.equal(degradation((await store.hit(one(), T0))[0]!), undefined);
    assert.deepEqual(log.lines.map((l) => l.msg), [DOWN('fail-open'), UP]);
  });

  it('lets other errors through whatever the policy, without counting them as an outage', async () => {
    const p = switchable();
    const log = capture();
    const store = resilientStore(p.store, { policy: 'fail-open', fallbackShare: 1, logger: log.logger, name: 'r' });
    p.mode = 'bug';
    await assert.rejects(async () => store.hit(one(), T0), TypeError);
    assert.deepEqual(log.lines, []);
  });

  it('refuses a fallbackShare outside (0, 1], and does not close the shared primary', async () => {
    const p = switchable();
    for (const share of [0, -1, 1.5, Number.NaN]) {
      assert.throws(() => resilientStore(p.store, { policy: 'fallback-local', fallbackShare: share, logger: silentLogger, name: 'r' }), RangeError);
    }
    await resilientStore(p.store, { policy: 'fail-open', fallbackShare: 1, logger: silentLogger, name: 'r' }).close();
    assert.equal(p.closed, false);
  });
});

describe('resilientStore over a real Redis that dies and comes back', { skip: redisSkip() }, () => {
  let server: RedisServer;
  before(async () => { server = await startRedis(); });
  after(async () => { await server.close(); });

  let prefix = 0;
  // A dead Redis refuses at once whatever the timeout; 150 ms keeps a busy test machine from timing out a healthy
  // reply (which would be a real, logged, outage). The stall test needs the 50 ms default to measure against.
  const settings = (timeout = 150) => ({ url: server.url, keyPrefix: `r${++prefix}:`, timeout, connectTimeout: 1000 });

  /** Calls `store.hit` from `workers` loops until stopped; records each call's latency and outcome. */
  function load(store: LimitStore, workers: number) {
    const calls: Array<{ ms: number; at: number; states?: readonly LimitState[]; error?: unknown }> = [];
    let stopped = false;
    const spec: LimitSpec = { id: 'load', algorithm: 'sliding-window', limit: 1_000_000, intervalMs: 60_000 };
    const loops = Array.from({ length: workers }, async (_, w) => {
      while (!stopped) {
        const t = performance.now();
        try {
          const states = await store.hit([{ key: `rl:{load:${w}}:load`, spec }], Date.now());
          calls.push({ ms: performance.now() - t, at: t, states });
        } catch (error) {
          calls.push({ ms: performance.now() - t, at: t, error });
        }
        // A rejection that is immediate settles in a microtask: let timers and I/O run between calls.
        await tick();
      }
    });
    return { calls, stop: async () => { stopped = true; await Promise.all(loops); } };
  }

  for (const policy of ['fail-open', 'fail-closed', 'fallback-local'] as const) {
    it(`${policy}: behaves as the policy says from the first failed call, logs once each way, and the shared limit applies again`, async () => {
      const log = capture();
      const s = settings();
      const redis = new RedisStore(s, silentLogger);
      const local = new MemoryStore();
      const store = resilientStore(redis, { policy, fallbackShare: 0.5, logger: log.logger, name: `test/${policy}`, fallback: () => local });
      try {
        await redis.ready();
        const running = load(store, 10);
        await until(() => running.calls.length >= 200, 10_000, '200 calls before the kill');
        const killedAt = performance.now();
        await server.kill();
        await until(() => running.calls.filter((c) => c.at > killedAt + 50).length >= 300, 10_000, '300 calls during the outage');
        await running.stop();

        const during = running.calls.filter((c) => c.at > killedAt + 50);
        for (const c of during) {
          if (policy === 'fail-closed') assert.ok(c.error instanceof StoreUnavailable, String(c.error));
          else assert.equal(c.states && degradation(c.states[0]!), policy);
        }
        const slowest = Math.max(...running.calls.map((c) => c.ms));
        assert.ok(slowest < 200, `slowest call ${slowest} ms`);
        assert.equal(log.count(DOWN(policy)), 1);

        if (policy === 'fallback-local') {
          // The local share of a 10-request limit is 5, exactly.
          const checks = one('rl:{p:outage}:minute');
          let allowed = 0;
          for (let i = 0; i < 20; i++) if ((await store.hit(checks, Date.now()))[0]!.allowed) allowed++;
          assert.equal(allowed, 5);
        }

        await server.restart();
        await until(async () => {
          try {
            return degradation((await store.hit(one('rl:{p:probe}:minute'), Date.now()))[0]!) === undefined;
          } catch {
            return false;
          }
        }, 10_000, 'the shared store to answer again');
        for (let i = 0; i < 20; i++) assert.equal(degradation((await store.hit(one('rl:{p:after}:minute'), Date.now()))[0]!), undefined);
        assert.equal(log.count(DOWN(policy)), 1);
        assert.equal(log.count(UP), 1);
        assert.equal(log.lines.length, 2);

        // Shared again: a second gateway (its own connection) and this one share one limit of 10.
        const other = new RedisStore(s, silentLogger);
        await other.ready();
        const second = resilientStore(other, { policy, fallbackShare: 0.5, logger: silentLogger, name: 'other', fallback: () => local });
        const now = Date.now();
        let allowed = 0;
        for (let i = 0; i < 30; i++) {
          const states = await (i % 2 === 0 ? store : second).hit(one('rl:{p:shared}:minute'), now);
          if (states[0]!.allowed) allowed++;
        }
        assert.equal(allowed, 10);
        await other.close();
      } finally {
        await redis.close();
        if ((await rawCommand(server.port, 'PING').catch(() => '')) === '') await server.restart();
      }
    });
  }

  it('a stalled Redis (DEBUG SLEEP) costs each call at most about the timeout', async () => {
    const log = capture();
    const redis = new RedisStore(settings(50), silentLogger);
    const local = new MemoryStore();
    const store = resilientStore(redis, { policy: 'fallback-local', fallbackShare: 0.5, logger: log.logger, name: 'stall', fallback: () => local });
    try {
      await redis.ready();
      await store.hit(one(), Date.now());
      const sleeping = rawCommand(server.port, 'DEBUG SLEEP 1', 5000);
      await until(() => rawCommand(server.port, 'PING', 100).then(() => false, () => true), 1000, 'the server to stall');
      const times = await Promise.all(Array.from({ length: 50 }, async (_, i) => {
        await new Promise((r) => setTimeout(r, i * 5));
        const t = performance.now();
        const [s] = await store.hit(one(), Date.now());
        assert.equal(degradation(s!), 'fallback-local');
        return performance.now() - t;
      }));
      assert.ok(Math.max(...times) < 200, `slowest ${Math.max(...times)} ms`);
      assert.equal(log.count(DOWN('fallback-local')), 1);
      await sleeping;
      await until(async () => degradation((await store.hit(one(), Date.now()))[0]!) === undefined, 5000, 'recovery');
      assert.equal(log.count(UP), 1);
    } finally {
      await redis.close();
    }
  });
});
