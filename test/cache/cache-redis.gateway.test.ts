import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { redisSkip, rawCommand, startRedis, until, type RedisServer } from '../helpers/redis.ts';
import { spawnGateway, type GatewayProcess } from '../helpers/process.ts';
import type { TestGateway } from '../helpers/gateway.ts';
import { closeCacheStores } from '../../src/cache/stores.ts';
import { cachedGateway, request, scriptedUpstream, type ScriptedUpstream } from './support.ts';

const skip = redisSkip();

function getBytes(base: string, path: string): Promise<{ body: Buffer; cacheStatus: string }> {
  return new Promise((resolve, reject) => {
    http.get(`${base}${path}`, { agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ body: Buffer.concat(chunks), cacheStatus: String(res.headers['cache-status']) }));
    }).on('error', reject);
  });
}

/** The Redis tier: two gateway processes share one real redis-server; a response stored by one is a hit in the other. */
describe('response cache in Redis, shared by gateway nodes', { skip }, () => {
  let redis: RedisServer;
  let up: ScriptedUpstream;
  let a: GatewayProcess;
  let b: GatewayProcess;
  const config = (redisUrl: string, upstreamUrl: string) => ({
    redis: { url: redisUrl },
    upstreams: { up: { targets: [{ url: upstreamUrl }] } },
    routes: [{ name: 'cached', match: { path: '/*' }, upstream: 'up', plugins: { cache: { store: 'redis' } } }],
  });
  before(async () => {
    redis = await startRedis();
    up = await scriptedUpstream();
    [a, b] = await Promise.all([spawnGateway(config(redis.url, up.url)), spawnGateway(config(redis.url, up.url))]);
  });
  after(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await up?.close();
    await redis?.close();
  });

  it('a response stored through one node is a hit on the other, body bytes intact', async () => {
    const bytes = randomBytes(64 * 1024);
    const server = up.server;
    server.removeAllListeners('request');
    let n = 0;
    server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
      n++;
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'cache-control': 'max-age=60, stale-while-revalidate=30', 'surrogate-key': 'photos' });
      res.end(bytes);
    });
    const first = await getBytes(a.url, '/photo.bin');
    assert.match(first.cacheStatus, /fwd=uri-miss; fwd-status=200; stored/);
    // The copy reaches Redis as the body ends, just after the client got it.
    await until(async () => (await rawCommand(redis.port, 'EXISTS "expeditor:cache:/photo.bin 127.0.0.1 r:cached"')).startsWith(':1'), 5000, 'the stored copy in Redis');
    const second = await getBytes(b.url, '/photo.bin');
    assert.match(second.cacheStatus, /^Expeditor; hit; ttl=\d+$/);
    assert.ok(second.body.equals(bytes), 'the body is stored as raw bytes, not mangled');
    assert.equal(n, 1);
    // Kept in Redis for the freshness lifetime plus the stale window: 60 s + 30 s.
    const pttl = Number((await rawCommand(redis.port, 'PTTL "expeditor:cache:/photo.bin 127.0.0.1 r:cached"')).slice(1));
    assert.ok(pttl > 85_000 && pttl <= 90_000, `PTTL ${pttl}`);
  });

  it('a purge through any node\'s admin API is seen by the others, even from a node that has served nothing', async () => {
    const c = await spawnGateway(config(redis.url, up.url));
    try {
      const r = await fetch(`${c.adminUrl}/cache/purge`, { method: 'POST', body: JSON.stringify({ tag: 'photos' }) });
      assert.deepEqual(((await r.json()) as { purged: unknown }).purged, { redis: 1 });
    } finally {
      await c.stop();
    }
    assert.match((await getBytes(b.url, '/photo.bin')).cacheStatus, /fwd=uri-miss/);
  });

  it('while Redis is down requests are still served (the cache fails open); caching resumes when it is back', async () => {
    up.server.removeAllListeners('request');
    up.server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
      res.writeHead(200, { 'cache-control': 'max-age=60' });
      res.end('still serving');
    });
    await redis.kill();
    for (let i = 0; i < 3; i++) {
      const r = await request(a.url, '/outage');
      assert.equal(r.status, 200);
      assert.equal(r.body, 'still serving');
    }
    await redis.restart();
    await until(async () => {
      await request(a.url, '/after');
      return (await rawCommand(redis.port, 'EXISTS "expeditor:cache:/after 127.0.0.1 r:cached"')).startsWith(':1');
    }, 10_000, 'caching through Redis again');
    // The other node reconnects on its own (with back-off): its lookups miss until then, then hit.
    await until(async () => String((await request(b.url, '/after')).headers['cache-status']).includes('hit'), 10_000, 'the other node to read Redis again');
  });
  it('a successful PUT through one node invalidates the path in Redis for all of them (indexed, no SCAN)', async () => {
    up.server.removeAllListeners('request');
    up.server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
      req.resume();
      if (req.method === 'PUT') return void res.writeHead(204).end();
      res.writeHead(200, { 'cache-control': 'max-age=600' });
      res.end(`menu ${req.url}`);
    });
    const key = (q: string) => `EXISTS "expeditor:cache:/menu/soup${q} 127.0.0.1 r:cached"`;
    await request(a.url, '/menu/soup');
    await request(a.url, '/menu/soup?lang=fr');
    await until(async () => (await rawCommand(redis.port, key(''))).startsWith(':1') && (await rawCommand(redis.port, key('?lang=fr'))).startsWith(':1'), 5000, 'both variants in Redis');
    assert.equal((await request(b.url, '/menu/soup', {}, 'PUT', 'new recipe')).status, 204);
    await until(async () => (await rawCommand(redis.port, key(''))).startsWith(':0') && (await rawCommand(redis.port, key('?lang=fr'))).startsWith(':0'), 5000, 'the path invalidated in Redis');
    assert.match(String((await request(a.url, '/menu/soup')).headers['cache-status']), /fwd=uri-miss/);
  });
});

describe('tiered store: a memory tier in front of Redis', { skip }, () => {
  let redis: RedisServer;
  let up: ScriptedUpstream;
  let gw: TestGateway;
  before(async () => {
    redis = await startRedis();
    up = await scriptedUpstream();
    gw = await cachedGateway(up.url, { store: 'tiered' }, { redis: { url: redis.url }, cache: { tierMemoryHold: '60s' } });
  });
  after(async () => {
    await gw?.close();
    await up?.close();
    await closeCacheStores();
    await redis?.close();
  });

  it('stores in both tiers, and serves hot keys from memory without a round trip to Redis', async () => {
    up.answer.set('/hot', { headers: { 'cache-control': 'max-age=60' }, body: 'hot dish' });
    await request(gw.url, '/hot');
    await until(async () => (await rawCommand(redis.port, 'EXISTS "expeditor:cache:/hot 127.0.0.1 r:cached"')).startsWith(':1'), 5000, 'the copy in Redis');
    await redis.kill();
    const r = await request(gw.url, '/hot');
    assert.equal(r.body, 'hot dish');
    assert.match(String(r.headers['cache-status']), /hit/);
    assert.equal(up.count('/hot'), 1);
    await redis.restart();
  });
});
