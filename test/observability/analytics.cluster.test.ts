import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, startUpstream, statuses, type TestGateway, type TestUpstream } from '../helpers/gateway.ts';
import { rawCommand, redisSkip, startRedis, until, type RedisServer } from '../helpers/redis.ts';
import { MINUTE_MS } from '../../src/observability/analytics/rollup.ts';

type Answer = Record<string, any>;

async function analytics(adminUrl: string, qs: string): Promise<Answer> {
  const res = await fetch(`${adminUrl}/analytics?${qs}`);
  assert.equal(res.status, 200);
  return await res.json() as Answer;
}

/** Polls until `check` passes on the answer (sharing writes every interval), and returns that answer. */
async function answerUntil(adminUrl: string, qs: string, check: (a: Answer) => boolean, what: string): Promise<Answer> {
  let last: Answer | undefined;
  await until(async () => check((last = await analytics(adminUrl, qs))), 10_000, `${what} (last: ${JSON.stringify({ nodes: last?.nodes, redis: last?.redis, totals: last?.totals })})`);
  return last!;
}

const skip = redisSkip();

describe('GET /analytics?scope=cluster: two gateways sharing one Redis', { skip }, () => {
  let redis: RedisServer;
  let up: TestUpstream;
  let a: TestGateway;
  let b: TestGateway;

  before(async () => {
    redis = await startRedis();
    up = await startUpstream((req, res) => {
      req.resume();
      res.end('ok');
    });
    const config = (nodeId: string) => ({
      redis: { url: redis.url, keyPrefix: 'test:' },
      upstreams: { up: { targets: [{ url: up.url }] } },
      routes: [
        { name: 'orders', match: { path: '/orders' }, upstream: 'up' },
        { name: 'items', match: { path: '/items' }, upstream: 'up' },
      ],
      analytics: { share: { enabled: true, interval: '100ms', nodeId } },
    });
    a = await startGateway(config('node-a'));
    b = await startGateway(config('node-b'));
  });

  after(async () => {
    await a?.close();
    await b?.close();
    await up?.close();
    await redis?.close();
  });

  it('the cluster view sums both nodes, filters apply to both, and each node still answers for itself', async () => {
    assert.deepEqual(await statuses(`${a.url}/orders`, 3), [200, 200, 200]);
    assert.deepEqual(await statuses(`${b.url}/orders`, 4), [200, 200, 200, 200]);
    assert.deepEqual(await statuses(`${b.url}/items`, 2), [200, 200]);

    const cluster = await answerUntil(a.adminUrl!, 'scope=cluster', (x) => x.totals.requests === 9, 'both nodes in the cluster view');
    assert.equal(cluster.scope, 'cluster');
    assert.equal(cluster.redis, 'up');
    assert.equal(cluster.node, 'node-a');
    assert.deepEqual(cluster.nodes, ['node-a', 'node-b']);
    assert.deepEqual(cluster.top.routes.map((r: Answer) => [r.name, r.requests]), [['orders', 7], ['items', 2]]);
    assert.equal(cluster.latencyMs.count, 9);

    const orders = await analytics(b.adminUrl!, 'scope=cluster&route=orders');
    assert.equal(orders.totals.requests, 7);
    assert.deepEqual(orders.nodes, ['node-b', 'node-a']);
    assert.equal((await analytics(a.adminUrl!, 'scope=node')).totals.requests, 3);
    assert.equal((await analytics(b.adminUrl!, '')).totals.requests, 6);
  });

  it('keeps one hash per minute with a field per node, expiring within 24 hours', async () => {
    const minute = Math.floor(Date.now() / MINUTE_MS);
    const keys = await rawCommand(redis.port, 'KEYS test:analytics:*');
    assert.match(keys, new RegExp(`test:analytics:(${minute}|${minute - 1})`));
    const key = /test:analytics:\d+/.exec(keys)![0];
    const fields = await rawCommand(redis.port, `HKEYS ${key}`);
    assert.match(fields, /node-a/);
    assert.match(fields, /node-b/);
    const ttl = Number(/^:(\d+)/.exec(await rawCommand(redis.port, `TTL ${key}`))![1]);
    assert.ok(ttl > 86_000 && ttl <= 86_400, `TTL ${ttl}`);
  });

  it('a Redis outage leaves requests alone and narrows the cluster view to this node, saying so; it recovers', async () => {
    const before = (await analytics(a.adminUrl!, 'scope=cluster')).totals.requests;
    await redis.kill();
    assert.deepEqual(await statuses(`${a.url}/orders`, 2), [200, 200]);
    assert.deepEqual(await statuses(`${b.url}/orders`, 2), [200, 200]);
    const down = await answerUntil(a.adminUrl!, 'scope=cluster', (x) => x.redis === 'down', 'the outage in the answer');
    assert.deepEqual(down.nodes, ['node-a']);
    assert.equal(typeof down.error, 'string');
    assert.equal(down.totals.requests, (await analytics(a.adminUrl!, 'scope=node')).totals.requests);

    await redis.restart();
    // The restarted Redis is empty: each node writes its current minute again with its next request.
    assert.deepEqual(await statuses(`${a.url}/items`, 1), [200]);
    assert.deepEqual(await statuses(`${b.url}/items`, 1), [200]);
    const back = await answerUntil(a.adminUrl!, 'scope=cluster', (x) => x.redis === 'up' && x.nodes.length === 2, 'both nodes again');
    assert.ok(back.totals.requests >= 2 && back.totals.requests <= before + 6);
  });
});
