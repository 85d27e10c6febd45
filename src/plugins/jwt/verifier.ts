import { errors, jwtVerify, type CryptoKey, type JWTPayload, type JWTVerifyOptions, type JWSHeaderParameters } from 'jose';
import { PluginConfigError } from '../../core/plugin.ts';
import { issuerMetadata, type IssuerMetadata } from '../../identity/remote/discovery.ts';
import { JwksCache, KeysUnavailable, type JwksSettings } from './jwks-cache.ts';
import { HMAC_ALGORITHMS, candidateKeys, compileKeys, type StaticKey } from './keys.ts';
import type { RemoteDocument } from '../../identity/remote/remote-document.ts';
import type { Algorithm, IssuerConfigT } from './schema.ts';

/** What checking a token against one issuer gave: its claims, or why not (for logs only). */
export type Verification =
  | { readonly ok: true; readonly claims: JWTPayload }
  | { readonly ok: false; readonly unavailable: boolean; readonly reason: string };

export interface ClaimChecks {
  /** Seconds of tolerance for exp, nbf and iat. */
  readonly clockSkew: number;
  /** Seconds; undefined for none. */
  readonly maxTokenAge: number | undefined;
}

/** Most keys tried for one token when its header does not single one out (several inline secrets, kid-less JWKS). */
const MAX_CANDIDATES = 4;

/** Where an issuer's keys come from: inline, a JWKS URL, or the JWKS its discovery document names. */
type KeySource =
  | { readonly kind: 'static'; readonly keys: readonly StaticKey[] }
  | { readonly kind: 'jwks'; readonly cache: JwksCache }
  | { readonly kind: 'discovery'; readonly metadata: RemoteDocument<IssuerMetadata> };

/** One trusted issuer, compiled at load time: its key source, the algorithms it may use and the claim checks. */
export class IssuerVerifier {
  readonly issuer: string | undefined;
  readonly consumerClaim: string;
  readonly requireConsumer: boolean;
  readonly #algorithms: ReadonlySet<string>;
  readonly #source: KeySource;
  readonly #options: JWTVerifyOptions;
  readonly #skew: number;
  readonly #jwksSettings: JwksSettings;
  #discovered: { uri: string; cache: JwksCache } | undefined = undefined;

  constructor(config: IssuerConfigT, checks: ClaimChecks, jwksSettings: JwksSettings, path: string) {
    this.issuer = config.issuer;
    this.consumerClaim = config.consumerClaim;
    this.requireConsumer = config.requireConsumer;
    this.#algorithms = new Set(config.algorithms);
    this.#skew = checks.clockSkew;
    this.#jwksSettings = jwksSettings;
    this.#source = keySource(config, jwksSettings, path);
    this.#options = {
      algorithms: [...config.algorithms],
      ...(config.issuer === undefined ? {} : { issuer: config.issuer }),
      ...(config.audiences.length === 0 ? {} : { audience: config.audiences }),
      clockTolerance: checks.clockSkew,
      ...(checks.maxTokenAge === undefined ? {} : { maxTokenAge: checks.maxTokenAge }),
      // A token without exp would never expire.
      requiredClaims: [...new Set(['exp', ...config.requiredClaims])],
    };
  }

  /** Verifies a token already routed to this issuer (by its unverified `iss`): signature, algorithm, claims. */
  async verify(token: string, header: JWSHeaderParameters): Promise<Verification> {
    if (typeof header.alg !== 'string' || !this.#algorithms.has(header.alg)) return refused(`algorithm ${String(header.alg)} not allowed`);
    let claims: JWTPayload;
    try {
      claims = await this.#verifySignature(token, header);
    } catch (err) {
      if (err instanceof KeysUnavailable) return { ok: false, unavailable: true, reason: `keys unavailable: ${err.message}` };
      if (err instanceof errors.JOSEError) return refused(`${err.code}: ${err.message}`);
      throw err;
    }
    // jose checks iat only with maxTokenAge; a token issued in the future is as suspect as one not yet valid.
    if (typeof claims.iat === 'number' && claims.iat > Date.now() / 1000 + this.#skew) return refused('"iat" claim is in the future');
    // A sender-constrained token (DPoP, mTLS-bound) must not be accepted as a plain bearer token.
    if (claims.cnf !== undefined) return refused('sender-constrained token ("cnf") presented as a bearer token');
    return { ok: true, claims };
  }

  async #verifySignature(token: string, header: JWSHeaderParameters): Promise<JWTPayload> {
    const source = this.#source;
    if (source.kind === 'static') {
      const keys = candidateKeys(source.keys, header).slice(0, MAX_CANDIDATES);
      if (keys.length === 0) throw new errors.JWKSNoMatchingKey('no configured key for this alg and kid');
      let last: unknown;
      for (const k of keys) {
        try {
          return (await jwtVerify(token, k.key, this.#options)).payload;
        } catch (err) {
          // Only a bad signature means "try the next key"; a claim failure is the token's, whatever the key.
          if (!(err instanceof errors.JWSSignatureVerificationFailed)) throw err;
          last = err;
        }
      }
      throw last;
    }
    const cache = source.kind === 'jwks' ? source.cache : await this.#discoveredJwks(source.metadata);
    try {
      return (await jwtVerify(token, cache.getKey, this.#options)).payload;
    } catch (err) {
      if (!(err instanceof errors.JWKSMultipleMatchingKeys)) throw err;
      // No kid and several keys fit the alg: try them (jose hands them over as an async iterator), a few at most.
      let tried = 0;
      for await (const key of err as unknown as AsyncIterable<CryptoKey>) {
        if (++tried > MAX_CANDIDATES) break;
        try {
          return (await jwtVerify(token, key, this.#options)).payload;
        } catch (e) {
          if (!(e instanceof errors.JWSSignatureVerificationFailed)) throw e;
        }
      }
      throw new errors.JWSSignatureVerificationFailed();
    }
  }

  /** The JWKS the discovery document names (the document is fetched once and cached; its cache is memoised). */
  async #discoveredJwks(metadata: RemoteDocument<IssuerMetadata>): Promise<JwksCache> {
    const meta = metadata.current() ?? await metadata.load();
    if (meta === undefined) throw new KeysUnavailable(`discovery: ${metadata.lastError ?? 'not fetched yet'}`);
    if (meta.jwksUri === undefined) throw new KeysUnavailable(`discovery: ${metadata.url} names no jwks_uri`);
    if (this.#discovered?.uri !== meta.jwksUri) this.#discovered = { uri: meta.jwksUri, cache: JwksCache.shared(meta.jwksUri, this.#jwksSettings) };
    return this.#discovered.cache;
  }
}

function refused(reason: string): Verification {
  return { ok: false, unavailable: false, reason };
}

function keySource(config: IssuerConfigT, jwksSettings: JwksSettings, path: string): KeySource {
  const sources = [config.keys !== undefined, config.jwksUri !== undefined, config.discovery].filter(Boolean).length;
  if (sources !== 1) throw new PluginConfigError(path, 'give exactly one key source: `keys`, `jwksUri` or `discovery: true`');
  if (config.keys !== undefined) return { kind: 'static', keys: compileKeys(config.keys, config.algorithms as Algorithm[], `${path}.keys`) };
  if (config.issuer === undefined) throw new PluginConfigError(`${path}.issuer`, 'is required with `jwksUri` and `discovery`: tokens are matched to their keys by `iss`');
  const hmac = config.algorithms.find((a) => HMAC_ALGORITHMS.has(a));
  if (hmac !== undefined) {
    throw new PluginConfigError(`${path}.algorithms`, `${hmac} needs an inline \`secret\`: a JWKS publishes public keys, which must never serve as HMAC secrets`);
  }
  if (config.jwksUri !== undefined) return { kind: 'jwks', cache: JwksCache.shared(config.jwksUri, jwksSettings) };
  if (!/^https?:\/\//.test(config.issuer)) throw new PluginConfigError(`${path}.issuer`, 'must be an http(s) URL for `discovery`');
  return { kind: 'discovery', metadata: issuerMetadata(config.issuer, jwksSettings) };
}
