import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { errors, exportJWK, generateKeyPair, type JWK } from 'jose';
import { JwksCache, KeysUnavailable, type JwksSettings } from '../../src/plugins/jwt/jwks-cache.ts';

/** A JWKS endpoint whose answer tests change at run time; it counts requests and can hold them until released. */
async function startJwksServer(t: { after(fn: () => Promise<void>): void }) {
  const state = {
    keys: [] as JWK[],
    cacheControl: undefined as string | undefined,
    status: 200,
    requests: 0,
    /** While set, requests wait for it before they are answered. */
    gate: undefined as Promise<void> | undefined,
  };
  const server = http.createServer(async (req, res) => {
    state.requests++;
    if (state.gate !== undefined) await state.gate;
    if (state.status !== 200) {
      res.writeHead(state.status).end('down');
      return;
    }
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (state.cacheControl !== undefined) headers['cache-control'] = state.cacheControl;
    res.writeHead(200, headers).end(JSON.stringify({ keys: state.keys }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`, state };
}

async function publicJwk(kid: string): Promise<JWK> {
  const { publicKey } = await generateKeyPair('ES256', { extractable: true });
  return { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' };
}

const SETTINGS: JwksSettings = { defaultTtl: 300_000, minTtl: 10_000, maxTtl: 3_600_000, timeout: 2000, refreshInterval: 30_000, retryMax: 30_000 };

/** A clock the test moves by hand. */
function clock(start = 1_000_000) {
  const c = { t: start, now: () => c.t };
  return c;
}

function released() {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => { release = resolve; });
  return { gate, release };
}

describe('JWKS cache', () => {
  it('fetches once, then serves from cache for the Cache-Control max-age', async (t) => {
    const s = await startJwksServer(t);
    s.state.keys = [await publicJwk('a')];
    s.state.cacheControl = 'public, max-age=60';
    const c = clock();
    const cache = JwksCache.create(s.url, SETTINGS, c.now);
    await cache.getKey({ alg: 'ES256', kid: 'a' });
    c.t += 59_000;
    await cache.getKey({ alg: 'ES256', kid: 'a' });
    assert.equal(s.state.requests, 1);
  });

  it('serves stale keys at once when max-age has passed, and refreshes once in the background', async (t) => {
    const s = await startJwksServer(t);
    s.state.keys = [await publicJwk('a')];
    s.state.cacheControl = 'max-age=60';
    const c = clock();
    const cache = JwksCache.create(s.url, SETTINGS, c.now);
    await cache.getKey({ alg: 'ES256', kid: 'a' });
    c.t += 61_000;
    const { gate, release } = released();
    s.state.gate = gate;
    // Every lookup answers from the stale set while the one refresh is held at the server.
    for (let i = 0; i < 10; i++) await cache.getKey({ alg: 'ES256', kid: 'a' });
    assert.equal(cache.document.fetching, true);
    assert.equal(cache.document.fetches, 2);
    release();
    await cache.document.refresh();
    assert.equal(s.state.requests, 2);
    await cache.getKey({ alg: 'ES256', kid: 'a' });
    assert.equal(s.state.requests, 2, 'fresh again after the refresh');
  });

  it('clamps max-age between minTtl and maxTtl, and uses defaultTtl without Cache-Control', async (t) => {
    const s = await startJwksServer(t);
    s.state.keys = [await publicJwk('a')];
    const c = clock();
    s.state.cacheControl = 'max-age=1';
    const short = JwksCache.create(s.url, SETTINGS, c.now);
    await short.getKey({ alg: 'ES256', kid: 'a' });
    c.t += 9_000;
    await short.getKey({ alg: 'ES256', kid: 'a' });
    assert.equal(s.state.requests, 1, 'max-age=1 is raised to minTtl (10s)');

    s.state.cacheControl = 'max-age=31536000';
    const long = JwksCache.create(s.url, SETTINGS, c.now);
    await long.getKey({ alg: 'ES256', kid: 'a' });
    c.t += 3_600_000;
    await long.getKey({ alg: 'ES256', kid: 'a' });
    await long.document.refresh();
    assert.equal(long.document.fetches, 2, 'a year of max-age is lowered to maxTtl (1h)');

    s.state.cacheControl = undefined;
    const plain = JwksCache.create(s.url, SETTINGS, c.now);
    await plain.getKey({ alg: 'ES256', kid: 'a' });
    c.t += 299_000;
    await plain.getKey({ alg: 'ES256', kid: 'a' });
    assert.equal(plain.document.fetches, 1);
    c.t += 2_000;
    await plain.getKey({ alg: 'ES256', kid: 'a' });
    assert.equal(plain.document.fetches, 2, 'stale after defaultTtl (5m)');
  });

  it('keeps serving the stale keys while the endpoint is down, retrying with a growing delay', async (t) => {
    const s = await startJwksServer(t);
    s.state.keys = [await publicJwk('a')];
    s.state.cacheControl = 'max-age=60';
    const c = clock();
    const cache = JwksCache.create(s.url, SETTINGS, c.now);
    await cache.getKey({ alg: 'ES256', kid: 'a' });
    s.state.status = 503;
    c.t += 61_000;
    await cache.getKey({ alg: 'ES256', kid: 'a' });
    await cache.document.refresh();
    assert.match(cache.document.lastError ?? '', /answered 503/);
    await cache.getKey({ alg: 'ES256', kid: 'a' });
    assert.equal(s.state.requests, 2, 'no retry within the first second');
    c.t += 1_000;
    await cache.getKey({ alg: 'ES256', kid: 'a' });
    await cache.document.refresh();
    assert.equal(s.state.requests, 3);
    c.t += 1_000;
    await cache.getKey({ alg: 'ES256', kid: 'a' });
    assert.equal(s.state.requests, 3, 'the second retry waits 2s');
    s.state.status = 200;
    c.t += 1_000;
    await cache.getKey({ alg: 'ES256', kid: 'a' });
    await cache.document.refresh();
    assert.equal(s.state.requests, 4);
    assert.equal(cache.document.lastError, undefined);
  });

  it('is unavailable when nothing was ever fetched and the endpoint is down', async (t) => {
    const s = await startJwksServer(t);
    s.state.status = 500;
    const cache = JwksCache.create(s.url, SETTINGS, clock().now);
    await assert.rejects(cache.getKey({ alg: 'ES256', kid: 'a' }), KeysUnavailable);
    const closed = JwksCache.create('http://127.0.0.1:1/jwks', SETTINGS, clock().now);
    await assert.rejects(closed.getKey({ alg: 'ES256', kid: 'a' }), KeysUnavailable);
  });

  it('refetches for an unknown kid (a rotation) at most once per refreshInterval', async (t) => {
    const s = await startJwksServer(t);
    s.state.keys = [await publicJwk('old')];
    s.state.cacheControl = 'max-age=3600';
    const c = clock();
    const cache = JwksCache.create(s.url, SETTINGS, c.now);
    await cache.getKey({ alg: 'ES256', kid: 'old' });
    s.state.keys = [await publicJwk('new')];
    await cache.getKey({ alg: 'ES256', kid: 'new' });
    assert.equal(s.state.requests, 2, 'one refetch picked up the new key');
    await assert.rejects(cache.getKey({ alg: 'ES256', kid: 'other' }), errors.JWKSNoMatchingKey);
    await assert.rejects(cache.getKey({ alg: 'ES256', kid: 'old' }), errors.JWKSNoMatchingKey);
    assert.equal(s.state.requests, 2, 'no second refetch within the interval');
    c.t += 30_000;
    await assert.rejects(cache.getKey({ alg: 'ES256', kid: 'other' }), errors.JWKSNoMatchingKey);
    assert.equal(s.state.requests, 3);
  });

  it('shares one fetch among concurrent unknown-kid misses', async (t) => {
    const s = await startJwksServer(t);
    s.state.keys = [await publicJwk('a')];
    s.state.cacheControl = 'max-age=3600';
    const cache = JwksCache.create(s.url, SETTINGS, clock().now);
    await cache.getKey({ alg: 'ES256', kid: 'a' });
    const { gate, release } = released();
    s.state.gate = gate;
    const misses = Array.from({ length: 50 }, (_, i) => cache.getKey({ alg: 'ES256', kid: `random-${i}` }));
    release();
    const results = await Promise.allSettled(misses);
    assert.ok(results.every((r) => r.status === 'rejected' && r.reason instanceof errors.JWKSNoMatchingKey));
    assert.equal(s.state.requests, 2);
  });

  it('shares one cache per URL and settings across instances (a config reload does not refetch)', () => {
    const a = JwksCache.shared('https://issuer.example/jwks', SETTINGS);
    assert.equal(JwksCache.shared('https://issuer.example/jwks', { ...SETTINGS }), a);
    assert.notEqual(JwksCache.shared('https://issuer.example/jwks', { ...SETTINGS, refreshInterval: 1000 }), a);
    assert.notEqual(JwksCache.shared('https://other.example/jwks', SETTINGS), a);
  });

  it('ignores private and symmetric members of a published set', async (t) => {
    const s = await startJwksServer(t);
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    s.state.keys = [{ ...(await exportJWK(privateKey)), kid: 'leaked' }, { kty: 'oct', k: 'c2VjcmV0', kid: 'sym' }];
    const cache = JwksCache.create(s.url, SETTINGS, clock().now);
    await assert.rejects(cache.getKey({ alg: 'ES256', kid: 'leaked' }), errors.JWKSNoMatchingKey);
    await assert.rejects(cache.getKey({ alg: 'HS256', kid: 'sym' }), errors.JOSENotSupported);
  });
});
