import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { scryptSync, argon2Sync } from 'node:crypto';
import { decoyHash, hashPassword, parsePasswordHash, verifyPassword } from '../../src/identity/passwords.ts';
import { BasicAuthCredential } from '../../src/config/schema/consumer.ts';
import { Value } from '@sinclair/typebox/value';

const b64 = (b: Buffer) => b.toString('base64').replace(/=+$/, '');

describe('password hashes', () => {
  for (const algorithm of ['scrypt', 'argon2id'] as const) {
    it(`${algorithm}: hashes in PHC format with a random salt, and verifies only the right password`, async () => {
      const a = await hashPassword('correct horse', algorithm);
      const b = await hashPassword('correct horse', algorithm);
      assert.notEqual(a, b);
      assert.match(a, algorithm === 'scrypt' ? /^\$scrypt\$ln=15,r=8,p=3\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/ : /^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
      assert.ok(Value.Check(BasicAuthCredential, { type: 'basic-auth', username: 'u', passwordHash: a, revoked: false }));
      const parsed = parsePasswordHash(a);
      assert.equal(await verifyPassword(parsed, 'correct horse'), true);
      assert.equal(await verifyPassword(parsed, 'correct horsE'), false);
      assert.equal(await verifyPassword(parsed, ''), false);
    });
  }

  it('verifies hashes made by other tools with other parameters (scrypt ln=14, argon2id m=8192 t=3)', async () => {
    const salt = Buffer.from('0123456789abcdef');
    const s = scryptSync('pässword', salt, 32, { N: 2 ** 14, r: 8, p: 1 });
    assert.equal(await verifyPassword(parsePasswordHash(`$scrypt$ln=14,r=8,p=1$${b64(salt)}$${b64(s)}`), 'pässword'), true);
    const a = argon2Sync('argon2id', { message: 'pässword', nonce: salt, parallelism: 1, tagLength: 32, memory: 8192, passes: 3 });
    assert.equal(await verifyPassword(parsePasswordHash(`$argon2id$v=19$m=8192,t=3,p=1$${b64(salt)}$${b64(a)}`), 'pässword'), true);
  });

  it('refuses malformed hashes and parameters that would cost too much per login, saying why', () => {
    const salt = 'MDEyMzQ1Njc4OWFiY2RlZg';
    const hash = 'MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY';
    const cases: Array<[string, RegExp]> = [
      ['$bcrypt$xx', /must start with/],
      [`$scrypt$ln=15,r=8$${salt}$${hash}`, /parameters must be ln=…,r=…,p=…/],
      [`$scrypt$r=8,ln=15,p=1$${salt}$${hash}`, /parameters must be/],
      [`$scrypt$ln=22,r=8,p=1$${salt}$${hash}`, /MiB per verification/],
      [`$scrypt$ln=15,r=8,p=1$${salt}$`, /hash is not unpadded base64/],
      [`$scrypt$ln=15,r=8,p=1$c2FsdA$${hash}`, /salt must be at least 8 bytes/],
      [`$argon2id$v=16$m=19456,t=2,p=1$${salt}$${hash}`, /v=19/],
      [`$argon2id$v=19$m=2000000,t=2,p=1$${salt}$${hash}`, /m must be at most/],
      [`$argon2id$v=19$m=19456,t=100,p=1$${salt}$${hash}`, /t must be/],
      [`$argon2id$m=19456,t=2,p=1$${salt}$${hash}`, /must be \$argon2id\$v=19/],
    ];
    for (const [phc, message] of cases) assert.throws(() => parsePasswordHash(phc), message, phc);
  });

  it('makes decoys with the same parameters that no password matches', async () => {
    const real = parsePasswordHash(await hashPassword('pw', 'argon2id'));
    const decoy = decoyHash(real);
    assert.equal(decoy.algorithm, 'argon2id');
    assert.deepEqual({ ...decoy, salt: 0, hash: 0 }, { ...real, salt: 0, hash: 0 });
    assert.notDeepEqual(decoy.hash, real.hash);
    assert.equal(await verifyPassword(decoy, 'pw'), false);
    assert.equal(decoyHash(undefined).algorithm, 'argon2id');
  });
});
