import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { validateConfig } from '../../src/config/validate.ts';
import { ConfigError } from '../../src/config/errors.ts';

const HASH = 'sha256:' + 'ab'.repeat(32);
// Well-formed scrypt hashes (16-byte salt, 32-byte hash); what they hash does not matter here.
const PW1 = `$scrypt$ln=15,r=8,p=3$${Buffer.alloc(16, 1).toString('base64').replace(/=+$/, '')}$${Buffer.alloc(32, 2).toString('base64').replace(/=+$/, '')}`;
const PW2 = `$scrypt$ln=15,r=8,p=3$${Buffer.alloc(16, 3).toString('base64').replace(/=+$/, '')}$${Buffer.alloc(32, 4).toString('base64').replace(/=+$/, '')}`;

/** The issues of a config that must be refused, as `path: message` lines. */
function issues(config: Record<string, unknown>): string[] {
  try {
    validateConfig({ routes: [], ...config });
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.issues.map((i) => `${i.path}: ${i.message}`);
  }
  assert.fail('config was accepted');
}

describe('identity config checks', () => {
  it('reports what is wrong inside a credential, field by field, for the type it names', () => {
    assert.deepEqual(issues({ consumers: { a: { credentials: [{ type: 'key-auth', keyHash: 'plaintext-key', expiresAt: 'tomorrow' }] } } }), [
      'consumers.a.credentials[0].keyHash: must be "sha256:<64 hex digits>" or "hmac-sha256:<64 hex digits>" (the hash, never the key: see `expeditor keys create`)',
      'consumers.a.credentials[0].expiresAt: must be an RFC 3339 date-time such as "2027-01-31T00:00:00Z"',
    ]);
    assert.deepEqual(issues({ consumers: { a: { credentials: [{ type: 'basic-auth', username: 'a', password: 'hunter2' }] } } }), [
      'consumers.a.credentials[0].passwordHash: is required',
      'consumers.a.credentials[0].password: unknown key "password" (did you mean "passwordHash"?)',
    ]);
  });

  it('refuses two consumers sharing a key, a user name or an access key id', () => {
    assert.deepEqual(issues({
      consumers: {
        a: { credentials: [{ type: 'key-auth', keyHash: HASH }, { type: 'basic-auth', username: 'u', passwordHash: PW1 }] },
        b: { credentials: [{ type: 'key-auth', keyHash: HASH }, { type: 'basic-auth', username: 'u', passwordHash: PW2 }] },
      },
    }), [
      'consumers.b.credentials[0].keyHash: the same key-auth keyHash is already consumers.a.credentials[0]',
      'consumers.b.credentials[1].username: the same basic-auth username is already consumers.a.credentials[1]',
    ]);
  });

  it('refuses a password hash whose parameters are wrong, at the credential\'s path', () => {
    const [issue] = issues({ consumers: { a: { credentials: [{ type: 'basic-auth', username: 'a', passwordHash: '$scrypt$ln=15$c2FsdA$aGFzaA' }] } } });
    assert.equal(issue, 'consumers.a.credentials[0].passwordHash: parameters must be ln=…,r=…,p=…');
  });

  it('refuses bad consumer names, duplicate ids, hmac key hashes without auth.keySecret and empty mtls credentials', () => {
    assert.deepEqual(issues({
      consumers: {
        'bad name': {},
        a: { id: 'same', credentials: [{ type: 'key-auth', keyHash: 'hmac-' + HASH }, { type: 'mtls' }] },
        b: { id: 'same' },
      },
    }), [
      'consumers["bad name"]: invalid consumer name "bad name": use letters, digits, "_", "." and "-", starting with a letter or digit',
      'consumers.a.credentials[1]: an mtls credential needs "subject", "san" or "fingerprint256"',
      'consumers.b.id: id "same" is also consumer "a"\'s',
      'auth.keySecret: is required: some API keys are stored as "hmac-sha256:" hashes',
    ]);
  });

  it('checks auth.order against the route\'s authentication plugins', () => {
    assert.deepEqual(issues({
      routes: [{ name: 'r', match: { path: '/' }, plugins: { mock: {}, 'key-auth': {} }, auth: { order: ['key-auth', 'cors', 'jwt'] } }],
    }), [
      'routes[0].auth.order[1]: "cors" is not an authentication plugin',
      'routes[0].auth.order[2]: plugin "jwt" is not configured on this route or globally',
    ]);
  });

  it('refuses mtls-auth where the listener asks for no client certificate, and client certificates without a CA', () => {
    const route = { name: 'r', match: { path: '/' }, plugins: { mock: {}, 'mtls-auth': {} } };
    assert.deepEqual(issues({ routes: [route] }), [
      'routes[0].plugins.mtls-auth: needs client certificates, but the listener has no TLS: set listen.tls with clientCertificates "request" or "require"',
    ]);
    assert.deepEqual(issues({ listen: { tls: { cert: 'c.pem', key: 'k.pem' } }, routes: [route] }), [
      'routes[0].plugins.mtls-auth: needs client certificates, but listen.tls.clientCertificates is "off": set it to "request" or "require"',
    ]);
    assert.deepEqual(issues({ listen: { tls: { cert: 'c.pem', key: 'k.pem', clientCertificates: 'request' } }, routes: [route] }), [
      'listen.tls.clientCa: is required when clientCertificates is "request": the CAs that sign client certificates',
    ]);
  });
});
