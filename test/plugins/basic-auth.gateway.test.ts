import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { simpleConfig, startGateway, startUpstream } from '../helpers/gateway.ts';
import { hashPassword } from '../../src/identity/passwords.ts';

interface Echo { headers: Record<string, string | undefined> }
interface Problem { code: string; detail: string; requestId: string }

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`, 'utf8').toString('base64')}`;

// Hashes with the recommended parameters, as `expeditor passwords hash` makes them.
const hashes = Promise.all([hashPassword('tr0ub4dor&3', 'scrypt'), hashPassword('pässwörd', 'argon2id'), hashPassword('old', 'scrypt')]);

async function setup(t: { after(fn: () => Promise<void>): void }, plugin: Record<string, unknown> = {}) {
  const [scrypt, argon2id, old] = await hashes;
  const up = await startUpstream();
  t.after(() => up.close());
  const gw = await startGateway(simpleConfig(up.url, [{ name: 'api', match: { path: '/*' }, plugins: { 'basic-auth': plugin } }], {
    consumers: {
      alice: { groups: ['ops'], credentials: [{ type: 'basic-auth', username: 'alice', passwordHash: scrypt }] },
      zoe: { credentials: [{ type: 'basic-auth', username: 'zoë', passwordHash: argon2id }] },
      old: { credentials: [{ type: 'basic-auth', username: 'old', passwordHash: old, revoked: true }] },
    },
  }));
  t.after(() => gw.close());
  return { up, gw };
}

describe('basic-auth through a gateway', () => {
  it('lets a user with an scrypt hash through, with identity headers and without Authorization', async (t) => {
    const { gw } = await setup(t);
    const res = await fetch(`${gw.url}/x`, { headers: { authorization: basic('alice', 'tr0ub4dor&3'), 'x-consumer-username': 'root' } });
    assert.equal(res.status, 200);
    const echo = await res.json() as Echo;
    assert.equal(echo.headers['x-consumer-id'], 'alice');
    assert.equal(echo.headers['x-consumer-username'], 'alice');
    assert.equal(echo.headers['x-consumer-groups'], 'ops');
    assert.equal(echo.headers.authorization, undefined);
  });

  it('lets a UTF-8 user with an argon2id hash through', async (t) => {
    const { gw } = await setup(t);
    const res = await fetch(`${gw.url}/x`, { headers: { authorization: basic('zoë', 'pässwörd') } });
    assert.equal(res.status, 200);
    const echo = await res.json() as Echo;
    assert.equal(echo.headers['x-consumer-username'], 'zoe');
  });

  it('answers 401 unauthorized with a Basic challenge without credentials', async (t) => {
    const { up, gw } = await setup(t);
    const res = await fetch(`${gw.url}/x`);
    assert.equal(res.status, 401);
    assert.equal(res.headers.get('www-authenticate'), 'Basic realm="expeditor", charset="UTF-8"');
    assert.equal((await res.json() as Problem).code, 'unauthorized');
    assert.equal(up.requests.length, 0);
  });

  it('answers wrong password, unknown user and revoked credential alike with 401 invalid_credentials', async (t) => {
    const { up, gw } = await setup(t);
    const bodies = [];
    for (const [u, p] of [['alice', 'wrong'], ['nobody', 'tr0ub4dor&3'], ['old', 'old']]) {
      const res = await fetch(`${gw.url}/x`, { headers: { authorization: basic(u!, p!) } });
      assert.equal(res.status, 401);
      assert.equal(res.headers.get('www-authenticate'), 'Basic realm="expeditor", charset="UTF-8"');
      const { requestId: _, ...rest } = await res.json() as Problem;
      bodies.push(rest);
    }
    assert.equal(bodies[0]!.code, 'invalid_credentials');
    for (const b of bodies) assert.deepEqual(b, bodies[0]);
    assert.equal(up.requests.length, 0);
  });

  it('forwards Authorization with hideCredentials: false', async (t) => {
    const { gw } = await setup(t, { hideCredentials: false });
    const res = await fetch(`${gw.url}/x`, { headers: { authorization: basic('alice', 'tr0ub4dor&3') } });
    assert.equal((await res.json() as Echo).headers.authorization, basic('alice', 'tr0ub4dor&3'));
  });

  it('serves repeated logins from the cache: much faster per request than hashing each time', async (t) => {
    const { gw: cached } = await setup(t);
    const { gw: uncached } = await setup(t, { cacheTtl: 0 });
    const perRequest = async (url: string, authorization: string, n: number) => {
      assert.equal((await fetch(url, { headers: { authorization } })).status, 200);
      const start = performance.now();
      for (let i = 0; i < n; i++) {
        const res = await fetch(url, { headers: { authorization } });
        assert.equal(res.status, 200);
        await res.arrayBuffer();
      }
      return (performance.now() - start) / n;
    };
    for (const [algorithm, authorization] of [['scrypt ln=15,r=8,p=3', basic('alice', 'tr0ub4dor&3')], ['argon2id m=19456,t=2,p=1', basic('zoë', 'pässwörd')]] as const) {
      const withCache = await perRequest(`${cached.url}/x`, authorization, 50);
      const without = await perRequest(`${uncached.url}/x`, authorization, 5);
      t.diagnostic(`basic-auth ${algorithm}: ${withCache.toFixed(2)} ms/request with the cache, ${without.toFixed(1)} ms/request without`);
      assert.ok(withCache * 3 < without, `${algorithm}: cache ${withCache} ms, no cache ${without} ms`);
    }
  });
});
