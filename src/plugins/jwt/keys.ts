import { createPublicKey, type KeyObject } from 'node:crypto';
import type { JWSHeaderParameters } from 'jose';
import { PluginConfigError } from '../../core/plugin.ts';
import type { Algorithm, InlineKeyT } from './schema.ts';

export const HMAC_ALGORITHMS: ReadonlySet<Algorithm> = new Set(['HS256', 'HS384', 'HS512']);

/** RFC 7518 §3.2: an HMAC key at least as long as the hash output. */
const HMAC_MIN_BYTES: Partial<Record<Algorithm, number>> = { HS256: 32, HS384: 48, HS512: 64 };

/** A configured key, bound at load time to the algorithms it may verify. */
export interface StaticKey {
  readonly kid: string | undefined;
  readonly key: Uint8Array | KeyObject;
  readonly algorithms: ReadonlySet<Algorithm>;
}

/** The asymmetric algorithms a public key can verify, by its type (and curve). */
export function algorithmsFor(key: KeyObject): Algorithm[] {
  const details = key.asymmetricKeyDetails ?? {};
  switch (key.asymmetricKeyType) {
    case 'rsa': return ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'];
    case 'rsa-pss': return ['PS256', 'PS384', 'PS512'];
    case 'ec': return details.namedCurve === 'prime256v1' ? ['ES256'] : details.namedCurve === 'secp384r1' ? ['ES384'] : details.namedCurve === 'secp521r1' ? ['ES512'] : [];
    case 'ed25519': return ['EdDSA', 'Ed25519'];
    default: return [];
  }
}

function publicKey(k: InlineKeyT, path: string): KeyObject {
  try {
    if (k.publicKey !== undefined) {
      if (/PRIVATE KEY/.test(k.publicKey)) throw new PluginConfigError(`${path}.publicKey`, 'is a private key: give the public key (or certificate) only');
      return createPublicKey(k.publicKey);
    }
    const jwk = k.jwk as Record<string, unknown>;
    if (jwk.kty === 'oct') throw new PluginConfigError(`${path}.jwk`, 'is a symmetric key: give it as `secret`');
    if ('d' in jwk) throw new PluginConfigError(`${path}.jwk`, 'is a private key: give the public key only (no "d")');
    return createPublicKey({ key: jwk as never, format: 'jwk' });
  } catch (err) {
    if (err instanceof PluginConfigError) throw err;
    const field = k.publicKey !== undefined ? 'publicKey' : 'jwk';
    throw new PluginConfigError(`${path}.${field}`, `is not a usable public key: ${(err as Error).message}`);
  }
}

/**
 * Compiles an issuer's inline keys and binds each to the configured algorithms it fits: HS* to secrets only,
 * RS/PS/ES/EdDSA to public keys of the matching type only. So an HMAC check can never be fed a public key as its
 * secret (the classic RS256→HS256 confusion), whatever the token's header says.
 */
export function compileKeys(keys: readonly InlineKeyT[], algorithms: readonly Algorithm[], path: string): StaticKey[] {
  const hmac = algorithms.filter((a) => HMAC_ALGORITHMS.has(a));
  const out = keys.map((k, i): StaticKey => {
    const at = `${path}[${i}]`;
    const given = [k.secret, k.publicKey, k.jwk].filter((v) => v !== undefined).length;
    if (given !== 1) throw new PluginConfigError(at, 'give exactly one of `secret`, `publicKey` and `jwk`');
    if (k.secret !== undefined) {
      if (hmac.length === 0) throw new PluginConfigError(`${at}.secret`, 'an HMAC secret needs an HS256, HS384 or HS512 algorithm in `algorithms`');
      const bytes = Buffer.from(k.secret, k.secretEncoding === 'utf8' ? 'utf8' : k.secretEncoding);
      for (const alg of hmac) {
        const min = HMAC_MIN_BYTES[alg]!;
        if (bytes.length < min) throw new PluginConfigError(`${at}.secret`, `is ${bytes.length} bytes: ${alg} needs at least ${min}`);
      }
      return { kid: k.kid, key: new Uint8Array(bytes), algorithms: new Set(hmac) };
    }
    const key = publicKey(k, at);
    let fits = algorithmsFor(key).filter((a) => algorithms.includes(a));
    const jwkAlg = (k.jwk as { alg?: unknown } | undefined)?.alg;
    if (typeof jwkAlg === 'string') fits = fits.filter((a) => a === jwkAlg);
    if (fits.length === 0) {
      const type = key.asymmetricKeyType === 'ec' ? `EC ${key.asymmetricKeyDetails?.namedCurve}` : key.asymmetricKeyType;
      throw new PluginConfigError(at, `this ${type} key fits none of the algorithms ${algorithms.join(', ')}`);
    }
    if ((key.asymmetricKeyType === 'rsa' || key.asymmetricKeyType === 'rsa-pss') && (key.asymmetricKeyDetails?.modulusLength ?? 0) < 2048) {
      throw new PluginConfigError(at, 'RSA keys must be 2048 bits or longer');
    }
    const kid = k.kid ?? (typeof (k.jwk as { kid?: unknown } | undefined)?.kid === 'string' ? (k.jwk as { kid: string }).kid : undefined);
    return { kid, key, algorithms: new Set(fits) };
  });
  for (const alg of algorithms) {
    if (out.some((k) => k.algorithms.has(alg))) continue;
    throw new PluginConfigError(path, HMAC_ALGORITHMS.has(alg) ? `${alg} is allowed but no \`secret\` is configured for it` : `${alg} is allowed but no public key fits it`);
  }
  return out;
}

/**
 * The configured keys that may verify a token with this header: bound to its `alg`, and with its `kid` when both
 * name one (a key configured without `kid` is tried for any). The kid is only compared, never used otherwise.
 */
export function candidateKeys(keys: readonly StaticKey[], header: JWSHeaderParameters): StaticKey[] {
  const alg = header.alg as Algorithm;
  const kid = typeof header.kid === 'string' ? header.kid : undefined;
  return keys.filter((k) => k.algorithms.has(alg) && (kid === undefined || k.kid === undefined || k.kid === kid));
}
