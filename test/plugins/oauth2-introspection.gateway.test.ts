import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { simpleConfig, startGateway, startUpstream, type TestGateway } from '../helpers/gateway.ts';
import { startOidcProvider, type TestOidcProvider } from '../helpers/oidc.ts';

type After = { after(fn: () => Promise<void>): void };

const INTROSPECTION = '/token/introspection';
const consumers = {
  'orders-app': { groups: ['partners'], credentials: [{ type: 'token', subject: 'orders-app' }] },
};

/** A real provider and a gateway whose routes introspect its tokens (the provider's own client asks). */
async function setup(t: After, plugin: (p: TestOidcProvider) => Record<string, unknown> = (p) => ({ endpoint: `${p.issuer}${INTROSPECTION}` })) {
  const p = await startOidcProvider();
  const up = await startUpstream();
  const config = (extra: Record<string, unknown> = {}) => ({ clientId: p.client.clientId, clientSecret: p.client.clientSecret, ...plugin(p), ...extra });
  const gw = await startGateway(simpleConfig(up.url, [
    { name: 'api', match: { path: '/api/*' }, plugins: { 'oauth2-introspection': config() } },
    { name: 'write', match: { path: '/write/*' }, plugins: { 'oauth2-introspection': config(), acl: { scopes: ['orders:write'] } } },
    { name: 'uncached', match: { path: '/uncached/*' }, plugins: { 'oauth2-introspection': config({ ttl: 0, negativeTtl: 0 }) } },
  ], { consumers }));
  t.after(async () => { await gw.close(); await up.close(); await p.close(); });
  return { p, gw };
}

async function get(gw: TestGateway, path: string, token: string): Promise<Response> {
  return fetch(`${gw.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
}

async function assertRefused(res: Response): Promise<void> {
  assert.equal(res.status, 401);
  assert.equal(res.headers.get('www-authenticate'), 'Bearer realm="expeditor", error="invalid_token"');
  const body = await res.json() as Record<string, unknown>;
  assert.equal(body.code, 'invalid_credentials');
  assert.equal(body.detail, 'credentials not accepted');
}

describe('oauth2-introspection through a gateway, with a real OpenID provider', () => {
  it('accepts an active opaque token, tells the upstream who it is, and caches the answer', async (t) => {
    const { p, gw } = await setup(t);
    const token = await p.token({ resource: null });
    const res = await get(gw, '/api/orders', token);
    assert.equal(res.status, 200);
    const { headers } = await res.json() as { headers: Record<string, string> };
    assert.equal(headers['x-consumer-id'], 'orders-app');
    assert.equal(headers['x-consumer-groups'], 'partners');
    assert.equal(headers['x-authenticated-scopes'], 'orders:read orders:write');
    assert.equal(headers['x-authenticated-subject'], 'orders-app');
    assert.equal(p.hitsOf(INTROSPECTION), 1);
    assert.equal((await get(gw, '/api/orders', token)).status, 200);
    assert.equal((await get(gw, '/write/orders', token)).status, 200, 'another route with the same settings shares the answer');
    assert.equal(p.hitsOf(INTROSPECTION), 1);
  });

  it('finds the endpoint through discovery', async (t) => {
    const { p, gw } = await setup(t, (p) => ({ issuer: p.issuer, discovery: true }));
    assert.equal((await get(gw, '/api/x', await p.token({ resource: null }))).status, 200);
    assert.equal(p.hitsOf('/.well-known/openid-configuration'), 1);
    assert.equal(p.hitsOf(INTROSPECTION), 1);
  });

  it('lets acl require a scope from the answer', async (t) => {
    const { p, gw } = await setup(t);
    assert.equal((await get(gw, '/write/x', await p.token({ resource: null, scope: 'orders:read' }))).status, 403);
    assert.equal((await get(gw, '/write/x', await p.token({ resource: null, scope: 'orders:write' }))).status, 200);
  });

  it('refuses an unknown token, and caches that for negativeTtl', async (t) => {
    const { p, gw } = await setup(t);
    await assertRefused(await get(gw, '/api/x', 'made-up-token-value'));
    await assertRefused(await get(gw, '/api/x', 'made-up-token-value'));
    assert.equal(p.hitsOf(INTROSPECTION), 1);
  });

  it('refuses a JWT the provider cannot introspect (400 unsupported_token_type)', async (t) => {
    const { p, gw } = await setup(t);
    await assertRefused(await get(gw, '/api/x', await p.token()));
    assert.equal(p.hitsOf(INTROSPECTION), 1);
  });

  it('refuses a revoked token at once without a positive cache; with one, the cached answer stands until ttl', async (t) => {
    const { p, gw } = await setup(t);
    const token = await p.token({ resource: null });
    assert.equal((await get(gw, '/uncached/x', token)).status, 200);
    assert.equal((await get(gw, '/api/x', token)).status, 200);
    await p.revoke(token);
    await assertRefused(await get(gw, '/uncached/x', token));
    assert.equal((await get(gw, '/api/x', token)).status, 200, 'the cached answer stands until ttl (30s by default)');
  });

  it('makes one introspection call for concurrent requests with the same new token', async (t) => {
    const { p, gw } = await setup(t);
    const token = await p.token({ resource: null });
    const results = await Promise.all(Array.from({ length: 20 }, () => get(gw, '/api/x', token)));
    assert.deepEqual([...new Set(results.map((r) => r.status))], [200]);
    assert.equal(p.hitsOf(INTROSPECTION), 1);
  });

  it('answers 503 auth_unavailable for an uncached token while the provider is down; a cached one still works', async (t) => {
    const { p, gw } = await setup(t);
    const cached = await p.token({ resource: null });
    const uncached = await p.token({ resource: null });
    assert.equal((await get(gw, '/api/x', cached)).status, 200);
    await p.stop();
    assert.equal((await get(gw, '/api/x', cached)).status, 200);
    const res = await get(gw, '/api/x', uncached);
    assert.equal(res.status, 503);
    assert.equal((await res.json() as { code: string }).code, 'auth_unavailable');
    await p.resume();
    assert.equal((await get(gw, '/api/x', uncached)).status, 200, 'unavailable answers are not cached');
  });
});
