import { after, afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { simpleConfig, startGateway, startUpstream } from '../helpers/gateway.ts';
import { generateApiKey, hashApiKey } from '../../src/identity/api-keys.ts';
import { limitClock } from '../../src/limits/policy.ts';
import { closeSharedStores } from '../../src/limits/stores.ts';

const GOLD = generateApiKey();
const SILVER = generateApiKey();
const FREE = generateApiKey();
const consumers = {
  acme: { plan: 'gold', credentials: [{ type: 'key-auth', keyHash: hashApiKey(GOLD) }] },
  globex: { plan: 'silver', credentials: [{ type: 'key-auth', keyHash: hashApiKey(SILVER) }] },
  hobbyist: { credentials: [{ type: 'key-auth', keyHash: hashApiKey(FREE) }] },
};
const plans = {
  gold: { description: 'Gold tier', throttle: { rate: '1/s', burst: 3 }, quota: { limit: 5, period: 'month', timeZone: 'Europe/Paris' }, allowVolatile: true },
  silver: { throttle: { rate: '1/h', burst: 1 }, routes: ['orders'] },
};

let now = Date.parse('2025-06-15T10:00:00Z');

async function setup(t: { after(fn: () => Promise<void>): void }, extraPlugins: Record<string, unknown> = {}) {
  const up = await startUpstream();
  const gw = await startGateway(simpleConfig(up.url, [
    { name: 'orders', match: { path: '/orders/*' }, plugins: { 'key-auth': {}, ...extraPlugins } },
    { name: 'menu', match: { path: '/menu/*' }, plugins: { 'key-auth': {} } },
  ], { consumers, plans }));
  t.after(async () => { await gw.close(); await up.close(); });
  return { up, gw, admin: gw.adminUrl! };
}

const call = async (url: string, key: string) => {
  const res = await fetch(url, { headers: { apikey: key } });
  const body = res.headers.get('content-type')?.includes('problem') ? await res.json() as { code: string } : (await res.arrayBuffer(), undefined);
  return { status: res.status, code: body?.code, res };
};

describe('usage plans', () => {
  limitClock.now = () => now;
  afterEach(() => closeSharedStores());
  after(() => { limitClock.now = () => Date.now(); });

  it('throttles a subscriber on every covered route with one budget, and leaves others alone', async (t) => {
    const { gw } = await setup(t);
    const first = await call(`${gw.url}/orders/1`, GOLD);
    assert.equal(first.status, 200);
    assert.equal(first.res.headers.get('ratelimit-policy'), '"gold";q=3;w=3, "gold-monthly";q=5;w=2592000');
    // The plan's budget is the consumer's, across routes: 3 at once in all.
    assert.equal((await call(`${gw.url}/menu/1`, GOLD)).status, 200);
    assert.equal((await call(`${gw.url}/orders/2`, GOLD)).status, 200);
    const throttled = await call(`${gw.url}/menu/2`, GOLD);
    assert.deepEqual([throttled.status, throttled.code, throttled.res.headers.get('retry-after')], [429, 'rate_limited', '1']);
    // silver covers only `orders`.
    assert.deepEqual([(await call(`${gw.url}/orders/1`, SILVER)).status, (await call(`${gw.url}/orders/1`, SILVER)).status], [200, 429]);
    for (let i = 0; i < 3; i++) assert.equal((await call(`${gw.url}/menu/1`, SILVER)).status, 200);
    // No plan, no plan limits (and no headers).
    const free = await call(`${gw.url}/orders/1`, FREE);
    assert.equal(free.status, 200);
    assert.equal(free.res.headers.get('ratelimit'), null);
  });

  it('enforces the quota (quota_exceeded); throttled requests use none of it', async (t) => {
    const { gw } = await setup(t);
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      now += 1000;
      statuses.push((await call(`${gw.url}/orders/1`, GOLD)).status);
      statuses.push((await call(`${gw.url}/orders/1`, GOLD)).status);
      statuses.push((await call(`${gw.url}/orders/1`, GOLD)).status);
    }
    // A second apart, each round gets at most the token earned back (after the first burst); 5 pass in all.
    assert.equal(statuses.filter((s) => s === 200).length, 5);
    now += 60_000;
    const over = await call(`${gw.url}/orders/1`, GOLD);
    assert.deepEqual([over.status, over.code], [429, 'quota_exceeded']);
    // Midnight in Paris on July 1st (22:00 UTC on June 30th) starts a new month.
    now = Date.parse('2025-06-30T22:00:00Z');
    assert.equal((await call(`${gw.url}/orders/1`, GOLD)).status, 200);
  });

  it('runs after rate-limit and before quota in the throttle phase', async (t) => {
    const { admin } = await setup(t, { 'rate-limit': { limits: [{ rate: '100/s' }] }, quota: { limit: 100, period: 'day', allowVolatile: true } });
    const routes = await (await fetch(`${admin}/routes`)).json() as { routes: Array<{ name: string; plugins: string[] }> };
    const orders = routes.routes.find((r) => r.name === 'orders')!;
    assert.deepEqual(orders.plugins.filter((p) => ['rate-limit', 'usage-plan', 'quota'].includes(p)), ['rate-limit', 'usage-plan', 'quota']);
    assert.ok(!routes.routes.find((r) => r.name === 'menu')!.plugins.includes('quota'));
  });

  it('GET /plans lists each plan with its subscribers', async (t) => {
    const { admin } = await setup(t);
    const res = await fetch(`${admin}/plans`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), {
      plans: [
        {
          name: 'gold', description: 'Gold tier', throttle: { rate: '1/s', burst: 3 }, quota: { limit: 5, period: 'month', timeZone: 'Europe/Paris' },
          routes: 'all', storage: 'local', onStoreFailure: 'fail-open', subscribers: ['acme'],
        },
        { name: 'silver', throttle: { rate: '1/h', burst: 1 }, quota: null, routes: ['orders'], storage: 'local', onStoreFailure: 'fail-open', subscribers: ['globex'] },
      ],
    });
  });

  it('GET /consumers/:name/usage reports the remaining quota and throttle without using any', async (t) => {
    now = Date.parse('2025-06-15T10:00:00Z');
    const { gw, admin } = await setup(t);
    await call(`${gw.url}/orders/1`, GOLD);
    await call(`${gw.url}/orders/1`, GOLD);
    const usage = async (name: string) => {
      const res = await fetch(`${admin}/consumers/${name}/usage`);
      return { status: res.status, body: await res.json() as Record<string, unknown> };
    };
    const expected = {
      consumer: 'acme', plan: 'gold',
      throttle: { rate: '1/s', burst: 3, remaining: 1, fullInSeconds: 2 },
      quota: {
        limit: 5, used: 2, remaining: 3, period: 'month', timeZone: 'Europe/Paris',
        periodStart: '2025-05-31T22:00:00.000Z', resetsAt: '2025-06-30T22:00:00.000Z', resetInSeconds: 1_339_200,
      },
    };
    assert.deepEqual(await usage('acme'), { status: 200, body: expected });
    assert.deepEqual(await usage('acme'), { status: 200, body: expected }, 'reading usage consumes nothing');
    assert.deepEqual(await usage('hobbyist'), { status: 200, body: { consumer: 'hobbyist', plan: null } });
    assert.equal((await usage('nobody')).status, 404);
  });
});
