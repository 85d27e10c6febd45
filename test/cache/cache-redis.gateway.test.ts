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

/** Two gateway processes on one redis-server and one upstream, started and stopped around the calling describe. */
function twoNodes(store: 'redis' | 'tiered', extra: Record<string, unknown> = {}) {
  const n = {} as { redis: RedisServer; up: ScriptedUpstream; a: GatewayProcess; b: GatewayProcess; config(): Record<string, unknown> };
  before(async () => {
    n.redis = await startRedis();
    n.up = await scriptedUpstream();
    n.config = () => ({
      redis: { url: n.redis.url },
      ...extra,
      upstreams: { up: { targets: [{ url: n.up.url }] } },
      routes: [{ name: 'cached', match: { path: '/*' }, upstream: 'up', plugins: { cache: { store } } }],
    });
    [n.a, n.b] = await Promise.all([spawnGateway(n.config()), spawnGateway(n.config())]);
  });
  after(async () => {
    await Promise.all([n.a?.stop(), n.b?.stop()]);
    await n.up?.close();
    await n.redis?.close();
  });
  return n;
}

/** The Redis tier: two gateway processes share one real redis-server; a response stored by one is a hit in the other. */
describe('response cache in Redis, shared by gateway nodes', { skip }, () => {
  const n = twoNodes('redis');

  it('a response stored through one node is a hit on the other, body bytes intact', async () => {
    const bytes = randomBytes(64 * 1024);
    const server = n.up.server;
    server.removeAllListeners('request');
    let served = 0;
    server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
      served++;
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'cache-control': 'max-age=60, stale-while-revalidate=30', 'surrogate-key': 'photos' });
      res.end(bytes);
    });
    const first = await getBytes(n.a.url, '/photo.bin');
    assert.match(first.cacheStatus, /fwd=uri-miss; fwd-status=200; stored/);
    // The copy reaches Redis as the body ends, just after the client got it.
    await until(async () => (await rawCommand(n.redis.port, 'EXISTS "expeditor:cache:/photo.bin 127.0.0.1 r:cached"')).startsWith(':1'), 5000, 'the stored copy in Redis');
    const second = await getBytes(n.b.url, '/photo.bin');
    assert.match(second.cacheStatus, /^Expeditor; hit; ttl=\d+$/);
    assert.ok(second.body.equals(bytes), 'the body is stored as raw bytes, not mangled');
    assert.equal(served, 1);
    // Kept in Redis for the freshness lifetime plus the stale window: 60 s + 30 s.
    const pttl = Number((await rawCommand(n.redis.port, 'PTTL "expeditor:cache:/photo.bin 127.0.0.1 r:cached"')).slice(1));
    assert.ok(pttl > 85_000 && pttl <= 90_000, `PTTL ${pttl}`);
  });

  it('a purge through any node\'s admin API is seen by the others, even from a node that has served nothing', async () => {
    const c = await spawnGateway(n.config());
    try {
      const r = await fetch(`${c.adminUrl}/cache/purge`, { method: 'POST', body: JSON.stringify({ tag: 'photos' }) });
      assert.deepEqual(((await r.json()) as { purged: unknown }).purged, { redis: 1 });
    } finally {
      await c.stop();
    }
    assert.match((await getBytes(n.b.url, '/photo.bin')).cacheStatus, /fwd=uri-miss/);
  });

  it('while Redis is down requests are still served (the cache fails open); caching resumes when it is back', async () => {
    n.up.server.removeAllListeners('request');
    n.up.server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
      res.writeHead(200, { 'cache-control': 'max-age=60' });
      res.end('still serving');
    });
    await n.redis.kill();
    for (let i = 0; i < 3; i++) {
      const r = await request(n.a.url, '/outage');
      assert.equal(r.status, 200);
      assert.equal(r.body, 'still serving');
    }
    await n.redis.restart();
    await until(async () => {
      await request(n.a.url, '/after');
      return (await rawCommand(n.redis.port, 'EXISTS "expeditor:cache:/after 127.0.0.1 r:cached"')).startsWith(':1');
    }, 10_000, 'caching through Redis again');
    // The other node reconnects on its own (with back-off): its lookups miss until then, then hit.
    await until(async () => String((await request(n.b.url, '/after')).headers['cache-status']).includes('hit'), 10_000, 'the other node to read Redis again');
  });
  it('a successful PUT through one node invalidates the path in Redis for all of them (indexed, no SCAN)', async () => {
    n.up.server.removeAllListeners('request');
    n.up.server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
      req.resume();
      if (req.method === 'PUT') return void res.writeHead(204).end();
      res.writeHead(200, { 'cache-control': 'max-age=600' });
      res.end(`menu ${req.url}`);
    });
    const key = (q: string) => `EXISTS "expeditor:cache:/menu/soup${q} 127.0.0.1 r:cached"`;
    await request(n.a.url, '/menu/soup');
    await request(n.a.url, '/menu/soup?lang=fr');
    await until(async () => (await rawCommand(n.redis.port, key(''))).startsWith(':1') && (await rawCommand(n.redis.port, key('?lang=fr'))).startsWith(':1'), 5000, 'both variants in Redis');
    assert.equal((await request(n.b.url, '/menu/soup', {}, 'PUT', 'new recipe')).status, 204);
    await until(async () => (await rawCommand(n.redis.port, key(''))).startsWith(':0') && (await rawCommand(n.redis.port, key('?lang=fr'))).startsWith(':0'), 5000, 'the path invalidated in Redis');
    assert.match(String((await request(n.a.url, '/menu/soup')).headers['cache-status']), /fwd=uri-miss/);
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

describe('tiered stores on several nodes', { skip }, () => {
  const n = twoNodes('tiered', { cache: { tierMemoryHold: '10m' } });

  it('a purge through one node empties the other nodes\' memory tiers at once, not after tierMemoryHold', async () => {
    n.up.answer.set('/board', { headers: { 'cache-control': 'max-age=600', 'surrogate-key': 'board' }, body: 'specials' });
    await request(n.a.url, '/board');
    await until(async () => (await rawCommand(n.redis.port, 'EXISTS "expeditor:cache:/board 127.0.0.1 r:cached"')).startsWith(':1'), 5000, 'the copy in Redis');
    assert.match(String((await request(n.b.url, '/board')).headers['cache-status']), /hit/, 'B copies it into its memory tier');
    // With the entry gone from Redis (the tag set stays), B can only be answering from its own memory tier.
    assert.match(await rawCommand(n.redis.port, 'DEL "expeditor:cache:/board 127.0.0.1 r:cached"'), /^:1/);
    assert.match(String((await request(n.b.url, '/board')).headers['cache-status']), /hit/);
    // B's memory tier would hold it for 10 minutes; a purge through A reaches it over Redis pub/sub.
    const r = await fetch(`${n.a.adminUrl}/cache/purge`, { method: 'POST', body: JSON.stringify({ tag: 'board' }) });
    assert.equal(r.status, 200);
    await until(async () => String((await request(n.b.url, '/board')).headers['cache-status']).includes('fwd=uri-miss'), 5000, 'B to drop its copy');
  });
});

