import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, type TestGateway } from '../helpers/gateway.ts';
import { redisSkip, startRedis, until, type RedisServer } from '../helpers/redis.ts';
import { closeSharedStores } from '../../src/limits/stores.ts';

const skip = redisSkip();

async function ready(gw: TestGateway): Promise<{ status: number; body: { status?: string; code?: string; stores?: { redis?: string } } }> {
  const res = await fetch(`${gw.adminUrl}/health/ready`);
  return { status: res.status, body: await res.json() as never };
}

describe('GET /health/ready and the rate-limit store', { skip }, () => {
  let redis: RedisServer;
  before(async () => { redis = await startRedis(); });
  after(async () => {
    await closeSharedStores();
    await redis.close();
  });

  const gateway = (onStoreFailure: string) => startGateway({
    redis: { url: redis.url, timeout: '100ms', connectTimeout: '200ms' },
    routes: [{
      name: 'r', match: { path: '/' },
      plugins: { mock: {}, 'rate-limit': { limits: [{ rate: '100/s' }], by: 'ip', storage: 'redis', onStoreFailure } },
    }],
  });

  it('is 503 while Redis is down when a limit fails closed, and ready again once it is back', async (t) => {
    const gw = await gateway('fail-closed');
    t.after(() => gw.close());
    await until(async () => (await ready(gw)).status === 200, 5000, 'ready with Redis up');
    assert.deepEqual((await ready(gw)).body, { status: 'ready', stores: { redis: 'up' } });
    await redis.kill();
    await until(async () => (await ready(gw)).status === 503, 5000, 'not ready with Redis down');
    const down = await ready(gw);
    assert.equal(down.body.code, 'rate_limit_unavailable');
    assert.deepEqual(down.body.stores, { redis: 'down' });
    await redis.restart();
    await until(async () => (await ready(gw)).status === 200, 10_000, 'ready again');
  });

  it('stays ready, reporting Redis down, when the limits fail open: a Redis outage must not empty the load balancer', async (t) => {
    const gw = await gateway('fail-open');
    t.after(() => gw.close());
    await until(async () => (await ready(gw)).body.stores?.redis === 'up', 5000, 'Redis up');
    await redis.kill();
    await until(async () => (await ready(gw)).body.stores?.redis === 'down', 5000, 'Redis reported down');
    assert.equal((await ready(gw)).status, 200);
    await redis.restart();
  });
});
