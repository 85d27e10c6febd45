import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { simpleConfig, startGateway, startUpstream, type TestUpstream, statuses } from '../helpers/gateway.ts';
import { createHash } from 'node:crypto';
import { rawCommand, redisSkip, startRedis, startRedisCluster, startSilentServer, until, type RedisServer } from '../helpers/redis.ts';
import { closeSharedStores } from '../../src/limits/stores.ts';
import { limitStats } from '../../src/limits/stats.ts';
import type { Logger } from '../../src/core/logger.ts';

const skip = redisSkip(true);

interface Problem { code: string }

/** A logger that keeps its lines, to check that an outage is logged once, not per request. */
function recordingLogger(): Logger & { lines: Array<{ level: string; msg: string }> } {
  const lines: Array<{ level: string; msg: string }> = [];
  const log = (level: string) => (msg: string) => { lines.push({ level, msg }); };
  return { lines, debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') } as unknown as Logger & { lines: typeof lines };
}

describe('rate-limit on Redis', { skip }, () => {
  let redis: RedisServer;
  let up: TestUpstream;
  before(async () => {
    redis = await startRedis();
    up = await startUpstream();
  });
  after(async () => {
    await up?.close();
    await redis?.close();
  });
  afterEach(() => closeSharedStores());

  const route = (name: string, plugin: Record<string, unknown>) => ({ name, match: { path: `/${name}/*` }, plugins: { 'rate-limit': { by: 'ip', storage: 'redis', ...plugin } } });
  const start = (routes: Array<Record<string, unknown>>, logger?: Logger, redisUrl = redis.url) =>
    startGateway(simpleConfig(up.url, routes, { redis: { url: redisUrl, timeout: '200ms' } }), logger === undefined ? {} : { logger });

  it('enforces the limit in Redis, under the key rl:{<policy>:<client>}:<limit> with a TTL', async (t) => {
    const gw = await start([route('keys', { limits: [{ rate: '1/h', burst: 2 }, { id: 'hourly', requests: 10, window: '1h' }] })]);
    t.after(() => gw.close());
    const res = await fetch(`${gw.url}/keys/x`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('ratelimit-policy'), '"burst";q=2;w=7200, "hourly";q=10;w=3600');
    assert.deepEqual(await statuses(`${gw.url}/keys/x`, 2), [200, 429]);
    for (const limit of ['burst', 'hourly']) {
      const key = `expeditor:rl:{route.keys.rate-limit:i=127.0.0.1}:${limit}`;
      assert.equal(await rawCommand(redis.port, `EXISTS ${key}`), ':1\r\n', key);
      const ttl = Number((await rawCommand(redis.port, `PTTL ${key}`)).slice(1));
      assert.ok(ttl > 0 && ttl <= 7_200_000, `${key} has a TTL (${ttl})`);
    }
  });

  it('fail-open: with Redis killed mid-load requests pass unlimited, the outage is logged once; limits resume when it is back', async (t) => {
    const logger = recordingLogger();
    const gw = await start([route('open', { limits: [{ rate: '1/h', burst: 3 }], onStoreFailure: 'fail-open' })], logger);
    t.after(() => gw.close());
    assert.deepEqual(await statuses(`${gw.url}/open/x`, 2), [200, 200]);
    await redis.kill();
    const failedOpen = limitStats.value({ policy: 'route.open.rate-limit', source: 'rate-limit', key: 'ip', outcome: 'failed_open' });
    const during = await statuses(`${gw.url}/open/x`, 10);
    assert.deepEqual(during, Array(10).fill(200));
    assert.equal(limitStats.value({ policy: 'route.open.rate-limit', source: 'rate-limit', key: 'ip', outcome: 'failed_open' }) - failedOpen, 10);
    assert.equal(logger.lines.filter((l) => l.msg.startsWith('rate-limit store unavailable')).length, 1);
    await redis.restart(); // empty: counting starts over
    // Requests pass unchecked until the store answers again; the one that finds it back is counted in Redis.
    const back = () => logger.lines.some((l) => l.msg === 'rate-limit store available again');
    for (const deadline = Date.now() + 10_000; !back();) {
      assert.ok(Date.now() < deadline, 'the store came back');
      assert.deepEqual(await statuses(`${gw.url}/open/x`, 1), [200]);
      if (!back()) await new Promise((r) => setTimeout(r, 50));
    }
    assert.deepEqual(await statuses(`${gw.url}/open/x`, 3), [200, 200, 429]);
  });

  it('fail-closed: with Redis down, 503 rate_limit_unavailable with Retry-After: 1; recovers by itself', async (t) => {
    const gw = await start([route('closed', { limits: [{ rate: '1/h', burst: 2 }], onStoreFailure: 'fail-closed' }), { name: 'free', match: { path: '/free/*' } }]);
    t.after(() => gw.close());
    assert.equal((await fetch(`${gw.url}/closed/x`)).status, 200);
    await redis.kill();
    const res = await fetch(`${gw.url}/closed/x`);
    assert.equal(res.status, 503);
    assert.equal(res.headers.get('retry-after'), '1');
    assert.equal((await res.json() as Problem).code, 'rate_limit_unavailable');
    assert.equal((await fetch(`${gw.url}/free/x`)).status, 200, 'a route without limits does not care');
    await redis.restart();
    await eventuallyStatus(`${gw.url}/closed/x`, 200);
    assert.deepEqual(await statuses(`${gw.url}/closed/x`, 2), [200, 429], 'counting again in Redis (restarted empty)');
  });

  it('fallback-local: with Redis down, this process allows fallbackShare of the limit; Redis decides again once back', async (t) => {
    const gw = await start([route('fallback', { limits: [{ rate: '1/h', burst: 4 }], onStoreFailure: 'fallback-local', fallbackShare: 0.5 })]);
    t.after(() => gw.close());
    assert.deepEqual(await statuses(`${gw.url}/fallback/x`, 4), [200, 200, 200, 200]);
    assert.equal((await fetch(`${gw.url}/fallback/x`)).status, 429, 'Redis counted 4');
    await redis.kill();
    const labels = { policy: 'route.fallback.rate-limit', source: 'rate-limit', key: 'ip' } as const;
    const allowed = limitStats.value({ ...labels, outcome: 'fallback_allowed' });
    const limited = limitStats.value({ ...labels, outcome: 'fallback_limited' });
    // The local fallback knows nothing of Redis's counts: half the limit, from zero.
    assert.deepEqual(await statuses(`${gw.url}/fallback/x`, 3), [200, 200, 429]);
    assert.deepEqual([limitStats.value({ ...labels, outcome: 'fallback_allowed' }) - allowed, limitStats.value({ ...labels, outcome: 'fallback_limited' }) - limited], [2, 1]);
    await redis.restart();
    await eventuallyStatus(`${gw.url}/fallback/x`, 200);
    assert.deepEqual(await statuses(`${gw.url}/fallback/x`, 4), [200, 200, 200, 429], 'Redis decides again (restarted empty)');
  });

  it('kill under load, then restart: each failure policy answers as configured, nothing errors, limits come back', async (t) => {
    // A low limit, so that even a machine slowed down by other tests sees refusals in every phase.
    const limits = [{ rate: '2/s', burst: 3 }];
    const gw = await start([
      route('lo', { limits, onStoreFailure: 'fail-open' }),
      route('lc', { limits, onStoreFailure: 'fail-closed' }),
      route('lf', { limits, onStoreFailure: 'fallback-local', fallbackShare: 0.5 }),
    ]);
    t.after(() => gw.close());
    const results: Array<{ route: string; start: number; end: number; status: number }> = [];
    let running = true;
    const client = async (name: string) => {
      while (running) {
        const start = performance.now();
        const res = await fetch(`${gw.url}/${name}/x`);
        await res.arrayBuffer();
        results.push({ route: name, start, end: performance.now(), status: res.status });
      }
    };
    const clients = ['lo', 'lc', 'lf'].flatMap((name) => [client(name), client(name), client(name)]);
    await new Promise((r) => setTimeout(r, 500));
    const killing = performance.now();
    await redis.kill();
    const killed = performance.now();
    await new Promise((r) => setTimeout(r, 1000));
    const restarting = performance.now();
    await redis.restart();
    const restarted = performance.now();
    // The client reconnects with back-off (up to 2 s): recovered once fail-closed answers something else than 503
    // (requests that arrived while that probe was in flight still got 503: one probe at a time).
    let recovered = Infinity;
    await until(() => {
      recovered = results.find((x) => x.route === 'lc' && x.start >= restarted && x.status !== 503)?.end ?? Infinity;
      return recovered < Infinity;
    }, 10_000, 'the fail-closed route to recover');
    await new Promise((r) => setTimeout(r, 1000));
    running = false;
    await Promise.all(clients);
    const phase = (name: string, from: number, to: number) => results.filter((x) => x.route === name && x.start >= from && x.end <= to).map((x) => x.status);
    const only = (xs: number[], allowed: number[], what: string) => {
      assert.ok(xs.length > 0, `${what}: some requests`);
      assert.deepEqual(xs.filter((x) => !allowed.includes(x)), [], `${what}: only ${allowed.join(' and ')}`);
    };
    assert.deepEqual(results.filter((x) => ![200, 429, 503].includes(x.status)), [], 'no other status, ever');
    for (const name of ['lo', 'lc', 'lf']) {
      const before = phase(name, 0, killing);
      only(before, [200, 429], `${name} before the outage`);
      assert.ok(before.includes(429), `${name} before the outage: limited by Redis`);
    }
    // 100 ms after the kill the connection is known to be down; until the restart begins, Redis answers nothing.
    const down = [killed + 100, restarting] as const;
    only(phase('lo', ...down), [200], 'fail-open during the outage');
    only(phase('lc', ...down), [503], 'fail-closed during the outage');
    const fallback = phase('lf', ...down);
    only(fallback, [200, 429], 'fallback-local during the outage');
    // Half of burst 3 (1) and of 2/s over the outage (about 0.9 s), plus rounding.
    const admitted = fallback.filter((s) => s === 200).length;
    assert.ok(fallback.includes(429) && admitted <= 1 + Math.ceil((restarting - killed) / 1000) + 1, `fallback-local admitted ${admitted} of ${fallback.length}`);
    for (const name of ['lo', 'lc', 'lf']) {
      const back = phase(name, recovered, Infinity);
      only(back, [200, 429], `${name} after the restart`);
      assert.ok(back.includes(429), `${name} after the restart: limited by Redis again`);
    }
  });

  it('a plan in Redis: usage read from Redis, 503 while it is down, back when it returns', async (t) => {
    const gw = await startGateway(simpleConfig(up.url, [{ name: 'planned', match: { path: '/planned/*' }, plugins: { 'key-auth': {} } }], {
      redis: { url: redis.url, timeout: '200ms' },
      plans: { gold: { throttle: { rate: '1/h', burst: 3 }, quota: { limit: 10, period: 'day' }, storage: 'redis' } },
      consumers: { acme: { plan: 'gold', credentials: [{ type: 'key-auth', keyHash: 'sha256:' + createHash('sha256').update('acme-key').digest('hex') }] } },
    }));
    t.after(() => gw.close());
    assert.deepEqual(await statuses(`${gw.url}/planned/x`, 2, { headers: { apikey: 'acme-key' } }), [200, 200]);
    const usage = async () => {
      const res = await fetch(`${gw.adminUrl}/consumers/acme/usage`);
      return { status: res.status, body: await res.json() as { throttle?: { remaining: number }; quota?: { used: number }; code?: string } };
    };
    const before = await usage();
    assert.deepEqual([before.status, before.body.throttle?.remaining, before.body.quota?.used], [200, 1, 2]);
    await redis.kill();
    const down = await usage();
    assert.deepEqual([down.status, down.body.code], [503, 'rate_limit_unavailable']);
    await redis.restart();
    await until(async () => (await usage()).status === 200, 10_000, 'usage readable again');
    assert.equal((await usage()).body.quota?.used, 0, 'Redis restarted empty');
  });

  it('a Redis that hangs costs a limited route at most its timeout, and never stalls an unrelated route', async (t) => {
    const silent = await startSilentServer();
    t.after(() => silent.close());
    const gw = await startGateway(simpleConfig(up.url, [route('stuck', { limits: [{ rate: '1/s' }] }), { name: 'free', match: { path: '/free/*' } }], {
      redis: { url: silent.url, timeout: '1s' },
    }));
    t.after(() => gw.close());
    const t0 = performance.now();
    const slow = Promise.all(Array.from({ length: 20 }, () => fetch(`${gw.url}/stuck/x`).then(async (r) => { await r.arrayBuffer(); return { status: r.status, ms: performance.now() - t0 }; })));
    await new Promise((r) => setTimeout(r, 100));
    const t1 = performance.now();
    assert.equal((await fetch(`${gw.url}/free/x`)).status, 200);
    const free = performance.now() - t1;
    // Well under the 1 s Redis timeout the stuck requests are waiting out.
    assert.ok(free < 500, `an unrelated route answered in ${free.toFixed(0)} ms while Redis hangs`);
    const stuck = await slow;
    assert.deepEqual(stuck.map((x) => x.status), Array(20).fill(200), 'fail-open once the timeout passes');
    assert.ok(stuck.every((x) => x.ms >= 900 && x.ms < 5000), `the limited route waited about the timeout: ${stuck.map((x) => x.ms.toFixed(0)).join(', ')} ms`);
  });

  it('works on a 3-master Redis Cluster: one request\'s limits share a slot, clients spread over the masters', async (t) => {
    const cluster = await startRedisCluster(3);
    t.after(() => cluster.close());
    const gw = await startGateway(simpleConfig(up.url, [route('clustered', { limits: [{ rate: '1/h', burst: 2 }, { id: 'hourly', requests: 5, window: '1h' }] })], {
      redis: { cluster: cluster.urls, timeout: '500ms' }, server: { trustedProxies: ['127.0.0.1', '::1'] },
    }));
    t.after(() => gw.close());
    for (let i = 0; i < 12; i++) {
      assert.deepEqual(await statuses(`${gw.url}/clustered/x`, 3, { headers: { 'x-forwarded-for': `198.51.100.${i}` } }), [200, 200, 429], `client ${i}`);
    }
    const keysPerNode = await Promise.all(cluster.ports.map(async (p) => Number((await rawCommand(p, 'DBSIZE')).slice(1))));
    assert.equal(keysPerNode.reduce((a, b) => a + b, 0), 24, 'two keys per client');
    assert.ok(keysPerNode.filter((n) => n > 0).length >= 2, `clients spread over the masters: ${keysPerNode.join(', ')}`);
    assert.ok(keysPerNode.every((n) => n % 2 === 0), 'both keys of a client on one node');
  });
});

/** Polls until a request gets `status` (the gateway reconnects on its own, with back-off). */
async function eventuallyStatus(url: string, status: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const res = await fetch(url);
    await res.arrayBuffer();
    if (res.status === status) return;
    if (Date.now() > deadline) throw new Error(`${url} still answers ${res.status}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
