import { after, afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { simpleConfig, startGateway, startUpstream } from '../helpers/gateway.ts';
import { generateApiKey, hashApiKey } from '../../src/identity/api-keys.ts';
import { limitClock } from '../../src/limits/policy.ts';
import { closeSharedStores } from '../../src/limits/stores.ts';
import { limitStats } from '../../src/limits/stats.ts';

const ALICE = generateApiKey();
const BOB = generateApiKey();
const consumers = {
  alice: { credentials: [{ type: 'key-auth', keyHash: hashApiKey(ALICE) }] },
  bob: { groups: ['gold'], credentials: [{ type: 'key-auth', keyHash: hashApiKey(BOB) }] },
};

interface Problem { code: string; status: number; detail: string }

// 2025-03-10 in Tokyo (UTC+9, no DST): the day ends at 2025-03-10T15:00:00Z.
let now = Date.parse('2025-03-10T09:00:00Z');

async function setup(t: { after(fn: () => Promise<void>): void }, plugins: Record<string, unknown>) {
  const up = await startUpstream();
  const gw = await startGateway(simpleConfig(up.url, [{ name: 'api', match: { path: '/*' }, plugins: { 'key-auth': {}, ...plugins } }], { consumers }));
  t.after(async () => { await gw.close(); await up.close(); });
  return { up, gw };
}

const get = async (url: string, key: string) => {
  const res = await fetch(url, { headers: { apikey: key } });
  return { res, body: res.status === 200 ? undefined : await res.json() as Problem };
};

describe('quota through a gateway', () => {
  limitClock.now = () => now;
  afterEach(() => closeSharedStores());
  after(() => { limitClock.now = () => Date.now(); });

  it('answers 429 quota_exceeded once the day\'s requests are used, with Retry-After to midnight in the time zone', async (t) => {
    const { up, gw } = await setup(t, { quota: { limit: 3, period: 'day', timeZone: 'Asia/Tokyo', allowVolatile: true } });
    for (let i = 0; i < 3; i++) {
      const { res } = await get(`${gw.url}/x`, ALICE);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('ratelimit-policy'), '"daily";q=3;w=86400');
      assert.equal(res.headers.get('ratelimit'), `"daily";r=${2 - i};t=21600`);
      await res.arrayBuffer();
    }
    const { res, body } = await get(`${gw.url}/x`, ALICE);
    assert.equal(res.status, 429);
    assert.equal(body!.code, 'quota_exceeded');
    assert.equal(res.headers.get('retry-after'), '21600');
    assert.match(body!.detail, /quota "daily" \(3 per day \(Asia\/Tokyo\)\) is used up; it resets at 2025-03-10T15:00:00.000Z/);
    assert.equal(up.requests.length, 3);
    // Another consumer has its own quota.
    assert.equal((await get(`${gw.url}/x`, BOB)).res.status, 200);
    // One millisecond before Tokyo's midnight: still used up. At midnight: a new day.
    now = Date.parse('2025-03-10T14:59:59.999Z');
    assert.equal((await get(`${gw.url}/x`, ALICE)).res.status, 429);
    now = Date.parse('2025-03-10T15:00:00.000Z');
    assert.equal((await get(`${gw.url}/x`, ALICE)).res.status, 200);
  });

  it('a request the rate limit refuses uses no quota (rate-limit runs first)', async (t) => {
    now = Date.parse('2025-03-12T00:00:00Z');
    const { gw } = await setup(t, {
      'rate-limit': { limits: [{ rate: '1/h', burst: 1 }] },
      quota: { limit: 2, period: 'month', allowVolatile: true },
    });
    assert.equal((await get(`${gw.url}/x`, ALICE)).res.status, 200);
    for (let i = 0; i < 5; i++) assert.equal((await get(`${gw.url}/x`, ALICE)).body!.code, 'rate_limited');
    now += 3_600_000;
    const { res } = await get(`${gw.url}/x`, ALICE);
    assert.equal(res.status, 200, 'the second of two monthly requests: the throttled ones did not count');
    assert.equal(res.headers.get('ratelimit-policy'), '"burst";q=1;w=3600, "monthly";q=2;w=2678400');
    now += 3_600_000;
    assert.equal((await get(`${gw.url}/x`, ALICE)).body!.code, 'quota_exceeded');
  });

  it('groups get their own quota; the counts land in the stats registry', async (t) => {
    now = Date.parse('2025-03-12T00:00:00Z');
    const { gw } = await setup(t, { quota: { limit: 1, period: 'week', allowVolatile: true, groups: { gold: { limit: 3 } } } });
    const exceeded = limitStats.value({ policy: 'route.api.quota.group.gold', source: 'quota', key: 'consumer', outcome: 'quota_exceeded' });
    assert.deepEqual(await Promise.all([0, 1].map(async () => (await get(`${gw.url}/x`, ALICE)).res.status)).then((s) => s.sort()), [200, 429]);
    const bob: number[] = [];
    for (let i = 0; i < 4; i++) bob.push((await get(`${gw.url}/x`, BOB)).res.status);
    assert.deepEqual(bob, [200, 200, 200, 429]);
    assert.equal(limitStats.value({ policy: 'route.api.quota.group.gold', source: 'quota', key: 'consumer', outcome: 'quota_exceeded' }) - exceeded, 1);
  });
});
