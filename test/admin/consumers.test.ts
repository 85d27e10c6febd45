import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway } from '../helpers/gateway.ts';

const KEY_HASH = 'sha256:' + 'ab'.repeat(32);
const PASSWORD_HASH = '$scrypt$ln=4,r=8,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA';
const SIGV4_SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const HMAC_SECRET = 'hmac-secret-0123456789';

describe('admin API: consumers', () => {
  it('lists consumers and their credentials without any secret or hash', async (t) => {
    const gw = await startGateway({
      consumers: {
        alice: {
          id: 'c-1', groups: ['gold'], metadata: { plan: 'pro' },
          credentials: [
            { type: 'key-auth', id: 'laptop', keyHash: KEY_HASH },
            { type: 'key-auth', keyHash: 'sha256:' + 'cd'.repeat(32), expiresAt: '2020-01-01T00:00:00Z' },
            { type: 'basic-auth', username: 'alice', passwordHash: PASSWORD_HASH, revoked: true },
            { type: 'aws-sigv4', accessKeyId: 'AKIDEXAMPLE', secretAccessKey: SIGV4_SECRET },
            { type: 'hmac-auth', username: 'alice-hmac', secret: HMAC_SECRET },
          ],
        },
        bob: {},
      },
      routes: [{ name: 'r', match: { path: '/' }, plugins: { mock: {} } }],
    });
    t.after(() => gw.close());
    const res = await fetch(`${gw.adminUrl}/consumers`);
    assert.equal(res.status, 200);
    const text = await res.text();
    for (const secret of [KEY_HASH, PASSWORD_HASH, SIGV4_SECRET, HMAC_SECRET, 'ab'.repeat(32)]) assert.ok(!text.includes(secret), `leaked ${secret}`);
    const { consumers } = JSON.parse(text) as { consumers: Array<{ name: string; id: string; credentials: Array<Record<string, unknown>> }> };
    assert.deepEqual(consumers.map((c) => [c.name, c.id]), [['alice', 'c-1'], ['bob', 'bob']]);
    assert.deepEqual(consumers[0]!.credentials.map((c) => [c.type, c.id, c.active, c.revoked]), [
      ['key-auth', 'laptop', true, false],
      ['key-auth', 'alice/key-auth/1', false, false],
      ['basic-auth', 'alice/basic-auth/2', false, true],
      ['aws-sigv4', 'alice/aws-sigv4/3', true, false],
      ['hmac-auth', 'alice/hmac-auth/4', true, false],
    ]);
    assert.equal(consumers[0]!.credentials[3]!.accessKeyId, 'AKIDEXAMPLE');
    assert.equal(consumers[0]!.credentials[2]!.username, 'alice');

    const one = await fetch(`${gw.adminUrl}/consumers/bob`);
    assert.deepEqual(await one.json(), { name: 'bob', id: 'bob', groups: [], metadata: {}, plugins: [], credentials: [] });
    const missing = await fetch(`${gw.adminUrl}/consumers/carol`);
    assert.equal(missing.status, 404);
    assert.equal((await missing.json() as { code: string }).code, 'route_not_found');
  });
});
