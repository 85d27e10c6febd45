import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { generateApiKey, hashApiKey, keyDigest, parseKeyHash } from '../../src/identity/api-keys.ts';
import { KeyAuthCredential } from '../../src/config/schema/consumer.ts';
import { Value } from '@sinclair/typebox/value';

describe('API keys', () => {
  it('generates exp_-prefixed keys of 32 random bytes in base64url, never twice the same', () => {
    const keys = new Set(Array.from({ length: 100 }, generateApiKey));
    assert.equal(keys.size, 100);
    for (const k of keys) {
      assert.match(k, /^exp_[A-Za-z0-9_-]{43}$/);
      assert.equal(Buffer.from(k.slice(4), 'base64url').length, 32);
    }
  });

  it('hashes a key as sha256:<hex> of the key, or hmac-sha256:<hex> keyed with the secret', () => {
    const key = 'exp_abc';
    assert.equal(hashApiKey(key), `sha256:${createHash('sha256').update(key).digest('hex')}`);
    assert.equal(hashApiKey(key, 'a-server-secret-0123'), `hmac-sha256:${createHmac('sha256', 'a-server-secret-0123').update(key).digest('hex')}`);
  });

  it('makes hashes the config schema accepts', () => {
    const key = generateApiKey();
    for (const keyHash of [hashApiKey(key), hashApiKey(key, 'a-server-secret-0123')]) {
      assert.ok(Value.Check(KeyAuthCredential, { type: 'key-auth', keyHash, revoked: false }), keyHash);
    }
  });

  it('parses a hash back into its algorithm and digest, which keyDigest reproduces', () => {
    const key = generateApiKey();
    const p = parseKeyHash(hashApiKey(key, 'a-server-secret-0123'));
    assert.equal(p.algorithm, 'hmac-sha256');
    assert.deepEqual(p.digest, keyDigest(key, 'hmac-sha256', 'a-server-secret-0123'));
    assert.throws(() => parseKeyHash('md5:00'), /sha256/);
    assert.throws(() => keyDigest(key, 'hmac-sha256'), /keySecret/);
  });
});
