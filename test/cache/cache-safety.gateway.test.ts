import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, type TestGateway } from '../helpers/gateway.ts';
import { generateApiKey, hashApiKey } from '../../src/identity/api-keys.ts';
import { closeCacheStores } from '../../src/cache/stores.ts';
import { request, scriptedUpstream, type Script, type ScriptedUpstream } from './support.ts';

const ALICE = generateApiKey();
const BOB = generateApiKey();

/** Poisoning, deception, credentials and invalidation: what must never be stored or served to the wrong client. */
describe('response cache: safety and invalidation', () => {
  let up: ScriptedUpstream;
  let gw: TestGateway;
  before(async () => {
    up = await scriptedUpstream();
    gw = await startGateway({
      upstreams: { up: { targets: [{ url: up.url }] } },
      consumers: {
        alice: { credentials: [{ type: 'key-auth', keyHash: hashApiKey(ALICE) }] },
        bob: { credentials: [{ type: 'key-auth', keyHash: hashApiKey(BOB) }] },
      },
      routes: [
        { name: 'open', match: { path: '/open/*' }, upstream: 'up', plugins: { cache: { defaultTtl: '1m', key: { query: ['page'] } } } },
        { name: 'tracked', match: { path: '/tracked/*' }, upstream: 'up', plugins: { cache: { bypass: { headers: ['x-debug'], cookies: ['session'], query: ['nocache'] } } } },
        { name: 'cookies', match: { path: '/cookies/*' }, upstream: 'up', plugins: { cache: { storeSetCookie: true } } },
        { name: 'mine', match: { path: '/mine/*' }, upstream: 'up', plugins: { 'key-auth': {}, cache: {} } },
        { name: 'per-consumer', match: { path: '/per-consumer/*' }, upstream: 'up', plugins: { 'key-auth': {}, cache: { key: { consumer: true } } } },
        { name: 'items', match: { path: '/items/*' }, upstream: 'up', plugins: { cache: {} } },
        { name: 'quiet', match: { path: '/quiet/*' }, upstream: 'up', plugins: { cache: { cacheStatus: false } } },
      ],
    });
  });
  after(async () => {
    await gw.close();
    await up.close();
    await closeCacheStores();
  });

  it('unkeyed override headers never reach the upstream, so they cannot poison a stored response', async () => {
    up.answer.set('/open/home', (req) => ({ headers: { 'cache-control': 'max-age=60' }, body: `host=${req.headers['x-forwarded-host']} url=${req.headers['x-original-url']}` }));
    const poisoned = await request(gw.url, '/open/home', { 'x-forwarded-host': 'evil.example', 'x-original-url': '/admin', 'x-http-method-override': 'DELETE' });
    assert.doesNotMatch(poisoned.body, /evil|admin/);
    const last = up.last('/open/home')!;
    assert.equal(last['x-original-url'], undefined);
    assert.equal(last['x-http-method-override'], undefined);
    const victim = await request(gw.url, '/open/home');
    assert.equal(victim.body, poisoned.body);
    assert.doesNotMatch(victim.body, /evil|admin/);
  });

  it('query parameters outside the key\'s allow-list are not forwarded', async () => {
    up.answer.set('/open/list', (req) => ({ headers: { 'cache-control': 'max-age=60' }, body: req.url }));
    const a = await request(gw.url, '/open/list?page=2&utm_source=mail&callback=evil');
    assert.equal(a.body, '/open/list?page=2');
    const b = await request(gw.url, '/open/list?callback=other&page=2');
    assert.match(String(b.headers['cache-status']), /hit/);
    assert.equal(up.count('/open/list'), 1);
  });

  it('web cache deception: a private page under a static-looking path is not stored by defaultTtl', async () => {
    up.answer.set('/open/account/profile.css', { headers: { 'content-type': 'text/html' }, body: '<h1>Alice, card 4242</h1>' });
    const first = await request(gw.url, '/open/account/profile.css');
    assert.match(String(first.headers['cache-status']), /detail="content-type-mismatch"/);
    await request(gw.url, '/open/account/profile.css');
    assert.equal(up.count('/open/account/profile.css'), 2);
    up.answer.set('/open/site.css', { headers: { 'content-type': 'text/css' }, body: 'body{}' });
    await request(gw.url, '/open/site.css');
    assert.match(String((await request(gw.url, '/open/site.css')).headers['cache-status']), /hit/, 'real stylesheets are stored');
  });

  it('responses with Set-Cookie are not stored unless the route allows it', async () => {
    up.answer.set('/open/login', { headers: { 'cache-control': 'max-age=60', 'set-cookie': 'sid=alice' } });
    await request(gw.url, '/open/login');
    const second = await request(gw.url, '/open/login');
    assert.equal(up.count('/open/login'), 2);
    assert.match(String(second.headers['cache-status']), /detail="set-cookie"/);
    up.answer.set('/cookies/banner', { headers: { 'cache-control': 'max-age=60', 'set-cookie': 'seen=1' } });
    await request(gw.url, '/cookies/banner');
    const allowed = await request(gw.url, '/cookies/banner');
    assert.equal(up.count('/cookies/banner'), 1);
    assert.deepEqual(allowed.headers['set-cookie'], ['seen=1']);
  });

  it('responses to authenticated requests are not shared between consumers', async () => {
    up.answer.set('/mine/orders', (req) => ({ headers: { 'cache-control': 'max-age=60' }, body: `orders of ${req.headers['x-consumer-username']}` }));
    const alice = await request(gw.url, '/mine/orders', { apikey: ALICE });
    assert.equal(alice.body, 'orders of alice');
    const bob = await request(gw.url, '/mine/orders', { apikey: BOB });
    assert.equal(bob.body, 'orders of bob');
    assert.equal(up.count('/mine/orders'), 2);
    up.answer.set('/mine/menu', { headers: { 'cache-control': 'public, max-age=60' }, body: 'menu for all' });
    await request(gw.url, '/mine/menu', { apikey: ALICE });
    const shared = await request(gw.url, '/mine/menu', { apikey: BOB });
    assert.match(String(shared.headers['cache-status']), /hit/, 'public responses are shared');
    const anonymous = await request(gw.url, '/mine/menu');
    assert.equal(anonymous.status, 401, 'the cache never answers before authentication');
  });

  it('with the consumer in the key, each consumer gets its own stored responses', async () => {
    up.answer.set('/per-consumer/basket', (req) => ({ headers: { 'cache-control': 'max-age=60' }, body: `basket of ${req.headers['x-consumer-username']}` }));
    for (const [key, who] of [[ALICE, 'alice'], [BOB, 'bob'], [ALICE, 'alice'], [BOB, 'bob']] as const) {
      assert.equal((await request(gw.url, '/per-consumer/basket', { apikey: key })).body, `basket of ${who}`);
    }
    assert.equal(up.count('/per-consumer/basket'), 2);
  });

  it('bypass conditions skip the cache entirely', async () => {
    up.answer.set('/tracked/page', { headers: { 'cache-control': 'max-age=60' } });
    await request(gw.url, '/tracked/page');
    for (const headers of [{ 'x-debug': '1' }, { cookie: 'theme=dark; session=abc' }] as Array<Record<string, string>>) {
      const r = await request(gw.url, '/tracked/page', headers);
      assert.equal(r.headers['cache-status'], 'Expeditor; fwd=bypass');
    }
    assert.equal((await request(gw.url, '/tracked/page?nocache=1')).headers['cache-status'], 'Expeditor; fwd=bypass');
    assert.equal(up.count('/tracked/page'), 4);
    assert.match(String((await request(gw.url, '/tracked/page', { cookie: 'theme=dark' })).headers['cache-status']), /hit/);
  });

  it('surrogate-key headers are stripped before the client; Cache-Status can be turned off', async () => {
    up.answer.set('/items/tagged', { headers: { 'cache-control': 'max-age=60', 'surrogate-key': 'menu soups', 'cache-tag': 'kitchen' } });
    for (let i = 0; i < 2; i++) {
      const r = await request(gw.url, '/items/tagged');
      assert.equal(r.headers['surrogate-key'], undefined);
      assert.equal(r.headers['cache-tag'], undefined);
    }
    up.answer.set('/quiet/x', { headers: { 'cache-control': 'max-age=60' } });
    await request(gw.url, '/quiet/x');
    const quiet = await request(gw.url, '/quiet/x');
    assert.equal(quiet.headers['cache-status'], undefined);
    assert.equal(up.count('/quiet/x'), 1);
  });

  it('a successful unsafe request invalidates the target and same-host Location / Content-Location (§4.4)', async () => {
    for (const p of ['/items/1', '/items/2', '/items/3']) up.answer.set(p, { headers: { 'cache-control': 'max-age=60' } });
    for (const p of ['/items/1', '/items/2', '/items/3', '/items/1?view=full']) await request(gw.url, p);
    up.answer.set('/items/1', (req): Script => (req.method === 'PUT'
      ? { status: 200, headers: { location: '/items/2', 'content-location': 'http://elsewhere.example/items/3' } }
      : { headers: { 'cache-control': 'max-age=60' } }));
    const before = up.count('/items/1');
    await request(gw.url, '/items/1', {}, 'PUT', 'new soup');
    assert.match(String((await request(gw.url, '/items/1')).headers['cache-status']), /fwd=uri-miss/);
    assert.match(String((await request(gw.url, '/items/1?view=full')).headers['cache-status']), /fwd=uri-miss/, 'every query variant');
    assert.match(String((await request(gw.url, '/items/2')).headers['cache-status']), /fwd=uri-miss/, 'same-host Location');
    assert.match(String((await request(gw.url, '/items/3')).headers['cache-status']), /hit/, 'another host\'s Content-Location is ignored');
    assert.equal(up.count('/items/1'), before + 3);
  });

  it('an unsafe request that fails does not invalidate', async () => {
    up.answer.set('/items/9', (req) => (req.method === 'DELETE' ? { status: 500 } : { headers: { 'cache-control': 'max-age=60' } }));
    await request(gw.url, '/items/9');
    await request(gw.url, '/items/9', {}, 'DELETE');
    assert.match(String((await request(gw.url, '/items/9')).headers['cache-status']), /hit/);
  });
});

describe('response cache: config', () => {
  it('store: redis without a root redis section is refused with the exact path', async () => {
    await assert.rejects(startGateway({
      upstreams: { up: { targets: [{ url: 'http://127.0.0.1:9' }] } },
      routes: [{ name: 'r', match: { path: '/*' }, upstream: 'up', plugins: { cache: { store: 'redis' } } }],
    }), (err: Error & { issues?: Array<{ path: string; message: string }> }) => {
      assert.equal(err.issues?.[0]?.path, 'routes[0].plugins.cache.store');
      assert.match(err.issues![0]!.message, /no root `redis` section/);
      return true;
    });
  });
});
