import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { TestGateway } from '../helpers/gateway.ts';
import { closeCacheStores } from '../../src/cache/stores.ts';
import { cachedGateway, httpDate, request, scriptedUpstream, type ScriptedUpstream } from './support.ts';

/**
 * RFC 9111 through the gateway: a real upstream sends crafted headers, and each test checks what is stored, what
 * is served from the cache (the upstream's request count) and the Cache-Status / Age the client sees. Lifetimes are
 * made past or future with Age, Date and Expires, so no test waits for a clock.
 */
describe('response cache: freshness and storage (RFC 9111)', () => {
  let up: ScriptedUpstream;
  let gw: TestGateway;
  before(async () => {
    up = await scriptedUpstream();
    gw = await cachedGateway(up.url);
  });
  after(async () => {
    await gw.close();
    await up.close();
    await closeCacheStores();
  });

  /** Two GETs of a path; the second's answer and how many requests the upstream got. */
  async function twice(path: string, headers: Record<string, string> = {}) {
    const first = await request(gw.url, path, headers);
    const second = await request(gw.url, path, headers);
    return { first, second, upstream: up.count(path.split('?')[0]!) };
  }

  it('stores a max-age response and serves it again with Age and Cache-Status hit', async () => {
    up.answer.set('/fresh', { headers: { 'cache-control': 'max-age=60' }, body: 'dish' });
    const { first, second, upstream } = await twice('/fresh');
    assert.equal(first.headers['cache-status'], 'Expeditor; fwd=uri-miss; fwd-status=200; stored');
    assert.equal(second.status, 200);
    assert.equal(second.body, 'dish');
    // 60 s minus the (whole) seconds the test took so far: a loaded machine may take a couple.
    assert.match(String(second.headers['cache-status']), /^Expeditor; hit; ttl=(5\d|60)$/);
    assert.ok(Number(second.headers.age) >= 0 && Number(second.headers.age) <= 1);
    assert.equal(second.headers['content-length'], '4');
    assert.equal(upstream, 1);
  });

  it('s-maxage overrides max-age for a shared cache', async () => {
    // Age 10: past s-maxage=5, within max-age=100. A private cache could use it; this one must go upstream.
    up.answer.set('/smaxage', { headers: { 'cache-control': 's-maxage=5, max-age=100', age: '10', etag: '"a"' } });
    const { second, upstream } = await twice('/smaxage');
    assert.equal(upstream, 2);
    assert.match(String(second.headers['cache-status']), /fwd=stale/);
  });

  it('Age from the upstream counts against max-age, and the Age served grows from it (§4.2.3)', async () => {
    up.answer.set('/aged', { headers: { 'cache-control': 'max-age=100', age: '30' } });
    const { second, upstream } = await twice('/aged');
    assert.equal(upstream, 1);
    assert.ok(Number(second.headers.age) >= 30 && Number(second.headers.age) <= 31, `age ${second.headers.age}`);
    assert.match(String(second.headers['cache-status']), /ttl=(6\d|70)$/);
  });

  it('Expires is measured from Date; an Expires in the past means stale at once', async () => {
    up.answer.set('/expires', () => ({ headers: { date: httpDate(), expires: httpDate(60) } }));
    assert.equal((await twice('/expires')).upstream, 1);
    up.answer.set('/expired', () => ({ headers: { date: httpDate(), expires: httpDate(-60), 'last-modified': httpDate(-3600) } }));
    assert.equal((await twice('/expired')).upstream, 2);
    up.answer.set('/expires-zero', { headers: { expires: '0', etag: '"z"' } });
    assert.equal((await twice('/expires-zero')).upstream, 2);
  });

  it('heuristic freshness from Last-Modified only for heuristically cacheable statuses', async () => {
    up.answer.set('/heuristic', () => ({ headers: { date: httpDate(), 'last-modified': httpDate(-10 * 86400) } }));
    assert.equal((await twice('/heuristic')).upstream, 1, '200 with Last-Modified 10 days old: fresh for a day');
    up.answer.set('/redirect', () => ({ status: 302, headers: { location: '/elsewhere', 'last-modified': httpDate(-10 * 86400) } }));
    const r = await twice('/redirect');
    assert.equal(r.upstream, 2, '302 is not heuristically cacheable');
    assert.equal(r.first.headers['cache-status'], 'Expeditor; fwd=uri-miss; fwd-status=302; detail="status"');
    up.answer.set('/explicit-302', { status: 302, headers: { location: '/x', 'cache-control': 'max-age=60' } });
    assert.equal((await twice('/explicit-302')).upstream, 1, 'a 302 with explicit freshness is stored');
  });

  it('a response with no freshness information is not stored (defaultTtl is opt-in)', async () => {
    up.answer.set('/plain', {});
    const r = await twice('/plain');
    assert.equal(r.upstream, 2);
    assert.equal(r.first.headers['cache-status'], 'Expeditor; fwd=uri-miss; fwd-status=200; detail="no-freshness"');
  });

  it('no-store and private responses are not stored; a no-store request stores nothing', async () => {
    up.answer.set('/nostore', { headers: { 'cache-control': 'no-store, max-age=60' } });
    const ns = await twice('/nostore');
    assert.equal(ns.upstream, 2);
    assert.match(String(ns.first.headers['cache-status']), /detail="no-store"/);
    up.answer.set('/private', { headers: { 'cache-control': 'private, max-age=60' } });
    const pr = await twice('/private');
    assert.equal(pr.upstream, 2);
    assert.match(String(pr.first.headers['cache-status']), /detail="private"/);
    up.answer.set('/reqnostore', { headers: { 'cache-control': 'max-age=60' } });
    await request(gw.url, '/reqnostore', { 'cache-control': 'no-store' });
    await request(gw.url, '/reqnostore');
    assert.equal(up.count('/reqnostore'), 2);
  });

  it('no-cache responses are stored but revalidated before each use; a 304 serves the stored body', async () => {
    up.answer.set('/nocache', (req) => (req.headers['if-none-match'] === '"v1"'
      ? { status: 304, headers: { etag: '"v1"', 'cache-control': 'no-cache' } }
      : { headers: { etag: '"v1"', 'cache-control': 'no-cache' }, body: 'full body' }));
    const { second, upstream } = await twice('/nocache');
    assert.equal(upstream, 2, 'every use asks the upstream');
    assert.equal(up.last('/nocache')!['if-none-match'], '"v1"', 'the revalidation is conditional');
    assert.equal(second.status, 200);
    assert.equal(second.body, 'full body');
    assert.match(String(second.headers['cache-status']), /fwd-status=304/);
  });

  it('a 304 from the upstream updates the stored headers (§4.3.4)', async () => {
    let version = 1;
    up.answer.set('/update', (req) => (req.headers['if-none-match'] === '"e"'
      ? { status: 304, headers: { etag: '"e"', 'cache-control': 'max-age=60', 'x-menu-version': String(++version) } }
      : { headers: { etag: '"e"', 'cache-control': 'max-age=0', 'x-menu-version': '1' }, body: 'menu' }));
    await request(gw.url, '/update');
    const revalidated = await request(gw.url, '/update');
    assert.equal(revalidated.headers['x-menu-version'], '2');
    const hit = await request(gw.url, '/update');
    assert.equal(hit.headers['x-menu-version'], '2', 'the new header was stored');
    assert.match(String(hit.headers['cache-status']), /^Expeditor; hit/, 'and the new max-age made it fresh');
    assert.equal(hit.body, 'menu');
    assert.equal(up.count('/update'), 2);
  });

  it('requests with Authorization are served from the cache only when the response allows it (§3.5)', async () => {
    up.answer.set('/auth-private', { headers: { 'cache-control': 'max-age=60' } });
    const plain = await twice('/auth-private', { authorization: 'Bearer x' });
    assert.equal(plain.upstream, 2);
    assert.match(String(plain.first.headers['cache-status']), /detail="authorization"/);
    up.answer.set('/auth-public', { headers: { 'cache-control': 'public, max-age=60' } });
    const pub = await twice('/auth-public', { authorization: 'Bearer x' });
    assert.equal(pub.upstream, 1);
    // A response stored for an anonymous request is not handed to a request with credentials unless it allows it.
    up.answer.set('/anon-then-auth', { headers: { 'cache-control': 'max-age=60' } });
    await request(gw.url, '/anon-then-auth');
    await request(gw.url, '/anon-then-auth', { authorization: 'Bearer x' });
    assert.equal(up.count('/anon-then-auth'), 2);
  });

  it('Vary: one entry per normalised variant; Vary: * is never stored', async () => {
    up.answer.set('/vary', (req) => ({ headers: { vary: 'Accept-Encoding', 'cache-control': 'max-age=60' }, body: `for ${req.headers['accept-encoding']}` }));
    await request(gw.url, '/vary', { 'accept-encoding': 'gzip, br' });
    const same = await request(gw.url, '/vary', { 'accept-encoding': 'BR,gzip' });
    assert.equal(same.body, 'for gzip, br');
    assert.match(String(same.headers['cache-status']), /hit/);
    const other = await request(gw.url, '/vary', { 'accept-encoding': 'identity' });
    assert.equal(other.body, 'for identity');
    assert.match(String(other.headers['cache-status']), /fwd=vary-miss/);
    const none = await request(gw.url, '/vary');
    assert.equal(none.body, 'for undefined');
    assert.equal(up.count('/vary'), 3);
    up.answer.set('/vary-star', { headers: { vary: '*', 'cache-control': 'max-age=60' } });
    const star = await twice('/vary-star');
    assert.equal(star.upstream, 2);
    assert.match(String(star.first.headers['cache-status']), /detail="vary-star"/);
  });

  it('request directives: no-cache and max-age=0 revalidate, min-fresh asks for more, max-stale accepts stale', async () => {
    up.answer.set('/directives', { headers: { 'cache-control': 'max-age=100', age: '50', etag: '"d"' } });
    await request(gw.url, '/directives');
    await request(gw.url, '/directives', { 'cache-control': 'no-cache' });
    assert.equal(up.count('/directives'), 2);
    await request(gw.url, '/directives', { pragma: 'no-cache' });
    assert.equal(up.count('/directives'), 3);
    await request(gw.url, '/directives', { 'cache-control': 'max-age=10' });
    assert.equal(up.count('/directives'), 4, 'older than the client accepts');
    await request(gw.url, '/directives', { 'cache-control': 'min-fresh=80' });
    assert.equal(up.count('/directives'), 5, 'less fresh than the client wants');
    const ok = await request(gw.url, '/directives', { 'cache-control': 'max-age=90, min-fresh=10' });
    assert.match(String(ok.headers['cache-status']), /hit/);
    up.answer.set('/stale', { headers: { 'cache-control': 'max-age=10', age: '20', etag: '"s"' } });
    await request(gw.url, '/stale');
    const stale = await request(gw.url, '/stale', { 'cache-control': 'max-stale=30' });
    assert.match(String(stale.headers['cache-status']), /^Expeditor; hit; ttl=-1\d; detail="max-stale"$/);
    assert.equal(up.count('/stale'), 1);
    await request(gw.url, '/stale', { 'cache-control': 'max-stale=5' });
    assert.equal(up.count('/stale'), 2, 'staler than max-stale allows');
  });

  it('must-revalidate forbids serving stale, even with max-stale', async () => {
    up.answer.set('/mustrev', { headers: { 'cache-control': 'max-age=10, must-revalidate', age: '20', etag: '"m"' } });
    await request(gw.url, '/mustrev');
    await request(gw.url, '/mustrev', { 'cache-control': 'max-stale' });
    assert.equal(up.count('/mustrev'), 2);
  });

  it('only-if-cached: 504 not_cached without a usable stored response, the stored one otherwise', async () => {
    up.answer.set('/oic', { headers: { 'cache-control': 'max-age=60' } });
    const miss = await request(gw.url, '/oic', { 'cache-control': 'only-if-cached' });
    assert.equal(miss.status, 504);
    assert.equal(miss.headers['content-type'], 'application/problem+json');
    assert.equal(JSON.parse(miss.body).code, 'not_cached');
    assert.equal(up.count('/oic'), 0, 'nothing was sent upstream');
    await request(gw.url, '/oic');
    const hit = await request(gw.url, '/oic', { 'cache-control': 'only-if-cached' });
    assert.equal(hit.status, 200);
  });

  it('HEAD is answered from a stored GET; a HEAD miss stores nothing', async () => {
    up.answer.set('/head', { headers: { 'cache-control': 'max-age=60', etag: '"h"' }, body: 'twelve bytes' });
    const miss = await request(gw.url, '/head', {}, 'HEAD');
    assert.match(String(miss.headers['cache-status']), /fwd=method/);
    await request(gw.url, '/head');
    const head = await request(gw.url, '/head', {}, 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(head.body, '');
    assert.equal(head.headers['content-length'], '12');
    assert.equal(head.headers.etag, '"h"');
    assert.match(String(head.headers['cache-status']), /hit/);
    assert.equal(up.count('/head'), 2);
  });

  it('statuses cacheable by default (404) are stored; others (500) only when configured', async () => {
    up.answer.set('/gone', { status: 404, headers: { 'cache-control': 'max-age=60' } });
    assert.equal((await twice('/gone')).upstream, 1);
  });

  it('answers a client\'s conditional request with 304 from the stored response', async () => {
    up.answer.set('/cond', { headers: { 'cache-control': 'max-age=60', etag: 'W/"c1"', 'last-modified': httpDate(-3600) } });
    await request(gw.url, '/cond');
    const inm = await request(gw.url, '/cond', { 'if-none-match': '"x", W/"c1"' });
    assert.equal(inm.status, 304);
    assert.equal(inm.body, '');
    assert.equal(inm.headers.etag, 'W/"c1"');
    assert.match(String(inm.headers['cache-status']), /hit/);
    const ims = await request(gw.url, '/cond', { 'if-modified-since': httpDate() });
    assert.equal(ims.status, 304);
    const changed = await request(gw.url, '/cond', { 'if-none-match': '"other"' });
    assert.equal(changed.status, 200);
    assert.equal(up.count('/cond'), 1);
    // If-Match guards the origin's state: only the origin can answer it (RFC 9111 §4.3.2).
    await request(gw.url, '/cond', { 'if-match': 'W/"c1"' });
    assert.equal(up.count('/cond'), 2);
  });

  it('Range: one range of a stored response is 206, past the end is 416, several get the whole', async () => {
    up.answer.set('/range', { headers: { 'cache-control': 'max-age=60' }, body: '0123456789' });
    const missWithRange = await request(gw.url, '/range', { range: 'bytes=0-1' });
    assert.equal(up.last('/range')!.range, 'bytes=0-1', 'a miss passes the Range through');
    assert.equal(missWithRange.status, 200, 'this upstream ignores Range: its whole 200 is stored like any other');
    const part = await request(gw.url, '/range', { range: 'bytes=2-5' });
    assert.equal(part.status, 206);
    assert.equal(part.body, '2345');
    assert.equal(part.headers['content-range'], 'bytes 2-5/10');
    const suffix = await request(gw.url, '/range', { range: 'bytes=-3' });
    assert.equal(suffix.body, '789');
    const past = await request(gw.url, '/range', { range: 'bytes=50-60' });
    assert.equal(past.status, 416);
    assert.equal(past.headers['content-range'], 'bytes */10');
    assert.equal(JSON.parse(past.body).code, 'range_not_satisfiable');
    const multi = await request(gw.url, '/range', { range: 'bytes=0-1,5-6' });
    assert.equal(multi.status, 200);
    assert.equal(multi.body, '0123456789');
    assert.equal(up.count('/range'), 1);
  });

  it('the query is part of the key, its parameters in any order', async () => {
    up.answer.set('/query', (req) => ({ headers: { 'cache-control': 'max-age=60' }, body: req.url }));
    await request(gw.url, '/query?b=2&a=1');
    const swapped = await request(gw.url, '/query?a=1&b=2');
    assert.equal(swapped.body, '/query?b=2&a=1');
    const other = await request(gw.url, '/query?a=2&b=2');
    assert.equal(other.body, '/query?a=2&b=2');
    assert.equal(up.count('/query'), 2);
  });
});
