import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { simpleConfig, startGateway, startUpstream } from '../helpers/gateway.ts';
import { generateApiKey, hashApiKey } from '../../src/identity/api-keys.ts';

const SECRET = 'server-side-secret-0123456789';
const ALICE = generateApiKey();
const BOB = generateApiKey();
const REVOKED = generateApiKey();
const EXPIRED = generateApiKey();

const consumers = {
  alice: { id: 'c-001', groups: ['staff', 'beta'], credentials: [{ type: 'key-auth', id: 'alice-1', keyHash: hashApiKey(ALICE) }] },
  bob: {
    credentials: [
      { type: 'key-auth', keyHash: hashApiKey(BOB, SECRET) },
      { type: 'key-auth', keyHash: hashApiKey(REVOKED), revoked: true },
      { type: 'key-auth', keyHash: hashApiKey(EXPIRED, SECRET), expiresAt: '2001-01-01T00:00:00Z' },
    ],
  },
};

interface Echo { url: string; headers: Record<string, string | undefined> }
interface Problem { code: string; status: number; detail: string; requestId: string }

async function setup(t: { after(fn: () => Promise<void>): void }, plugin: Record<string, unknown> = {}) {
  const up = await startUpstream();
  t.after(() => up.close());
  const gw = await startGateway(simpleConfig(up.url, [{ name: 'api', match: { path: '/*' }, plugins: { 'key-auth': plugin } }], {
    consumers, auth: { keySecret: SECRET },
  }));
  t.after(() => gw.close());
  return { up, gw };
}

describe('key-auth through a gateway', () => {
  it('lets a valid key through as its consumer, with the identity headers and without the key', async (t) => {
    const { gw } = await setup(t);
    const res = await fetch(`${gw.url}/orders`, { headers: { apikey: ALICE } });
    assert.equal(res.status, 200);
    const echo = await res.json() as Echo;
    assert.equal(echo.headers['x-consumer-id'], 'c-001');
    assert.equal(echo.headers['x-consumer-username'], 'alice');
    assert.equal(echo.headers['x-consumer-groups'], 'staff,beta');
    assert.equal(echo.headers['x-authenticated-subject'], 'alice');
    assert.equal(echo.headers.apikey, undefined);
  });

  it('accepts an HMAC-hashed key (auth.keySecret) in X-Api-Key', async (t) => {
    const { gw } = await setup(t);
    const res = await fetch(`${gw.url}/orders`, { headers: { 'x-api-key': BOB } });
    assert.equal(res.status, 200);
    const echo = await res.json() as Echo;
    assert.equal(echo.headers['x-consumer-username'], 'bob');
    assert.equal(echo.headers['x-consumer-groups'], undefined);
    assert.equal(echo.headers['x-api-key'], undefined);
  });

  it('answers 401 unauthorized with an ApiKey challenge when no key is sent, before the upstream', async (t) => {
    const { up, gw } = await setup(t);
    const res = await fetch(`${gw.url}/orders`);
    assert.equal(res.status, 401);
    assert.equal(res.headers.get('www-authenticate'), 'ApiKey realm="expeditor", header="apikey"');
    assert.equal((await res.json() as Problem).code, 'unauthorized');
    assert.equal(up.requests.length, 0);
  });

  it('answers wrong, revoked and expired keys with the same 401 invalid_credentials, which does not say why', async (t) => {
    const { up, gw } = await setup(t);
    const bodies = [];
    for (const key of [ALICE.slice(0, -1), REVOKED, EXPIRED, 'x']) {
      const res = await fetch(`${gw.url}/orders`, { headers: { apikey: key } });
      assert.equal(res.status, 401);
      assert.equal(res.headers.get('www-authenticate'), 'ApiKey realm="expeditor", header="apikey"');
      const { requestId, ...rest } = await res.json() as Problem;
      assert.equal(typeof requestId, 'string');
      bodies.push(rest);
    }
    assert.equal(bodies[0]!.code, 'invalid_credentials');
    for (const b of bodies) assert.deepEqual(b, bodies[0]);
    assert.doesNotMatch(JSON.stringify(bodies[0]), /revoked|expired|unknown/);
    assert.equal(up.requests.length, 0);
  });

  it('never forwards identity headers a client sends, whatever its credentials', async (t) => {
    const { gw } = await setup(t);
    const spoof = { 'x-consumer-id': 'admin', 'x-consumer-username': 'admin', 'x-consumer-groups': 'root', 'x-authenticated-scopes': 'all', 'x-consumer-anonymous': 'false' };
    const res = await fetch(`${gw.url}/orders`, { headers: { ...spoof, 'x-api-key': BOB } });
    const echo = await res.json() as Echo;
    assert.equal(echo.headers['x-consumer-id'], 'bob');
    assert.equal(echo.headers['x-consumer-username'], 'bob');
    assert.equal(echo.headers['x-consumer-groups'], undefined);
    assert.equal(echo.headers['x-authenticated-scopes'], undefined);
    assert.equal(echo.headers['x-consumer-anonymous'], undefined);
  });

  it('takes a key from a query parameter and strips it, keeping the other parameters byte for byte', async (t) => {
    const { gw } = await setup(t, { query: ['api_key'] });
    const res = await fetch(`${gw.url}/orders?a=%41%2f&api_key=${ALICE}&b=x+y&empty=&flag`);
    assert.equal(res.status, 200);
    assert.equal((await res.json() as Echo).url, '/orders?a=%41%2f&b=x+y&empty=&flag');
  });

  it('keeps the key where it is with hideCredentials: false', async (t) => {
    const { gw } = await setup(t, { query: ['api_key'], hideCredentials: false });
    const res = await fetch(`${gw.url}/orders?api_key=${ALICE}`, { headers: { apikey: ALICE } });
    const echo = await res.json() as Echo;
    assert.equal(echo.url, `/orders?api_key=${ALICE}`);
    assert.equal(echo.headers.apikey, ALICE);
  });

  it('takes a key from a cookie and removes just that cookie', async (t) => {
    const { gw } = await setup(t, { headers: [], cookies: ['api-key'] });
    const res = await fetch(`${gw.url}/orders`, { headers: { cookie: `theme=dark; api-key=${ALICE}; lang=fr` } });
    assert.equal(res.status, 200);
    assert.equal((await res.json() as Echo).headers.cookie, 'theme=dark; lang=fr');
    const unauth = await fetch(`${gw.url}/orders`, { headers: { apikey: ALICE } });
    assert.equal(unauth.status, 401);
    assert.equal(unauth.headers.get('www-authenticate'), 'ApiKey realm="expeditor", cookie="api-key"');
  });
});
