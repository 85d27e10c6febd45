import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startGateway, type TestGateway } from '../helpers/gateway.ts';
import { until } from '../helpers/redis.ts';
import { closeCacheStores } from '../../src/cache/stores.ts';
import { cachedGateway, request, scriptedUpstream, type ScriptedUpstream } from './support.ts';

describe('response cache: stale responses (RFC 5861), coalescing and streaming', () => {
  let up: ScriptedUpstream;
  let gw: TestGateway;
  before(async () => {
    up = await scriptedUpstream();
    gw = await cachedGateway(up.url, { maxObjectSize: '1kb' });
  });
  after(async () => {
    await gw.close();
    await up.close();
    await closeCacheStores();
  });

  it('stale-while-revalidate: serves the stale response at once and refreshes it once in the background', async () => {
    let version = 0;
    up.answer.set('/swr', () => ({ headers: { 'cache-control': 'max-age=1, stale-while-revalidate=60', age: '5' }, body: `v${++version}`, delay: version > 1 ? 100 : 0 }));
    await request(gw.url, '/swr');
    const stale = await Promise.all([request(gw.url, '/swr'), request(gw.url, '/swr'), request(gw.url, '/swr')]);
    for (const s of stale) {
      assert.equal(s.body, 'v1');
      assert.match(String(s.headers['cache-status']), /^Expeditor; hit; ttl=-\d+; detail="stale-while-revalidate"$/);
    }
    await until(() => up.count('/swr') === 2, 5000, 'the background refresh');
    // The refreshed response arrived 5 s old (Age: 5) and is stale again, but it is the one served now.
    await until(async () => (await request(gw.url, '/swr')).body === 'v2', 5000, 'the refreshed response');
    assert.ok(up.count('/swr') <= 3, `one refresh per stale period, got ${up.count('/swr')} upstream requests`);
  });

  it('stale-if-error: serves the stored response when the upstream answers 5xx', async () => {
    let fail = false;
    up.answer.set('/sie', () => (fail
      ? { status: 503, body: 'kitchen closed' }
      : { headers: { 'cache-control': 'max-age=1, stale-if-error=60', age: '5', etag: '"s"' }, body: 'soup' }));
    await request(gw.url, '/sie');
    fail = true;
    const r = await request(gw.url, '/sie');
    assert.equal(r.status, 200);
    assert.equal(r.body, 'soup');
    assert.match(String(r.headers['cache-status']), /fwd=stale; fwd-status=503; .*detail="stale-if-error"/);
    assert.equal(up.count('/sie'), 2);
  });

  it('without stale-if-error a 5xx reaches the client', async () => {
    let fail = false;
    up.answer.set('/nosie', () => (fail ? { status: 503, body: 'closed' } : { headers: { 'cache-control': 'max-age=1', age: '5', etag: '"n"' }, body: 'soup' }));
    await request(gw.url, '/nosie');
    fail = true;
    const r = await request(gw.url, '/nosie');
    assert.equal(r.status, 503);
    assert.equal(r.body, 'closed');
  });

  it('stale-if-error: serves the stored response when the upstream is killed', async () => {
    const own = await scriptedUpstream();
    const g = await cachedGateway(own.url);
    try {
      own.answer.set('/killed', { headers: { 'cache-control': 'max-age=1, stale-if-error=60', age: '5' }, body: 'bread' });
      await request(g.url, '/killed');
      await own.close();
      const r = await request(g.url, '/killed');
      assert.equal(r.status, 200);
      assert.equal(r.body, 'bread');
      assert.match(String(r.headers['cache-status']), /fwd=stale; .*detail="stale-if-error upstream_unavailable"/);
    } finally {
      await g.close();
    }
  });

  it('coalesces concurrent misses for one key into one upstream request', async () => {
    up.answer.set('/popular', { headers: { 'cache-control': 'max-age=60' }, body: 'the special', delay: 200 });
    const answers = await Promise.all(Array.from({ length: 20 }, () => request(gw.url, '/popular')));
    assert.equal(up.count('/popular'), 1);
    for (const a of answers) assert.equal(a.body, 'the special');
    const collapsed = answers.filter((a) => /collapsed/.test(String(a.headers['cache-status'])));
    assert.ok(collapsed.length >= 15, `${collapsed.length} of 20 waited for the first`);
  });

  it('a response that cannot be stored releases the waiting requests to the upstream', async () => {
    up.answer.set('/uncacheable', { headers: { 'cache-control': 'no-store' }, body: 'x', delay: 150 });
    const answers = await Promise.all(Array.from({ length: 5 }, () => request(gw.url, '/uncacheable')));
    for (const a of answers) assert.equal(a.status, 200);
    assert.equal(up.count('/uncacheable'), 5);
  });

  it('waiters give up after coalesceTimeout and go upstream themselves', async () => {
    const own = await scriptedUpstream();
    const g = await cachedGateway(own.url, { coalesceTimeout: '100ms' });
    try {
      let n = 0;
      own.answer.set('/slow', () => ({ headers: { 'cache-control': 'max-age=60' }, body: `n${++n}`, delay: n === 1 ? 1000 : 0 }));
      const first = request(g.url, '/slow');
      await until(() => own.count('/slow') === 1, 2000, 'the first request upstream');
      const second = await request(g.url, '/slow');
      assert.equal(second.body, 'n2', 'did not wait for the slow leader');
      assert.equal((await first).body, 'n1');
    } finally {
      await g.close();
      await own.close();
    }
  });

  it('a body larger than maxObjectSize streams through unstored', async () => {
    const big = 'x'.repeat(4096);
    up.answer.set('/big', { headers: { 'cache-control': 'max-age=60', 'content-length': String(big.length) }, body: big });
    const r = await request(gw.url, '/big');
    assert.equal(r.body, big);
    assert.match(String(r.headers['cache-status']), /detail="too-large"/);
    await request(gw.url, '/big');
    assert.equal(up.count('/big'), 2);
  });

  it('a chunked body that grows past maxObjectSize is relayed whole and not stored', async () => {
    const own = http.createServer((req, res) => {
      res.writeHead(200, { 'cache-control': 'max-age=60', 'content-type': 'text/plain' });
      res.write('a'.repeat(800));
      setTimeout(() => res.end('b'.repeat(800)), 20);
    });
    await new Promise<void>((r) => own.listen(0, '127.0.0.1', r));
    const g = await cachedGateway(`http://127.0.0.1:${(own.address() as AddressInfo).port}`, { maxObjectSize: '1kb' });
    try {
      const r = await request(g.url, '/chunked');
      assert.equal(r.body.length, 1600);
      const again = await request(g.url, '/chunked');
      assert.match(String(again.headers['cache-status']), /fwd=uri-miss/);
    } finally {
      await g.close();
      own.closeAllConnections();
      own.close();
    }
  });

  it('an upstream body cut short is never stored', async () => {
    let n = 0;
    const own = http.createServer((req, res) => {
      n++;
      res.writeHead(200, { 'cache-control': 'max-age=60', 'content-length': '100' });
      res.write('half');
      setTimeout(() => res.destroy(), 20);
    });
    await new Promise<void>((r) => own.listen(0, '127.0.0.1', r));
    const g = await cachedGateway(`http://127.0.0.1:${(own.address() as AddressInfo).port}`);
    try {
      await assert.rejects(request(g.url, '/cut'));
      await assert.rejects(request(g.url, '/cut'));
      assert.equal(n, 2, 'the second request went upstream: nothing was stored');
    } finally {
      await g.close();
      own.closeAllConnections();
      own.close();
    }
  });

  it('a client that sends no-cache is served from the cache when honourNoCache is false', async () => {
    const own = await scriptedUpstream();
    const g = await startGateway({
      upstreams: { up: { targets: [{ url: own.url }] } },
      routes: [{ name: 'protected', match: { path: '/*' }, upstream: 'up', plugins: { cache: { honourNoCache: false } } }],
    });
    try {
      own.answer.set('/reload', { headers: { 'cache-control': 'max-age=60' } });
      await request(g.url, '/reload');
      const r = await request(g.url, '/reload', { 'cache-control': 'no-cache', pragma: 'no-cache' });
      assert.match(String(r.headers['cache-status']), /hit/);
      assert.equal(own.count('/reload'), 1);
    } finally {
      await g.close();
      await own.close();
    }
  });
});
