import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createPublicKey, randomUUID } from 'node:crypto';
import { SignJWT, decodeProtectedHeader, importJWK, type JWK, type JWTPayload } from 'jose';
import { simpleConfig, startGateway, startUpstream, type TestGateway, type TestUpstream } from '../helpers/gateway.ts';
import { AUDIENCE, startOidcProvider, type TestOidcProvider } from '../helpers/oidc.ts';
import { JwksCache } from '../../src/plugins/jwt/jwks-cache.ts';

type After = { after(fn: () => Promise<void>): void };

const consumers = {
  'orders-app': { groups: ['partners'], credentials: [{ type: 'token', subject: 'orders-app' }] },
};

/** The jwt plugin trusting the test provider through discovery. */
function jwtPlugin(p: TestOidcProvider, issuer: Record<string, unknown> = {}, plugin: Record<string, unknown> = {}) {
  return { issuers: [{ issuer: p.issuer, discovery: true, algorithms: ['RS256', 'ES256'], audiences: [AUDIENCE], ...issuer }], ...plugin };
}

async function setup(t: After, p: TestOidcProvider, routes: Array<Record<string, unknown>>) {
  const up = await startUpstream();
  const gw = await startGateway(simpleConfig(up.url, routes, { consumers }));
  t.after(async () => { await gw.close(); await up.close(); });
  return { up, gw };
}

async function get(gw: TestGateway, path: string, token?: string): Promise<Response> {
  return fetch(`${gw.url}${path}`, { headers: token === undefined ? {} : { authorization: `Bearer ${token}` } });
}

/** A 401 that says the credentials were refused, and nothing about why. */
async function assertRefused(res: Response): Promise<void> {
  assert.equal(res.status, 401);
  assert.equal(res.headers.get('content-type'), 'application/problem+json');
  assert.equal(res.headers.get('www-authenticate'), 'Bearer realm="expeditor", error="invalid_token"');
  const body = await res.json() as Record<string, unknown>;
  assert.deepEqual(Object.keys(body).sort(), ['code', 'detail', 'requestId', 'status', 'title', 'type']);
  assert.equal(body.code, 'invalid_credentials');
  assert.equal(body.detail, 'credentials not accepted');
}

/** Signs claims (defaults: a valid token of the provider) with one of the provider's own private keys. */
async function forge(p: TestOidcProvider, claims: JWTPayload = {}, header: Record<string, unknown> = {}, key: JWK = p.signingKeys[0]!): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ iss: p.issuer, sub: 'orders-app', client_id: 'orders-app', aud: AUDIENCE, scope: 'orders:read', iat: now, exp: now + 300, ...claims })
    .setProtectedHeader({ alg: key.alg!, kid: key.kid, typ: 'at+jwt', ...header })
    .sign(await importJWK(key, key.alg));
}

describe('jwt through a gateway, with a real OpenID provider', () => {
  let p: TestOidcProvider;
  let up: TestUpstream;
  let gw: TestGateway;

  before(async () => {
    p = await startOidcProvider();
    up = await startUpstream();
    gw = await startGateway(simpleConfig(up.url, [
      { name: 'api', match: { path: '/api/*' }, plugins: { jwt: jwtPlugin(p) } },
      { name: 'write', match: { path: '/write/*' }, plugins: { jwt: jwtPlugin(p), acl: { scopes: ['orders:write'] } } },
      { name: 'tenant', match: { path: '/tenant/*' }, plugins: { jwt: jwtPlugin(p, { requiredClaims: ['tenant'] }) } },
      { name: 'hidden', match: { path: '/hidden/*' }, plugins: { jwt: jwtPlugin(p, {}, { hideCredentials: true }) } },
    ], { consumers }));
  });
  after(async () => {
    await gw.close();
    await up.close();
    await p.close();
  });

  it('validates a provider-issued RS256 token through discovery and JWKS, and tells the upstream who it is', async () => {
    const token = await p.token();
    const res = await get(gw, '/api/orders', token);
    assert.equal(res.status, 200);
    const { headers } = await res.json() as { headers: Record<string, string> };
    assert.equal(headers['x-consumer-id'], 'orders-app');
    assert.equal(headers['x-consumer-username'], 'orders-app');
    assert.equal(headers['x-consumer-groups'], 'partners');
    assert.equal(headers['x-authenticated-scopes'], 'orders:read orders:write');
    assert.equal(headers['x-authenticated-subject'], 'orders-app');
    assert.equal(headers.authorization, `Bearer ${token}`);
  });

  it('validates a provider-issued ES256 token', async () => {
    const token = await p.token({ alg: 'ES256' });
    assert.equal(decodeProtectedHeader(token).alg, 'ES256');
    assert.equal((await get(gw, '/api/orders', token)).status, 200);
  });

  it('removes the token from the upstream request with hideCredentials', async () => {
    const res = await get(gw, '/hidden/x', await p.token());
    assert.equal(res.status, 200);
    const { headers } = await res.json() as { headers: Record<string, string> };
    assert.equal(headers.authorization, undefined);
    assert.equal(headers['x-consumer-id'], 'orders-app');
  });

  it('lets acl require a scope: 403 insufficient_scope without it, 200 with it', async () => {
    const readOnly = await get(gw, '/write/x', await p.token({ scope: 'orders:read' }));
    assert.equal(readOnly.status, 403);
    assert.match(readOnly.headers.get('www-authenticate') ?? '', /error="insufficient_scope", scope="orders:write"/);
    assert.equal((await get(gw, '/write/x', await p.token({ scope: 'orders:read orders:write' }))).status, 200);
  });

  it('answers 401 unauthorized with a plain Bearer challenge when there is no token', async () => {
    const res = await get(gw, '/api/x');
    assert.equal(res.status, 401);
    assert.equal(res.headers.get('www-authenticate'), 'Bearer realm="expeditor"');
    assert.equal((await res.json() as { code: string }).code, 'unauthorized');
  });

  describe('refuses, with a 401 that does not say why,', () => {
    it('an unsigned token (alg none)', async () => {
      const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
      const now = Math.floor(Date.now() / 1000);
      const token = `${b64({ alg: 'none', typ: 'at+jwt' })}.${b64({ iss: p.issuer, sub: 'orders-app', aud: AUDIENCE, exp: now + 300 })}.`;
      await assertRefused(await get(gw, '/api/x', token));
    });

    it('an RS256 token re-signed with HS256, the published public key as the secret', async () => {
      const jwk = p.signingKeys[0]!;
      const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...publicJwk } = jwk;
      const publicPem = createPublicKey({ key: publicJwk as never, format: 'jwk' }).export({ type: 'spki', format: 'pem' }) as string;
      for (const secret of [publicPem, JSON.stringify(publicJwk)]) {
        const now = Math.floor(Date.now() / 1000);
        const token = await new SignJWT({ iss: p.issuer, sub: 'orders-app', aud: AUDIENCE, iat: now, exp: now + 300 })
          .setProtectedHeader({ alg: 'HS256', kid: jwk.kid })
          .sign(new TextEncoder().encode(secret));
        await assertRefused(await get(gw, '/api/x', token));
      }
    });

    it('an expired token', async () => {
      const now = Math.floor(Date.now() / 1000);
      await assertRefused(await get(gw, '/api/x', await forge(p, { iat: now - 600, exp: now - 60 })));
    });

    it('a token not yet valid (nbf)', async () => {
      await assertRefused(await get(gw, '/api/x', await forge(p, { nbf: Math.floor(Date.now() / 1000) + 120 })));
    });

    it('a token for another audience', async () => {
      await assertRefused(await get(gw, '/api/x', await forge(p, { aud: 'https://billing.example.com' })));
    });

    it('a token whose iss was changed after signing, or names an issuer other than the one its key belongs to', async () => {
      const genuine = await forge(p);
      const [h, , s] = genuine.split('.');
      const claims = JSON.parse(Buffer.from(genuine.split('.')[1]!, 'base64url').toString()) as JWTPayload;
      const altered = `${h}.${Buffer.from(JSON.stringify({ ...claims, iss: `${p.issuer}/` })).toString('base64url')}.${s}`;
      await assertRefused(await get(gw, '/api/x', altered));
      await assertRefused(await get(gw, '/api/x', await forge(p, { iss: 'https://login.example.com' })));
    });

    it('a token from a real issuer the route does not trust', async (t) => {
      const other = await startOidcProvider();
      t.after(() => other.close());
      await assertRefused(await get(gw, '/api/x', await other.token()));
      assert.equal(other.hitsOf('/jwks'), 0, 'the untrusted issuer is never asked for keys');
    });

    it('a kid with path or SQL characters, which is never used but as a lookup key', async () => {
      const before = new Set(p.hits.keys());
      for (const kid of ['../../etc/passwd', "' OR 1=1 --", '%2e%2e%2f', 'http://169.254.169.254/']) {
        await assertRefused(await get(gw, '/api/x', await forge(p, {}, { kid })));
      }
      assert.deepEqual([...p.hits.keys()].filter((k) => !before.has(k)), [], 'no new path was requested at the provider');
    });

    it('a storm of random kids, with at most one JWKS fetch per refreshInterval', async () => {
      const fetchesBefore = p.hitsOf('/jwks');
      const tokens = await Promise.all(Array.from({ length: 100 }, () => forge(p, {}, { kid: randomUUID() })));
      const first = await Promise.all(tokens.slice(0, 50).map((tk) => get(gw, '/api/x', tk)));
      const second = await Promise.all(tokens.slice(50).map((tk) => get(gw, '/api/x', tk)));
      for (const res of [...first, ...second]) await assertRefused(res);
      assert.ok(p.hitsOf('/jwks') - fetchesBefore <= 1, `${p.hitsOf('/jwks') - fetchesBefore} JWKS fetches`);
      assert.equal((await get(gw, '/api/x', await p.token())).status, 200, 'genuine tokens still pass');
    });

    it('a token without a required claim', async () => {
      await assertRefused(await get(gw, '/tenant/x', await forge(p)));
      assert.equal((await get(gw, '/tenant/x', await forge(p, { tenant: 'acme' }))).status, 200);
    });

    it('a token whose signature does not match', async () => {
      const token = await forge(p);
      await assertRefused(await get(gw, '/api/x', `${token.slice(0, -6)}AAAAAA`));
    });
  });
});

describe('jwt key rotation and outages, with a real OpenID provider', () => {
  it('accepts tokens signed with a new key after one JWKS refetch; tokens of a removed key stop working', async (t) => {
    const p = await startOidcProvider();
    t.after(() => p.close());
    // Without the verified-token cache, which would honour a token it has seen for up to its ttl.
    const { gw } = await setup(t, p, [{ name: 'api', match: { path: '/*' }, plugins: { jwt: jwtPlugin(p, {}, { verifiedCache: { ttl: 0 } }) } }]);
    const before = await p.token();
    assert.equal((await get(gw, '/x', before)).status, 200);
    assert.equal(p.hitsOf('/jwks'), 1);

    await p.rotateKeys();
    const after = await p.token();
    assert.notEqual(decodeProtectedHeader(after).kid, decodeProtectedHeader(before).kid);
    assert.equal((await get(gw, '/x', after)).status, 200);
    assert.equal(p.hitsOf('/jwks'), 2, 'one refetch for the new kid');
    assert.equal((await get(gw, '/x', await p.token({ alg: 'ES256' }))).status, 200);
    await assertRefused(await get(gw, '/x', before));
    assert.equal(p.hitsOf('/jwks'), 2, 'the old kid does not refetch again within refreshInterval');
  });

  it('keeps serving previously-issued tokens from stale keys while the provider is down', async (t) => {
    const p = await startOidcProvider();
    t.after(() => p.close());
    // Every fetched document is stale at once: each request after the first wants a refresh.
    const plugin = jwtPlugin(p, {}, { jwks: { defaultTtl: 0, minTtl: 0, maxTtl: 0 } });
    const { gw } = await setup(t, p, [{ name: 'api', match: { path: '/*' }, plugins: { jwt: plugin } }]);
    const token = await p.token();
    assert.equal((await get(gw, '/x', token)).status, 200);
    await p.stop();
    for (let i = 0; i < 3; i++) assert.equal((await get(gw, '/x', token)).status, 200);
    // The plugin's cache (shared by URL and settings, the plugin's defaults but for the lifetimes) did try to refresh.
    const cache = JwksCache.shared(`${p.issuer}/jwks`, { defaultTtl: 0, minTtl: 0, maxTtl: 0, timeout: 5000, refreshInterval: 30_000, retryMax: 30_000 });
    await cache.document.refresh();
    assert.ok(cache.document.fetches >= 2);
    assert.match(cache.document.lastError ?? '', /ECONNREFUSED/);
  });

  it('answers 503 auth_unavailable when the keys were never fetched and the provider is down', async (t) => {
    const p = await startOidcProvider();
    t.after(() => p.close());
    const token = await p.token();
    const { gw } = await setup(t, p, [{ name: 'api', match: { path: '/*' }, plugins: { jwt: jwtPlugin(p, { issuer: p.issuer, discovery: false, jwksUri: `${p.issuer}/jwks` }) } }]);
    await p.stop();
    const res = await get(gw, '/x', token);
    assert.equal(res.status, 503);
    assert.equal((await res.json() as { code: string }).code, 'auth_unavailable');
    assert.equal(res.headers.get('retry-after'), '5');
  });

  it('does not refetch keys on a config reload, nor for a second route', async (t) => {
    const p = await startOidcProvider();
    t.after(() => p.close());
    const routes = [
      { name: 'a', match: { path: '/a/*' }, plugins: { jwt: jwtPlugin(p) } },
      { name: 'b', match: { path: '/b/*' }, plugins: { jwt: jwtPlugin(p) } },
    ];
    const { gw, up } = await setup(t, p, routes);
    const token = await p.token();
    assert.equal((await get(gw, '/a/x', token)).status, 200);
    assert.equal((await get(gw, '/b/x', token)).status, 200);
    await gw.gateway.apply(simpleConfig(up.url, [...routes].reverse(), { consumers, listen: { port: 0, host: '127.0.0.1' }, admin: { port: 0, host: '127.0.0.1' } }));
    assert.equal((await get(gw, '/a/x', token)).status, 200);
    assert.equal(p.hitsOf('/jwks'), 1);
    assert.equal(p.hitsOf('/.well-known/openid-configuration'), 1);
  });
});
