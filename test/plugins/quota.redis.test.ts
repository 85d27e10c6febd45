import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnGateway } from '../helpers/process.ts';
import { redisSkip, startRedis, type RedisServer } from '../helpers/redis.ts';
import { generateApiKey, hashApiKey } from '../../src/identity/api-keys.ts';

const skip = redisSkip();
const KEY = generateApiKey();

/** Quotas and plans in Redis outlive the gateway process: a restart (or a deploy) does not hand out a fresh quota. */
describe('quota and plan counters in Redis survive a gateway restart', { skip }, () => {
  let redis: RedisServer;
  before(async () => { redis = await startRedis(); });
  after(() => redis?.close());

  const config = () => ({
    redis: { url: redis.url },
    consumers: { acme: { plan: 'gold', credentials: [{ type: 'key-auth', keyHash: hashApiKey(KEY) }] } },
    plans: { gold: { quota: { limit: 4, period: 'month' }, storage: 'redis' } },
    routes: [
      { name: 'quota', match: { path: '/quota' }, plugins: { mock: { body: 'ok' }, quota: { limit: 3, period: 'day', by: 'ip', storage: 'redis', timeZone: 'Europe/Berlin' } } },
      { name: 'plan', match: { path: '/plan' }, plugins: { mock: { body: 'ok' }, 'key-auth': {} } },
    ],
  });

  it('a new gateway process continues the usage of the one it replaced', async () => {
    const first = await spawnGateway(config());
    const statuses = async (url: string, n: number, headers: Record<string, string> = {}) => {
      const out: number[] = [];
      for (let i = 0; i < n; i++) {
        const res = await fetch(url, { headers });
        await res.arrayBuffer();
        out.push(res.status);
      }
      return out;
    };
    try {
      assert.deepEqual(await statuses(`${first.url}/quota`, 2), [200, 200]);
      assert.deepEqual(await statuses(`${first.url}/plan`, 3, { apikey: KEY }), [200, 200, 200]);
    } finally {
      await first.stop(); // SIGKILL: nothing is flushed on the way out, nothing needs to be
    }
    const second = await spawnGateway(config());
    try {
      const last = await fetch(`${second.url}/quota`);
      assert.equal(last.status, 200);
      assert.match(last.headers.get('ratelimit') ?? '', /^"daily";r=0;t=\d+$/);
      const over = await fetch(`${second.url}/quota`);
      assert.equal(over.status, 429);
      assert.equal((await over.json() as { code: string }).code, 'quota_exceeded');
      assert.deepEqual(await statuses(`${second.url}/plan`, 2, { apikey: KEY }), [200, 429]);
      const usage = await (await fetch(`${second.adminUrl}/consumers/acme/usage`)).json() as { quota: { used: number; remaining: number } };
      assert.deepEqual([usage.quota.used, usage.quota.remaining], [4, 0]);
    } finally {
      await second.stop();
    }
  });
});
