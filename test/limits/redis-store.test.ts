import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { silentLogger, type Logger } from '../../src/core/logger.ts';
import type { RedisConfigT } from '../../src/config/schema/redis.ts';
import { counterTtl, evaluate } from '../../src/limits/algorithms.ts';
import { MemoryStore } from '../../src/limits/memory-store.ts';
import { KeyLayoutError, RedisStore } from '../../src/limits/redis-store.ts';
import { closeSharedStores, redisStore } from '../../src/limits/stores.ts';
import { StoreUnavailable, type LimitCheck, type LimitSpec, type LimitState } from '../../src/limits/types.ts';
import { rawCommand, redisSkip, startRedis, startSilentServer, until, type RedisServer } from '../helpers/redis.ts';

const skip = redisSkip();

let prefixes = 0;
/**
 * Settings with a prefix of their own, so tests sharing the server never share counters. The timeout is generous
 * (a loaded CI box must not fail a parity test on a slow reply); the failure tests use the default 50 ms.
 */
function settings(url: string, extra: Partial<RedisConfigT> = {}): RedisConfigT {
  return { url, keyPrefix: `t${++prefixes}:`, timeout: 1000, connectTimeout: 1000, ...extra };
}

/** A deterministic pseudo-random sequence (LCG), so a failing run can be replayed. */
function random(seed: number) {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

const SPECS: LimitSpec[] = [
  { id: 'tb3', algorithm: 'token-bucket', limit: 5, intervalMs: 1000 / 3 },
  { id: 'tb7', algorithm: 'token-bucket', limit: 2, intervalMs: 1000 / 7 },
  { id: 'sw1', algorithm: 'sliding-window', limit: 7, intervalMs: 1000 },
  { id: 'sw5', algorithm: 'sliding-window', limit: 20, intervalMs: 5000 },
  { id: 'cal', algorithm: 'calendar', limit: 30, intervalMs: 0 },
];

function check(client: string, spec: LimitSpec, now: number): LimitCheck {
  const key = `rl:{p:${client}}:${spec.id}`;
  if (spec.algorithm !== 'calendar') return { key, spec };
  // A 10 s "period", so the sequence crosses several.
  const start = Math.floor(now / 10_000) * 10_000;
  return { key, spec, period: { start, end: start + 10_000 } };
}

describe('RedisStore', { skip }, () => {
  let server: RedisServer;
  let inspect: Redis;
  const stores: RedisStore[] = [];
  const open = async (s: RedisConfigT) => {
    const store = new RedisStore(s, silentLogger);
    stores.push(store);
    await store.ready();
    return store;
  };

  before(async () => {
    server = await startRedis();
    inspect = new Redis(server.url);
  });
  after(async () => {
    await Promise.all(stores.map((s) => s.close()));
    inspect.disconnect();
    await server.close();
  });

  it('gives the same states as the local store, call for call, for the same `now` (all three algorithms)', async () => {
    const redis = await open(settings(server.url));
    const local = new MemoryStore();
    const rnd = random(42);
    // Simulated time is the real clock plus an offset that only grows (by the step, and 2 ms more per call), so it
    // always runs ahead of Redis's own clock: a counter Redis has expired (by its clock) has expired for the local
    // store too. Redis keeping one longer is harmless: an expired counter means the same as none.
    let offset = 0;
    let now = 0;
    let allowed = 0;
    let refused = 0;
    for (let call = 0; call < 1500; call++) {
      // Mostly bursts (same-ms calls but for the 2 ms), now and then a pause long enough for limits to refill.
      const r = rnd();
      offset += (r < 0.01 ? 3000 : r < 0.1 ? 30 : 0) + 2;
      now = Date.now() + offset;
      const client = `c${Math.floor(rnd() * 3)}`;
      const chosen = SPECS.filter(() => rnd() < 0.5);
      if (chosen.length === 0) chosen.push(SPECS[Math.floor(rnd() * SPECS.length)]!);
      const checks = chosen.map((spec) => check(client, spec, now));
      const peek = rnd() < 0.15;
      const expected = peek ? local.peek(checks, now) : local.hit(checks, now);
      const actual = peek ? await redis.peek(checks, now) : await redis.hit(checks, now);
      assert.deepStrictEqual(actual, expected, `call ${call} (${peek ? 'peek' : 'hit'} ${checks.map((c) => c.key).join(' ')} at ${now})`);
      for (const s of actual) s.allowed ? allowed++ : refused++;
    }
    // The sequence exercised both outcomes plenty.
    assert.ok(allowed > 500 && refused > 500, `allowed ${allowed}, refused ${refused}`);
  });

  it('is all-or-nothing across limits: a refusal by one limit writes no counter', async () => {
    const s = settings(server.url);
    const redis = await open(s);
    const now = Date.now();
    const wide: LimitSpec = { id: 'wide', algorithm: 'sliding-window', limit: 100, intervalMs: 60_000 };
    const narrow: LimitSpec = { id: 'narrow', algorithm: 'calendar', limit: 2, intervalMs: 0 };
    const period = { start: now - 1000, end: now + 3_600_000 };
    const checks: LimitCheck[] = [{ key: '{c}:wide', spec: wide }, { key: '{c}:narrow', spec: narrow, period }];
    await redis.hit(checks, now);
    await redis.hit(checks, now);
    const before = await inspect.get(`${s.keyPrefix}{c}:wide`);
    for (let i = 0; i < 5; i++) {
      const [w, n] = await redis.hit(checks, now);
      assert.equal(n!.allowed, false);
      assert.deepEqual([w!.allowed, w!.remaining], [true, 98]);
    }
    assert.equal(await inspect.get(`${s.keyPrefix}{c}:wide`), before);
    // The wide limit alone still has its 98.
    assert.equal((await redis.hit([checks[0]!], now))[0]!.remaining, 97);
  });

  it('stores `${keyPrefix}${check.key}` with an expiry no longer than the counter is needed', async () => {
    const s = settings(server.url, { keyPrefix: 'gw-test:' });
    const redis = await open(s);
    const now = Date.now();
    const checks: LimitCheck[] = [
      { key: 'rl:{ttl}:tb', spec: { id: 'tb', algorithm: 'token-bucket', limit: 10, intervalMs: 1000 / 3 } },
      { key: 'rl:{ttl}:sw', spec: { id: 'sw', algorithm: 'sliding-window', limit: 10, intervalMs: 60_000 } },
      { key: 'rl:{ttl}:cal', spec: { id: 'cal', algorithm: 'calendar', limit: 10, intervalMs: 0 }, period: { start: now - 10, end: now + 86_400_000 } },
    ];
    await redis.hit(checks, now);
    await redis.hit(checks, now);
    assert.deepEqual((await inspect.keys('gw-test:*')).sort(), ['gw-test:rl:{ttl}:cal', 'gw-test:rl:{ttl}:sw', 'gw-test:rl:{ttl}:tb']);
    // What the local store would keep each counter for, after the same two hits.
    let counters = checks.map(() => undefined as ReturnType<typeof evaluate>['next'] | undefined);
    for (let i = 0; i < 2; i++) counters = checks.map((c, j) => evaluate(c, counters[j], now).next);
    for (let j = 0; j < checks.length; j++) {
      const pttl = await inspect.pttl(`gw-test:${checks[j]!.key}`);
      const expected = Math.ceil(counterTtl(checks[j]!, counters[j]!, now));
      assert.ok(pttl > 0 && pttl <= expected, `${checks[j]!.key}: PTTL ${pttl}, at most ${expected}`);
      assert.ok(pttl > expected - 1000, `${checks[j]!.key}: PTTL ${pttl} far below ${expected}`);
    }
  });

  it('admits exactly the limit under 300 concurrent hits from three connections (atomic per call)', async () => {
    const s = settings(server.url);
    const nodes = [await open(s), await open(s), await open(s)];
    const now = Date.now();
    const spec: LimitSpec = { id: 'hundred', algorithm: 'sliding-window', limit: 100, intervalMs: 60_000 };
    const bucket: LimitSpec = { id: 'burst', algorithm: 'token-bucket', limit: 100, intervalMs: 60_000 };
    const results = await Promise.all(Array.from({ length: 300 }, (_, i) =>
      nodes[i % 3]!.hit([{ key: '{hot}:hundred', spec }, { key: '{hot}:burst', spec: bucket }], now)));
    assert.equal(results.filter((r) => r.every((x) => x.allowed)).length, 100);
    assert.equal(results.filter((r) => r.some((x) => x.allowed !== r[0]!.allowed)).length, 0);
    // Every remaining value from 99 down to 0 was handed out once.
    assert.deepEqual(results.filter((r) => r[0]!.allowed).map((r) => r[0]!.remaining).sort((a, b) => a - b), Array.from({ length: 100 }, (_, i) => i));
  });

  it('refuses keys of one call that do not share a hash tag, before sending anything', async () => {
    const s = settings(server.url);
    const redis = await open(s);
    const spec = SPECS[2]!;
    await assert.rejects(redis.hit([{ key: 'rl:{a}:x', spec }, { key: 'rl:{b}:y', spec }], Date.now()), KeyLayoutError);
    await assert.rejects(redis.hit([{ key: 'rl:a:x', spec }, { key: 'rl:a:y', spec }], Date.now()), /share one hash tag/);
    assert.deepEqual(await inspect.keys(`${s.keyPrefix}*`), []);
    // One check needs no tag; several with the same tag are fine.
    assert.equal((await redis.hit([{ key: 'rl:a:x', spec }], Date.now()))[0]!.allowed, true);
    assert.equal((await redis.hit([{ key: 'rl:{a}:x', spec }, { key: 'x:{a}:y', spec }], Date.now())).length, 2);
    assert.deepEqual(await redis.hit([], Date.now()), []);
  });

  it('loads the script again when Redis has forgotten it (SCRIPT FLUSH: NOSCRIPT, then EVAL)', async () => {
    const redis = await open(settings(server.url));
    const checks = [{ key: '{f}:x', spec: SPECS[2]! }];
    await redis.hit(checks, Date.now());
    await inspect.script('FLUSH');
    const [state] = await redis.hit(checks, Date.now());
    assert.equal(state!.remaining, 5);
  });

  it('shares one store per distinct settings, and closeSharedStores closes them', async () => {
    const s = settings(server.url);
    const a = redisStore(s, silentLogger);
    assert.equal(redisStore({ ...s }, silentLogger), a);
    assert.equal(redisStore({ ...s, timeout: '1s' }, silentLogger), a);
    assert.notEqual(redisStore({ ...s, keyPrefix: 'other:' }, silentLogger), a);
    await (a as RedisStore).ready();
    assert.equal((await a.hit([{ key: 'k', spec: SPECS[2]! }], Date.now()))[0]!.allowed, true);
    await closeSharedStores();
    await assert.rejects(async () => a.hit([{ key: 'k', spec: SPECS[2]! }], Date.now()), StoreUnavailable);
    assert.notEqual(redisStore(s, silentLogger), a);
    await closeSharedStores();
  });
});

describe('RedisStore when Redis fails', { skip }, () => {
  const spec: LimitSpec = { id: 'm', algorithm: 'sliding-window', limit: 1000, intervalMs: 60_000 };
  const checks: LimitCheck[] = [{ key: '{f}:m', spec }];

  /** Runs `fn` and returns how long it took and how it ended. */
  async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value?: T; error?: unknown }> {
    const t = performance.now();
    try {
      const value = await fn();
      return { ms: performance.now() - t, value };
    } catch (error) {
      return { ms: performance.now() - t, error };
    }
  }

  it('rejects with StoreUnavailable at once while Redis is down, works again when it is back, and logs each once', async () => {
    const server = await startRedis();
    const lines: string[] = [];
    const logger: Logger = { info: (m) => lines.push(`info ${m}`), warn: (m) => lines.push(`warn ${m}`), error: (m) => lines.push(`error ${m}`) };
    // A refused connection fails at once whatever the timeout; 150 ms keeps a busy machine from timing out a
    // healthy reply in the handshake after the restart (a real reconnect, logged).
    const store = new RedisStore(settings(server.url, { timeout: 150 }), logger);
    try {
      await store.ready();
      await store.hit(checks, Date.now());
      await server.kill();
      for (let i = 0; i < 50; i++) {
        const r = await timed(() => store.hit(checks, Date.now()));
        assert.ok(r.error instanceof StoreUnavailable, `call ${i}: ${String(r.error)}`);
        assert.ok(r.ms < 200, `call ${i} took ${r.ms} ms`);
      }
      await server.restart();
      await until(async () => (await store.hit(checks, Date.now()))[0]!.allowed, 10_000, 'the store to reconnect');
      assert.deepEqual(lines, ['warn redis connection lost; reconnecting', 'info redis connection ready']);
    } finally {
      await store.close();
      await server.close();
    }
  });

  it('rejects with StoreUnavailable within the timeout when Redis stalls (DEBUG SLEEP), then recovers', async () => {
    const server = await startRedis();
    const store = new RedisStore(settings(server.url, { timeout: 50 }), silentLogger);
    try {
      await store.ready();
      await store.hit(checks, Date.now());
      const sleeping = rawCommand(server.port, 'DEBUG SLEEP 2', 5000);
      // DEBUG SLEEP blocks the server: wait until it has begun (a PING goes unanswered).
      await until(() => rawCommand(server.port, 'PING', 100).then(() => false, () => true), 1000, 'the server to stall');
      for (let i = 0; i < 5; i++) {
        const r = await timed(() => store.hit(checks, Date.now()));
        assert.ok(r.error instanceof StoreUnavailable, String(r.error));
        assert.match((r.error as Error).message, /timed out/i);
        assert.ok(r.ms >= 45 && r.ms < 200, `took ${r.ms} ms`);
      }
      await sleeping;
      await until(async () => (await store.hit(checks, Date.now()))[0]!.allowed, 5000, 'answers again');
    } finally {
      await store.close();
      await server.close();
    }
  });

  it('rejects with StoreUnavailable within the timeout when the server accepts connections but never answers', async () => {
    const silent = await startSilentServer();
    const store = new RedisStore(settings(silent.url, { timeout: 50 }), silentLogger);
    try {
      for (let i = 0; i < 5; i++) {
        const r = await timed(() => store.hit(checks, Date.now()));
        assert.ok(r.error instanceof StoreUnavailable, String(r.error));
        assert.ok(r.ms < 200, `took ${r.ms} ms`);
      }
    } finally {
      await store.close();
      await silent.close();
    }
  });

  it('rejects with StoreUnavailable when nothing listens, without an unhandled error', async () => {
    const server = await startRedis();
    const url = server.url;
    await server.close();
    const store = new RedisStore(settings(url, { timeout: 50 }), silentLogger);
    try {
      const r = await timed(() => store.hit(checks, Date.now()));
      assert.ok(r.error instanceof StoreUnavailable, String(r.error));
      assert.ok(r.ms < 200, `took ${r.ms} ms`);
    } finally {
      await store.close();
    }
  });
});
