import crypto, { randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Password hashes in PHC string format, the two memory-hard functions Node ships:
 * - `$scrypt$ln=<log2 N>,r=<r>,p=<p>$<salt>$<hash>` (passlib's layout);
 * - `$argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt>$<hash>` (the reference implementation's).
 * Salt and hash are base64 without padding. Parsing is strict and bounds the parameters, because a hash in config
 * decides how much memory and CPU every login costs: a typo must not make each request allocate gigabytes.
 */

export type PasswordAlgorithm = 'scrypt' | 'argon2id';

export interface ScryptHash {
  readonly algorithm: 'scrypt';
  readonly ln: number;
  readonly r: number;
  readonly p: number;
  readonly salt: Buffer;
  readonly hash: Buffer;
}

export interface Argon2idHash {
  readonly algorithm: 'argon2id';
  /** Memory in KiB. */
  readonly m: number;
  readonly t: number;
  readonly p: number;
  readonly salt: Buffer;
  readonly hash: Buffer;
}

export type PasswordHash = ScryptHash | Argon2idHash;

/** OWASP's password storage recommendations (2024): scrypt N=2^15, r=8, p=3 (32 MiB); argon2id m=19 MiB, t=2, p=1. */
export const SCRYPT_DEFAULTS = { ln: 15, r: 8, p: 3 } as const;
export const ARGON2ID_DEFAULTS = { m: 19456, t: 2, p: 1 } as const;
const SALT_BYTES = 16;
const HASH_BYTES = 32;

/** Upper bounds on what one verification may cost (memory per verification, and CPU through p and t). */
const MAX_MEMORY_BYTES = 256 * 1024 * 1024;
const MAX_SCRYPT_P = 16;
const MAX_ARGON2_T = 16;
const MAX_ARGON2_P = 16;

export class PasswordHashError extends Error {}

/** Whether this Node has crypto.argon2 (24.7 and later). */
export function hasArgon2(): boolean {
  return typeof (crypto as { argon2?: unknown }).argon2 === 'function';
}

const B64 = /^[A-Za-z0-9+/]+$/;

function b64(field: string, s: string, min: number): Buffer {
  if (!B64.test(s)) throw new PasswordHashError(`${field} is not unpadded base64`);
  const buf = Buffer.from(s, 'base64');
  if (buf.length < min) throw new PasswordHashError(`${field} must be at least ${min} bytes`);
  return buf;
}

function params(text: string, names: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  const parts = text.split(',');
  if (parts.length !== names.length) throw new PasswordHashError(`parameters must be ${names.map((n) => `${n}=…`).join(',')}`);
  parts.forEach((part, i) => {
    const m = /^([a-z]+)=(\d{1,10})$/.exec(part);
    if (m === null || m[1] !== names[i]) throw new PasswordHashError(`parameters must be ${names.map((n) => `${n}=…`).join(',')}`);
    out[m[1]] = Number(m[2]);
  });
  return out;
}

/** Parses and bounds a PHC string; throws PasswordHashError saying what is wrong. */
export function parsePasswordHash(phc: string): PasswordHash {
  const parts = phc.split('$');
  if (parts[0] !== '') throw new PasswordHashError('must start with "$scrypt$" or "$argon2id$"');
  if (parts[1] === 'scrypt') {
    if (parts.length !== 5) throw new PasswordHashError('must be $scrypt$ln=…,r=…,p=…$<salt>$<hash>');
    const { ln, r, p } = params(parts[2]!, ['ln', 'r', 'p']) as { ln: number; r: number; p: number };
    if (ln < 1 || ln > 24) throw new PasswordHashError('ln must be 1 to 24');
    if (r < 1 || p < 1 || p > MAX_SCRYPT_P) throw new PasswordHashError(`r must be at least 1 and p 1 to ${MAX_SCRYPT_P}`);
    if (scryptMemory(ln, r, p) > MAX_MEMORY_BYTES) throw new PasswordHashError(`needs more than ${MAX_MEMORY_BYTES / 2 ** 20} MiB per verification (128·N·r): lower ln or r`);
    return { algorithm: 'scrypt', ln, r, p, salt: b64('salt', parts[3]!, 8), hash: b64('hash', parts[4]!, 16) };
  }
  if (parts[1] === 'argon2id') {
    if (parts.length !== 6) throw new PasswordHashError('must be $argon2id$v=19$m=…,t=…,p=…$<salt>$<hash>');
    if (parts[2] !== 'v=19') throw new PasswordHashError('only version v=19 of argon2id is supported');
    const { m, t, p } = params(parts[3]!, ['m', 't', 'p']) as { m: number; t: number; p: number };
    if (p < 1 || p > MAX_ARGON2_P) throw new PasswordHashError(`p must be 1 to ${MAX_ARGON2_P}`);
    if (t < 1 || t > MAX_ARGON2_T) throw new PasswordHashError(`t must be 1 to ${MAX_ARGON2_T}`);
    if (m < 8 * p) throw new PasswordHashError('m must be at least 8·p KiB');
    if (m * 1024 > MAX_MEMORY_BYTES) throw new PasswordHashError(`m must be at most ${MAX_MEMORY_BYTES / 1024} KiB`);
    return { algorithm: 'argon2id', m, t, p, salt: b64('salt', parts[4]!, 8), hash: b64('hash', parts[5]!, 16) };
  }
  throw new PasswordHashError('must start with "$scrypt$" or "$argon2id$"');
}

/** Memory OpenSSL needs for scrypt: V (128·r·(N+2)) plus B (128·r·p), with room for its bookkeeping. */
function scryptMemory(ln: number, r: number, p: number): number {
  return 128 * r * (2 ** ln + 2) + 128 * r * p + 64 * 1024;
}

function derive(h: Omit<PasswordHash, 'hash'>, password: string | Buffer, length: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const done = (err: Error | null, key: Buffer) => (err ? reject(err) : resolve(key));
    if (h.algorithm === 'scrypt') {
      const { ln, r, p } = h as ScryptHash;
      crypto.scrypt(password, h.salt, length, { N: 2 ** ln, r, p, maxmem: scryptMemory(ln, r, p) }, done);
    } else {
      if (!hasArgon2()) return reject(new PasswordHashError('argon2id needs Node 24.7 or later'));
      const { m, t, p } = h as Argon2idHash;
      crypto.argon2('argon2id', { message: password, nonce: h.salt, parallelism: p, memory: m, passes: t, tagLength: length }, done);
    }
  });
}

/** Whether `password` matches the hash: the derived key is compared in constant time. */
export async function verifyPassword(h: PasswordHash, password: string | Buffer): Promise<boolean> {
  const derived = await derive(h, password, h.hash.length);
  return timingSafeEqual(derived, h.hash);
}

/** A new PHC hash of `password` with a random salt and the recommended parameters. */
export async function hashPassword(password: string, algorithm: PasswordAlgorithm): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const enc = (b: Buffer) => b.toString('base64').replace(/=+$/, '');
  if (algorithm === 'scrypt') {
    const h = { algorithm, ...SCRYPT_DEFAULTS, salt } as const;
    const key = await derive(h, password, HASH_BYTES);
    return `$scrypt$ln=${h.ln},r=${h.r},p=${h.p}$${enc(salt)}$${enc(key)}`;
  }
  const h = { algorithm, ...ARGON2ID_DEFAULTS, salt } as const;
  const key = await derive(h, password, HASH_BYTES);
  return `$argon2id$v=19$m=${h.m},t=${h.t},p=${h.p}$${enc(salt)}$${enc(key)}`;
}

/**
 * A hash with the same parameters as `like` that no password matches (random salt and hash): verifying against it
 * costs what a real verification costs, so an unknown user name takes as long to refuse as a wrong password.
 */
export function decoyHash(like: PasswordHash | undefined): PasswordHash {
  const salt = randomBytes(SALT_BYTES);
  const hash = randomBytes(like?.hash.length ?? HASH_BYTES);
  if (like === undefined) return hasArgon2() ? { algorithm: 'argon2id', ...ARGON2ID_DEFAULTS, salt, hash } : { algorithm: 'scrypt', ...SCRYPT_DEFAULTS, salt, hash };
  return { ...like, salt, hash };
}
