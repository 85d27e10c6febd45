import { Type, type Static } from '@sinclair/typebox';
import { Duration, Strict } from '../../config/schema/common.ts';
import { HideTokenConfig, TokenFromConfig } from '../../identity/token-source.ts';

export const ALGORITHMS = [
  'HS256', 'HS384', 'HS512', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519',
] as const;
export type Algorithm = (typeof ALGORITHMS)[number];

const AlgorithmSchema = Type.Union(ALGORITHMS.map((a) => Type.Literal(a)), {
  errorMessage: `must be one of ${ALGORITHMS.join(', ')} ("none" is never accepted)`,
});

export const InlineKey = Strict({
  kid: Type.Optional(Type.String({ minLength: 1, description: 'Key id: when set, only tokens whose header `kid` names it (or has no `kid`) are checked with this key.' })),
  secret: Type.Optional(Type.String({ minLength: 1, description: 'HMAC secret for HS256/HS384/HS512, at least as long as the hash (32, 48, 64 bytes). Write `${env:NAME}` rather than the value.' })),
  secretEncoding: Type.Union([Type.Literal('utf8'), Type.Literal('base64'), Type.Literal('base64url')], { default: 'utf8', description: 'How `secret` is written: its UTF-8 bytes as they are (`utf8`), or `base64`/`base64url` bytes.' }),
  publicKey: Type.Optional(Type.String({ minLength: 1, description: 'PEM public key (`-----BEGIN PUBLIC KEY-----`) or certificate, for RS*, PS*, ES* or EdDSA.' })),
  jwk: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description: 'Public key as a JWK (`{"kty":"EC","crv":"P-256","x":…,"y":…}`); its `kid` and `alg` apply.' })),
}, { description: 'One key: exactly one of `secret`, `publicKey` and `jwk`.' });

export const IssuerConfig = Strict({
  issuer: Type.Optional(Type.String({ minLength: 1, description: 'Expected `iss` claim; also how a token picks this entry. Required with `jwksUri` and `discovery`. An entry of inline `keys` without it takes tokens whose `iss` names no other entry (and checks no `iss`).' })),
  keys: Type.Optional(Type.Array(InlineKey, { minItems: 1, description: 'Keys given inline. Give one key source: `keys`, `jwksUri` or `discovery`.' })),
  jwksUri: Type.Optional(Type.String({ pattern: '^https?://', description: 'URL of the issuer\'s JSON Web Key Set, fetched and cached (see `jwks`).', errorMessage: 'must be an http(s) URL' })),
  discovery: Type.Boolean({ default: false, description: 'Read `<issuer>/.well-known/openid-configuration` (whose `issuer` must equal `issuer`) and use its `jwks_uri`.' }),
  algorithms: Type.Array(AlgorithmSchema, { minItems: 1, description: 'Signature algorithms accepted (`alg`). HS* only with `secret` keys; RS*, PS*, ES*, EdDSA only with public keys.' }),
  audiences: Type.Array(Type.String({ minLength: 1 }), { default: [], description: 'When not empty, the token\'s `aud` must contain one of these.' }),
  requiredClaims: Type.Array(Type.String({ minLength: 1 }), { default: [], description: 'Claims the token must carry (besides `exp`, always required).' }),
  consumerClaim: Type.String({ default: 'sub', minLength: 1, description: 'Claim whose value maps the token to a consumer through its `token` credentials (`subject`).' }),
  requireConsumer: Type.Boolean({ default: false, description: 'Refuse valid tokens that map to no consumer. When false, such a token authenticates its subject only (no X-Consumer-* headers).' }),
}, { description: 'A token issuer the gateway trusts.' });

export const JwtConfig = Strict({
  issuers: Type.Array(IssuerConfig, { minItems: 1, description: 'The issuers whose tokens are accepted; a token picks its entry by its (not yet verified) `iss`.' }),
  clockSkew: Duration('Tolerance for `exp`, `nbf` and `iat` when clocks differ.', '30s'),
  maxTokenAge: Type.Optional(Duration('Refuse tokens issued (`iat`, then required) longer ago than this, whatever their `exp`.')),
  tokenFrom: TokenFromConfig,
  hideCredentials: HideTokenConfig,
  verifiedCache: Strict({
    maxEntries: Type.Integer({ minimum: 0, default: 10000, description: 'Most verified tokens remembered (the oldest go first). 0 turns the cache off.' }),
    ttl: Duration('Longest a verified token is remembered (never past its `exp`): also how long a key removed from the issuer\'s JWKS is still honoured for tokens already seen. 0 turns the cache off.', '1m'),
  }, { default: {}, description: 'Remembers tokens whose signature and claims were verified, so a client sending the same token again costs a lookup instead of a signature check. Consumer mapping still runs per request.' }),
  jwks: Strict({
    defaultTtl: Duration('How long a fetched JWKS (or discovery document) is fresh when its answer has no `Cache-Control: max-age`.', '5m'),
    minTtl: Duration('Lower bound of `max-age`.', '30s'),
    maxTtl: Duration('Upper bound of `max-age`.', '24h'),
    refreshInterval: Duration('At most one refetch per this interval for tokens with an unknown `kid`; also the longest retry delay after a failed fetch.', '30s'),
    timeout: Duration('Timeout of one fetch.', '5s'),
  }, { default: {}, description: 'Caching of remote key sets. Stale keys keep serving while a refresh runs or the endpoint is down.' }),
}, { description: 'Authenticates requests by JSON Web Token (JWKS, OIDC discovery).' });

export type InlineKeyT = Static<typeof InlineKey>;
export type IssuerConfigT = Static<typeof IssuerConfig>;
export type JwtConfigT = Static<typeof JwtConfig>;
