import { createHmac, hash, randomBytes } from 'node:crypto';

/**
 * API keys: generation and the hashes config stores instead of keys. A key is `exp_` + 32 random bytes in base64url
 * (256 bits: no need for a slow hash, SHA-256 of it cannot be brute-forced). The prefix lets secret scanners and
 * humans recognise a leaked key. Config holds `sha256:<hex>` (SHA-256 of the key) or `hmac-sha256:<hex>`
 * (HMAC-SHA-256 keyed with `auth.keySecret`, so a leaked config file alone does not even allow checking guesses).
 */

export const API_KEY_PREFIX = 'exp_';

export type KeyHashAlgorithm = 'sha256' | 'hmac-sha256';

export interface ParsedKeyHash {
  readonly algorithm: KeyHashAlgorithm;
  /** The 32-byte digest. */
  readonly digest: Buffer;
}

/** A new random API key: `exp_` followed by 43 base64url characters. */
export function generateApiKey(): string {
  return API_KEY_PREFIX + randomBytes(32).toString('base64url');
}

/** The digest of a presented key: SHA-256, or HMAC-SHA-256 keyed with `secret`. */
export function keyDigest(key: string, algorithm: KeyHashAlgorithm, secret?: string): Buffer {
  if (algorithm === 'sha256') return hash('sha256', key, 'buffer');
  if (secret === undefined) throw new Error('an hmac-sha256 key hash needs auth.keySecret');
  return createHmac('sha256', secret).update(key).digest();
}

/** The `keyHash` config value for a key: `sha256:<hex>`, or `hmac-sha256:<hex>` when `secret` (auth.keySecret) is given. */
export function hashApiKey(key: string, secret?: string): string {
  const algorithm: KeyHashAlgorithm = secret === undefined ? 'sha256' : 'hmac-sha256';
  return `${algorithm}:${keyDigest(key, algorithm, secret).toString('hex')}`;
}

/** Parses a `keyHash` value (the schema already checked its shape); throws on anything else. */
export function parseKeyHash(value: string): ParsedKeyHash {
  const m = /^(sha256|hmac-sha256):([0-9a-f]{64})$/.exec(value);
  if (m === null) throw new Error('must be "sha256:<64 hex digits>" or "hmac-sha256:<64 hex digits>"');
  return { algorithm: m[1] as KeyHashAlgorithm, digest: Buffer.from(m[2]!, 'hex') };
}
