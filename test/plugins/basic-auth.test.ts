import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { argon2Sync, randomBytes, scryptSync } from 'node:crypto';
import { ConsumerDirectory } from '../../src/identity/consumers.ts';
import { basicAuth, parseBasic } from '../../src/plugins/basic-auth/plugin.ts';
import type { AuthResult, Authenticator } from '../../src/identity/types.ts';
import { context, create, edits, schemaRefuses, scope } from './support.ts';

const b64 = (b: Buffer) => b.toString('base64').replace(/=+$/, '');
/** Cheap hashes (tests need not pay the recommended cost), in the PHC form the CLI writes. */
export function scryptHash(password: string): string {
  const salt = randomBytes(16);
  return `$scrypt$ln=10,r=8,p=1$${b64(salt)}$${b64(scryptSync(password, salt, 32, { N: 1024, r: 8, p: 1 }))}`;
}
export function argon2idHash(password: string): string {
  const salt = randomBytes(16);
  return `$argon2id$v=19$m=1024,t=1,p=1$${b64(salt)}$${b64(argon2Sync('argon2id', { message: password, nonce: salt, parallelism: 1, tagLength: 32, memory: 1024, passes: 1 }))}`;
}
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`, 'utf8').toString('base64')}`;

const consumers = {
  alice: { groups: ['staff'], credentials: [{ type: 'basic-auth', id: 'alice-pw', username: 'alice', passwordHash: scryptHash('s3cret: with colon') }] },
  jose: { credentials: [{ type: 'basic-auth', username: 'josé', passwordHash: argon2idHash('contraseña') }] },
  gone: { credentials: [{ type: 'basic-auth', username: 'gone', passwordHash: scryptHash('pw'), revoked: true }] },
  late: { credentials: [{ type: 'basic-auth', username: 'late', passwordHash: scryptHash('pw'), expiresAt: '2020-02-02T00:00:00Z' }] },
};
const withUsers = () => scope({ consumers, auth: { realm: 'shop' } });

function authenticator(input: unknown = {}): Authenticator {
  return create(basicAuth, input, withUsers()).authenticator!;
}

const run = async (a: Authenticator, authorization?: string): Promise<AuthResult> =>
  a.authenticate(context({ headers: authorization === undefined ? {} : { authorization } }));

describe('basic-auth', () => {
  it('accepts the right password against an scrypt hash (a password may hold colons)', async () => {
    const r = await run(authenticator(), basic('alice', 's3cret: with colon'));
    assert.ok(r.outcome === 'success');
    assert.equal(r.identity.method, 'basic-auth');
    assert.equal(r.identity.consumer?.name, 'alice');
    assert.equal(r.identity.subject, 'alice');
    assert.equal(r.identity.credentialId, 'alice-pw');
  });

  it('accepts UTF-8 user names and passwords against an argon2id hash', async () => {
    const r = await run(authenticator(), basic('josé', 'contraseña'));
    assert.ok(r.outcome === 'success');
    assert.equal(r.identity.consumer?.name, 'jose');
    assert.equal(r.identity.credentialId, 'jose/basic-auth/0');
  });

  it('refuses a wrong password, an unknown user, a revoked and an expired credential', async () => {
    const a = authenticator();
    const reasons = [];
    for (const [u, p] of [['alice', 's3cret'], ['mallory', 'x'], ['gone', 'pw'], ['late', 'pw'], ['ALICE', 's3cret: with colon']]) {
      const r = await run(a, basic(u!, p!));
      assert.ok(r.outcome === 'invalid');
      reasons.push(r.reason);
    }
    assert.deepEqual(reasons, ['wrong password', 'unknown user', 'credential revoked', 'credential expired', 'unknown user']);
  });

  it('makes an unknown user cost a password hash too (no user enumeration by timing)', async () => {
    const a = authenticator();
    const unknown = a.authenticate(context({ headers: { authorization: basic('mallory', 'x') } }));
    assert.ok(unknown instanceof Promise, 'the decoy hash is computed asynchronously, like a real one');
    assert.equal((await unknown).outcome, 'invalid');
  });

  it('is absent without an Authorization header or with another scheme; malformed Basic is invalid', async () => {
    const a = authenticator();
    assert.equal((await run(a)).outcome, 'absent');
    assert.equal((await run(a, 'Bearer abc')).outcome, 'absent');
    for (const bad of ['Basic', 'Basic !!!', `Basic ${Buffer.from('no-colon').toString('base64')}`, `Basic ${Buffer.from([0x61, 0x3a, 0xff]).toString('base64')}`, `Basic ${Buffer.from(':pw').toString('base64')}`]) {
      const r = await run(a, bad);
      assert.equal(r.outcome, 'invalid', bad);
    }
    assert.equal((await run(a, `bAsIc   ${Buffer.from('alice:s3cret: with colon').toString('base64')}`)).outcome, 'success');
  });

  it('parses RFC 7617 credentials as UTF-8, splitting at the first colon', () => {
    assert.deepEqual(parseBasic(Buffer.from('Aladdin:open sesame').toString('base64')), { user: 'Aladdin', password: 'open sesame' });
    assert.deepEqual(parseBasic(Buffer.from('test:123£').toString('base64')), { user: 'test', password: '123£' });
    assert.deepEqual(parseBasic(Buffer.from('u:').toString('base64')), { user: 'u', password: '' });
  });

  it('removes Authorization from the upstream request once accepted, unless hideCredentials is false', async () => {
    const ctx = context({ headers: { authorization: basic('alice', 's3cret: with colon') } });
    assert.equal((await authenticator().authenticate(ctx)).outcome, 'success');
    assert.deepEqual(edits(ctx, 'requestHeaders').remove, ['authorization']);
    const kept = context({ headers: { authorization: basic('alice', 's3cret: with colon') } });
    assert.equal((await authenticator({ hideCredentials: false }).authenticate(kept)).outcome, 'success');
    assert.deepEqual(edits(kept, 'requestHeaders').remove, []);
  });

  it('answers a repeated login from the cache, synchronously; a wrong password still pays the hash', async () => {
    const a = authenticator();
    const header = basic('alice', 's3cret: with colon');
    const first = a.authenticate(context({ headers: { authorization: header } }));
    assert.ok(first instanceof Promise);
    assert.equal((await first).outcome, 'success');
    const second = a.authenticate(context({ headers: { authorization: header } }));
    assert.ok(!(second instanceof Promise), 'a cached login is answered without hashing');
    assert.equal(second.outcome, 'success');
    const wrong = a.authenticate(context({ headers: { authorization: basic('alice', 'guess') } }));
    assert.ok(wrong instanceof Promise);
    assert.equal((await wrong).outcome, 'invalid');
  });

  it('never caches with cacheTtl 0, and never lets a cached login outlive its credential', async (t) => {
    const a = authenticator({ cacheTtl: 0 });
    const header = basic('alice', 's3cret: with colon');
    await a.authenticate(context({ headers: { authorization: header } }));
    assert.ok(a.authenticate(context({ headers: { authorization: header } })) instanceof Promise);

    const soon = new Date(Date.now() + 30_000).toISOString();
    const s = scope({ consumers: { c: { credentials: [{ type: 'basic-auth', username: 'u', passwordHash: scryptHash('pw'), expiresAt: soon }] } } });
    const b = create(basicAuth, { cacheTtl: '1h' }, s).authenticator!;
    assert.equal((await b.authenticate(context({ headers: { authorization: basic('u', 'pw') } }))).outcome, 'success');
    t.mock.timers.enable({ apis: ['Date'], now: Date.now() + 60_000 });
    const r = b.authenticate(context({ headers: { authorization: basic('u', 'pw') } }));
    assert.ok(!(r instanceof Promise));
    assert.equal(r.outcome, 'invalid');
  });

  it('forgets the oldest login past cacheSize, and expired entries after cacheTtl', async (t) => {
    const users = Object.fromEntries(['a', 'b', 'c'].map((u) => [u, { credentials: [{ type: 'basic-auth', username: u, passwordHash: scryptHash('pw') }] }]));
    const a = create(basicAuth, { cacheSize: 2, cacheTtl: '10s' }, scope({ consumers: users })).authenticator!;
    const login = (u: string) => a.authenticate(context({ headers: { authorization: basic(u, 'pw') } }));
    for (const u of ['a', 'b', 'c']) await login(u);
    assert.ok(login('a') instanceof Promise, 'a was evicted');
    await login('a');
    assert.ok(!(login('c') instanceof Promise));
    t.mock.timers.enable({ apis: ['Date'], now: Date.now() + 11_000 });
    assert.ok(login('c') instanceof Promise, 'c expired from the cache');
  });

  it('challenges with the realm and charset', () => {
    assert.equal(authenticator().challenge, 'Basic realm="shop", charset="UTF-8"');
  });

  it('refuses hashes it cannot use, naming the credential, and bad cache settings', () => {
    // The config check refuses it first, at the credential's path; the plugin refuses it too if handed one.
    const bad = { consumers: { c: { credentials: [{ type: 'basic-auth', username: 'u', passwordHash: '$scrypt$ln=30,r=8,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA' }] } } };
    assert.throws(() => scope(bad), /consumers\.c\.credentials\[0\]\.passwordHash: ln must be 1 to 24/);
    const unchecked = { ...scope(), consumers: new ConsumerDirectory(bad as never) };
    assert.throws(() => create(basicAuth, {}, unchecked), /consumers\.c\.credentials\[0\]\.passwordHash: ln must be 1 to 24/);
    assert.ok(schemaRefuses(basicAuth, { cacheTtl: 'forever' }));
    assert.ok(schemaRefuses(basicAuth, { cacheSize: 0 }));
    assert.ok(schemaRefuses(basicAuth, { realm: 'x' }));
  });
});
