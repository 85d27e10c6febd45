import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SignJWT } from 'jose';
import { VerifiedTokens } from '../../src/plugins/jwt/verified-cache.ts';
import { jwt } from '../../src/plugins/jwt/plugin.ts';
import { context, create, scope } from './support.ts';

const SECRET = 'a-secret-of-thirty-two-bytes-0123456789';
const ISS = 'https://id.example.com';

describe('VerifiedTokens', () => {
  const T0 = 1_800_000_000_000;

  it('remembers a token for ttl, never past exp plus the skew', () => {
    let now = T0;
    const cache = new VerifiedTokens(10, 60_000, 5_000, undefined, () => now);
    cache.set('long', ISS, { exp: T0 / 1000 + 3600 });
    cache.set('short', ISS, { exp: T0 / 1000 + 10 });
    now = T0 + 14_999;
    assert.ok(cache.get('short'), 'valid until exp + skew');
    now = T0 + 15_000;
    assert.equal(cache.get('short'), undefined);
    now = T0 + 59_999;
    assert.ok(cache.get('long'));
    now = T0 + 60_000;
    assert.equal(cache.get('long'), undefined, 'ttl bounds a token that lives longer');
    assert.equal(cache.size, 0, 'expired entries are dropped when met');
  });

  it('bounds an entry by iat + maxTokenAge, and stores nothing already expired', () => {
    let now = T0;
    const cache = new VerifiedTokens(10, 60_000, 0, 20_000, () => now);
    cache.set('aged', ISS, { iat: T0 / 1000 - 15, exp: T0 / 1000 + 3600 });
    cache.set('dead', ISS, { exp: T0 / 1000 - 1 });
    assert.equal(cache.size, 1);
    now = T0 + 5_000;
    assert.equal(cache.get('aged'), undefined);
  });

  it('drops the oldest entry past maxEntries, and stores nothing when off', () => {
    const cache = new VerifiedTokens(2, 60_000, 0, undefined, () => T0);
    for (const t of ['a', 'b', 'c']) cache.set(t, ISS, { exp: T0 / 1000 + 100 });
    assert.deepEqual(['a', 'b', 'c'].map((t) => cache.get(t) !== undefined), [false, true, true]);
    const off = new VerifiedTokens(10, 0, 0, undefined, () => T0);
    off.set('a', ISS, { exp: T0 / 1000 + 100 });
    assert.equal(off.size, 0);
  });
});

describe('jwt with the verified-token cache', () => {
  const consumers = { consumers: { shop: { credentials: [{ type: 'token', subject: 'shop-client' }] } } };
  const token = () => new SignJWT({ iss: ISS, sub: 'shop-client', scope: 'read' })
    .setProtectedHeader({ alg: 'HS256' }).setIssuedAt().setExpirationTime('5m')
    .sign(new TextEncoder().encode(SECRET));

  it('answers a token seen before synchronously, with the same identity', async () => {
    const h = create(jwt, { issuers: [{ issuer: ISS, keys: [{ secret: SECRET }], algorithms: ['HS256'] }] }, scope(consumers));
    const t = await token();
    const first = h.authenticator!.authenticate(context({ headers: { authorization: `Bearer ${t}` } }));
    assert.ok(first instanceof Promise, 'the first time, the signature is checked');
    const r1 = await first;
    const second = h.authenticator!.authenticate(context({ headers: { authorization: `Bearer ${t}` } }));
    assert.ok(!(second instanceof Promise), 'the second time, no signature check');
    assert.equal(r1.outcome, 'success');
    assert.equal(second.outcome, 'success');
    const id = (r: typeof second) => (r as { identity: { consumer?: { name: string }; scopes: readonly string[] } }).identity;
    assert.equal(id(second).consumer?.name, 'shop');
    assert.deepEqual(id(second).scopes, ['read']);
  });

  it('checks every time when turned off, and never caches a refused token', async () => {
    const off = create(jwt, { issuers: [{ issuer: ISS, keys: [{ secret: SECRET }], algorithms: ['HS256'] }], verifiedCache: { ttl: 0 } });
    const t = await token();
    await off.authenticator!.authenticate(context({ headers: { authorization: `Bearer ${t}` } }));
    assert.ok(off.authenticator!.authenticate(context({ headers: { authorization: `Bearer ${t}` } })) instanceof Promise);
    const on = create(jwt, { issuers: [{ issuer: ISS, keys: [{ secret: SECRET }], algorithms: ['HS256'] }] });
    const forged = `${t.slice(0, t.lastIndexOf('.'))}.${'A'.repeat(43)}`;
    for (let i = 0; i < 2; i++) {
      const r = await on.authenticator!.authenticate(context({ headers: { authorization: `Bearer ${forged}` } }));
      assert.equal(r.outcome, 'invalid');
    }
  });
});
