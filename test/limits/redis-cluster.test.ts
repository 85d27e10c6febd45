import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger, type Logger } from '../../src/core/logger.ts';
import { MemoryStore } from '../../src/limits/memory-store.ts';
import { KeyLayoutError, RedisStore } from '../../src/limits/redis-store.ts';
import { StoreUnavailable, type LimitCheck, type LimitSpec } from '../../src/limits/types.ts';
import { rawCommand, redisSkip, startRedisCluster, type RedisCluster } from '../helpers/redis.ts';

const perSecond: LimitSpec = { id: 'second', algorithm: 'token-bucket', limit: 3, intervalMs: 1000 / 3 };
const perMinute: LimitSpec = { id: 'minute', algorithm: 'sliding-window', limit: 5, intervalMs: 60_000 };

/** The layout policies use: the client's identity as the hash tag, one key per limit. */
const checks = (client: string): LimitCheck[] => [
  { key: `rl:{route-a:${client}}:second`, spec: perSecond },
  { key: `rl:{route-a:${client}}:minute`, spec: perMinute },
];

/** An integer reply (`:N\r\n`). */
const integer = (reply: string) => Number(/^:(-?\d+)/.exec(reply)![1]);

describe('RedisStore on a Redis Cluster of three masters', { skip: redisSkip(true) }, () => {
  let cluster: RedisCluster;
  let store: RedisStore;
  const prefix = 'gw:';
  const logged: string[] = [];
  const logger: Logger = { info: (m) => logged.push(`info ${m}`), warn: (m) => logged.push(`warn ${m}`), error: (m) => logged.push(`error ${m}`) };

  before(async () => {
    cluster = await startRedisCluster(3);
    // A generous timeout: these tests are about placement and numbers, on a test machine that may be busy.
    store = new RedisStore({ cluster: cluster.urls, keyPrefix: prefix, timeout: 1000, connectTimeout: 2000 }, silentLogger);
    await store.ready(10_000);
  });
  after(async () => {
    await store?.close();
    await cluster?.close();
  });

  it('serves many clients spread over every master, each client\'s keys in one slot, with the local store\'s numbers', async () => {
    const local = new MemoryStore();
    const now = Date.now();
    const clients = Array.from({ length: 200 }, (_, i) => `consumer-${i}`);
    // Six hits each: three pass the per-second bucket, the rest are refused by it.
    for (let round = 0; round < 6; round++) {
      const results = await Promise.all(clients.map((c) => store.hit(checks(c), now)));
      for (let i = 0; i < clients.length; i++) assert.deepStrictEqual(results[i], local.hit(checks(clients[i]!), now), `${clients[i]} round ${round}`);
    }
    const sizes = await Promise.all(cluster.ports.map(async (port) => integer(await rawCommand(port, 'DBSIZE'))));
    assert.equal(sizes.reduce((a, b) => a + b, 0), 400);
    for (const size of sizes) assert.ok(size > 50, `keys per master: ${sizes.join(', ')}`);
    // Both keys of a client sit on one node, in one slot.
    for (const c of clients.slice(0, 20)) {
      const [a, b] = checks(c).map((x) => prefix + x.key);
      const slots = await Promise.all([a, b].map(async (k) => integer(await rawCommand(cluster.ports[0]!, `CLUSTER KEYSLOT ${k}`))));
      assert.equal(slots[0], slots[1]);
      const holders = await Promise.all(cluster.ports.map(async (port) => (await rawCommand(port, `EXISTS ${a} ${b}`)).startsWith(':2')));
      assert.equal(holders.filter(Boolean).length, 1, `${c}: both keys on exactly one master`);
    }
  });

  it('refuses keys of one call that would span slots, with KeyLayoutError (not a CROSSSLOT round trip)', async () => {
    await assert.rejects(store.hit([
      { key: 'rl:{route-a:x}:second', spec: perSecond },
      { key: 'rl:{route-b:x}:minute', spec: perMinute },
    ], Date.now()), KeyLayoutError);
  });

  it('admits exactly the limit under concurrent hits on one client', async () => {
    const now = Date.now();
    const results = await Promise.all(Array.from({ length: 50 }, () => store.hit(checks('hot'), now)));
    assert.equal(results.filter((r) => r.every((s) => s.allowed)).length, 3);
  });

  // Last: it takes a master down for good.
  it('when a master dies, calls for its slots reject with StoreUnavailable within the timeout; the others still answer', async (t) => {
    const tight = new RedisStore({ cluster: cluster.urls, keyPrefix: prefix, timeout: 200, connectTimeout: 2000 }, logger);
    t.after(() => tight.close());
    await tight.ready(10_000);
    await cluster.kill(2);
    const outcomes = await Promise.all(Array.from({ length: 60 }, async (_, i) => {
      const t = performance.now();
      try {
        await tight.hit(checks(`after-${i}`), Date.now());
        return { ok: true, ms: performance.now() - t };
      } catch (err) {
        assert.ok(err instanceof StoreUnavailable, String(err));
        return { ok: false, ms: performance.now() - t };
      }
    }));
    assert.ok(outcomes.some((o) => !o.ok), 'some clients live on the dead master');
    assert.ok(outcomes.some((o) => o.ok), 'the other masters still answer (until the cluster marks itself down)');
    const slowest = Math.max(...outcomes.map((o) => o.ms));
    assert.ok(slowest < 350, `slowest call ${slowest} ms (timeout 200 ms)`);
    // The lost master is logged once, not at every call or reconnect attempt, and no recovery is claimed.
    for (let i = 0; i < 20; i++) await tight.hit(checks(`later-${i}`), Date.now()).catch(() => undefined);
    assert.deepEqual(logged, ['warn redis connection lost; reconnecting']);
  });
});
