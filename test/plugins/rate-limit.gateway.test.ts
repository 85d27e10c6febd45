import { after, afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { simpleConfig, startGateway, startUpstream, statuses } from '../helpers/gateway.ts';
import { generateApiKey, hashApiKey } from '../../src/identity/api-keys.ts';
import { limitClock } from '../../src/limits/policy.ts';
import { closeSharedStores, localStore } from '../../src/limits/stores.ts';
import { limitStats } from '../../src/limits/stats.ts';
import { ConfigError } from '../../src/config/errors.ts';

const ALICE = generateApiKey();
const ALICE_2 = generateApiKey();
const BOB = generateApiKey();
const GOLDIE = generateApiKey();
const VIP = generateApiKey();

const consumers = {
  alice: { credentials: [{ type: 'key-auth', id: 'laptop', keyHash: hashApiKey(ALICE) }, { type: 'key-auth', id: 'phone', keyHash: hashApiKey(ALICE_2) }] },
  bob: { credentials: [{ type: 'key-auth', keyHash: hashApiKey(BOB) }] },
  goldie: { groups: ['silver', 'gold'], credentials: [{ type: 'key-auth', keyHash: hashApiKey(GOLDIE) }] },
  vip: {
    credentials: [{ type: 'key-auth', keyHash: hashApiKey(VIP) }],
    plugins: { 'rate-limit': { limits: [{ rate: '1/h', burst: 5 }] } },
  },
  guest: {},
};

interface Problem { code: string; status: number; detail: string; requestId: string }

let now = 1_754_000_000_000;
const step = (ms: number) => { now += ms; };

async function setup(t: { after(fn: () => Promise<void>): void }, routes: Array<Record<string, unknown>>, extra: Record<string, unknown> = {}) {
  const up = await startUpstream();
  const gw = await startGateway(simpleConfig(up.url, routes, { consumers, ...extra }));
  t.after(async () => { await gw.close(); await up.close(); });
  return { up, gw };
}

describe('rate-limit through a gateway', () => {
  limitClock.now = () => now;
  // Counters live in a process-wide store (they survive reloads); each test starts with none.
  afterEach(() => closeSharedStores());
  after(() => { limitClock.now = () => Date.now(); });

  it('admits exactly the burst, then answers 429 rate_limited with Retry-After before the upstream; refills on time', async (t) => {
    const { up, gw } = await setup(t, [{ name: 'api', match: { path: '/*' }, plugins: { 'rate-limit': { limits: [{ rate: '2/s', burst: 3 }], by: 'ip' } } }]);
    const ok = await fetch(`${gw.url}/x`);
    assert.equal(ok.status, 200);
    assert.equal(ok.headers.get('ratelimit-policy'), '"burst";q=3;w=2');
    assert.equal(ok.headers.get('ratelimit'), '"burst";r=2;t=1');
    assert.deepEqual(await statuses(`${gw.url}/x`, 2), [200, 200]);
    const refused = await fetch(`${gw.url}/x`);
    assert.equal(refused.status, 429);
    assert.equal(refused.headers.get('content-type'), 'application/problem+json');
    assert.equal(refused.headers.get('retry-after'), '1');
    assert.equal(refused.headers.get('ratelimit'), '"burst";r=0;t=2');
    const body = await refused.json() as Problem;
    assert.equal(body.code, 'rate_limited');
    assert.match(body.detail, /rate limit "burst" \(3 at once, then 2\/s\) exceeded; retry in 1 s/);
    assert.equal(up.requests.length, 3, 'the refused request never reached the upstream');
    step(499);
    assert.equal((await fetch(`${gw.url}/x`)).status, 429, 'one token takes 500 ms');
    step(1);
    assert.deepEqual(await statuses(`${gw.url}/x`, 2), [200, 429]);
  });

  it('Retry-After is exact to the second for a slow rate', async (t) => {
    const { gw } = await setup(t, [{ name: 'slow', match: { path: '/*' }, plugins: { 'rate-limit': { limits: [{ rate: '6/m', burst: 1 }], by: 'ip' } } }]);
    assert.equal((await fetch(`${gw.url}/x`)).status, 200);
    step(2_500);
    const refused = await fetch(`${gw.url}/x`);
    assert.equal(refused.headers.get('retry-after'), '8'); // 7.5 s to the next request, rounded up
    step(7_499);
    assert.equal((await fetch(`${gw.url}/x`)).status, 429);
    step(1);
    assert.equal((await fetch(`${gw.url}/x`)).status, 200);
  });

  it('a spoofed X-Forwarded-For from an untrusted peer does not mint new buckets', async (t) => {
    const { gw } = await setup(t, [{ name: 'api', match: { path: '/*' }, plugins: { 'rate-limit': { limits: [{ rate: '1/h', burst: 2 }], by: 'ip' } } }]);
    assert.deepEqual(await statuses(`${gw.url}/x`, 2), [200, 200]);
    const before = localStore().size;
    for (let i = 0; i < 20; i++) {
      const res = await fetch(`${gw.url}/x`, { headers: { 'x-forwarded-for': `203.0.113.${i}` } });
      assert.equal(res.status, 429, `spoofed address ${i}`);
    }
    assert.equal(localStore().size, before, 'no counter was created for the spoofed addresses');
  });

  it('behind a trusted proxy, each forwarded client address has its own bucket', async (t) => {
    const { gw } = await setup(t, [{ name: 'api', match: { path: '/*' }, plugins: { 'rate-limit': { limits: [{ rate: '1/h', burst: 1 }], by: 'ip' } } }], {
      server: { trustedProxies: ['127.0.0.1', '::1'] },
    });
    for (const ip of ['203.0.113.1', '203.0.113.2', '203.0.113.3']) {
      assert.deepEqual(await statuses(`${gw.url}/x`, 2, { headers: { 'x-forwarded-for': ip } }), [200, 429], ip);
    }
  });

  it('by consumer: each consumer has its own budget; an anonymous client falls back to its address', async (t) => {
    const { gw } = await setup(t, [{
      name: 'api', match: { path: '/*' }, auth: { anonymous: 'guest' },
      plugins: { 'key-auth': {}, 'rate-limit': { limits: [{ rate: '1/h', burst: 2 }] } },
    }, {
      name: 'open', match: { path: '/open/*' }, plugins: { 'rate-limit': { limits: [{ rate: '1/h', burst: 1 }] } },
    }]);
    assert.deepEqual(await statuses(`${gw.url}/x`, 3, { headers: { apikey: ALICE } }), [200, 200, 429]);
    assert.deepEqual(await statuses(`${gw.url}/x`, 1, { headers: { apikey: ALICE_2 } }), [429], 'both of alice\'s keys share her budget');
    assert.deepEqual(await statuses(`${gw.url}/x`, 3, { headers: { apikey: BOB } }), [200, 200, 429]);
    // A route without authentication has no consumer: counted by client address (whenMissing: ip).
    assert.deepEqual(await statuses(`${gw.url}/open/x`, 2), [200, 429]);
  });

  it('by credential: each API key has its own budget', async (t) => {
    const { gw } = await setup(t, [{ name: 'api', match: { path: '/*' }, plugins: { 'key-auth': {}, 'rate-limit': { limits: [{ rate: '1/h', burst: 1 }], by: 'credential' } } }]);
    assert.deepEqual(await statuses(`${gw.url}/x`, 2, { headers: { apikey: ALICE } }), [200, 429]);
    assert.deepEqual(await statuses(`${gw.url}/x`, 2, { headers: { apikey: ALICE_2 } }), [200, 429]);
  });

  it('by header, with whenMissing: skip leaving requests without it unlimited', async (t) => {
    const { gw } = await setup(t, [{ name: 'api', match: { path: '/*' }, plugins: { 'rate-limit': { limits: [{ rate: '1/h', burst: 1 }], by: 'header:X-Tenant', whenMissing: 'skip' } } }]);
    assert.deepEqual(await statuses(`${gw.url}/x`, 2, { headers: { 'x-tenant': 'acme' } }), [200, 429]);
    assert.deepEqual(await statuses(`${gw.url}/x`, 2, { headers: { 'x-tenant': 'globex' } }), [200, 429]);
    assert.deepEqual(await statuses(`${gw.url}/x`, 3), [200, 200, 200]);
  });

  it('groups: consumers of a group get its limits; a consumer-scope config replaces the route\'s for that consumer', async (t) => {
    const { gw } = await setup(t, [{
      name: 'api', match: { path: '/*' },
      plugins: { 'key-auth': {}, 'rate-limit': { limits: [{ rate: '1/h', burst: 1 }], groups: { gold: { limits: [{ rate: '1/h', burst: 3 }] } } } },
    }]);
    assert.deepEqual(await statuses(`${gw.url}/x`, 2, { headers: { apikey: BOB } }), [200, 429]);
    assert.deepEqual(await statuses(`${gw.url}/x`, 4, { headers: { apikey: GOLDIE } }), [200, 200, 200, 429]);
    assert.deepEqual(await statuses(`${gw.url}/x`, 6, { headers: { apikey: VIP } }), [200, 200, 200, 200, 200, 429]);
  });

  it('a global rate limit by route and ip counts each route apart; several limits are all enforced', async (t) => {
    const { gw } = await setup(t, [{ name: 'a', match: { path: '/a' } }, { name: 'b', match: { path: '/b' } }], {
      plugins: { 'rate-limit': { limits: [{ rate: '1/s', burst: 3 }, { id: 'minute', requests: 4, window: '1m' }], by: ['route', 'ip'], headers: { legacy: true } } },
    });
    assert.deepEqual(await statuses(`${gw.url}/a`, 4), [200, 200, 200, 429]);
    const b = await fetch(`${gw.url}/b`);
    assert.equal(b.status, 200);
    assert.equal(b.headers.get('ratelimit-policy'), '"burst";q=3;w=3, "minute";q=4;w=60');
    assert.equal(b.headers.get('x-ratelimit-limit'), '3');
    assert.equal(b.headers.get('x-ratelimit-remaining'), '2');
    step(10_000);
    // The burst is whole again, the minute window is not: one more, then "minute" refuses.
    const last = await fetch(`${gw.url}/a`);
    assert.equal(last.status, 200);
    assert.match(last.headers.get('ratelimit') ?? '', /^"minute";r=0;t=\d+$/);
    const refused = await fetch(`${gw.url}/a`);
    assert.equal(refused.status, 429);
    assert.match((await refused.json() as Problem).detail, /rate limit "minute"/);
  });

  it('counts allowed and limited requests per policy and key class', async (t) => {
    const { gw } = await setup(t, [{ name: 'counted', match: { path: '/*' }, plugins: { 'rate-limit': { limits: [{ rate: '1/h', burst: 2 }], by: 'ip' } } }]);
    const labels = { policy: 'route.counted.rate-limit', source: 'rate-limit', key: 'ip' } as const;
    const allowed = limitStats.value({ ...labels, outcome: 'allowed' });
    const limited = limitStats.value({ ...labels, outcome: 'rate_limited' });
    await statuses(`${gw.url}/x`, 5);
    assert.equal(limitStats.value({ ...labels, outcome: 'allowed' }) - allowed, 2);
    assert.equal(limitStats.value({ ...labels, outcome: 'rate_limited' }) - limited, 3);
  });

  it('refuses storage: redis without a root redis section, naming the path', async () => {
    await assert.rejects(startGateway(simpleConfig('http://127.0.0.1:9', [{ name: 'api', match: { path: '/*' }, plugins: { 'rate-limit': { limits: [{ rate: '1/s' }], storage: 'redis' } } }])), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.deepEqual(err.issues.map((i) => i.path), ['routes[0].plugins.rate-limit.storage']);
      assert.match(err.issues[0]!.message, /no root `redis` section/);
      return true;
    });
  });
});
