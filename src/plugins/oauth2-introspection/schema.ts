import { Type, type Static } from '@sinclair/typebox';
import { Duration, Strict } from '../../config/schema/common.ts';
import { HideTokenConfig, TokenFromConfig } from '../../identity/token-source.ts';

export const IntrospectionConfig = Strict({
  endpoint: Type.Optional(Type.String({ pattern: '^https?://', description: 'The introspection endpoint (RFC 7662). Give it, or `issuer` with `discovery: true`.', errorMessage: 'must be an http(s) URL' })),
  issuer: Type.Optional(Type.String({ minLength: 1, description: 'The authorization server\'s issuer identifier: an answer naming another `iss` is refused, and `token` credentials bound to an issuer match against it.' })),
  discovery: Type.Boolean({ default: false, description: 'Find the endpoint as `introspection_endpoint` in `<issuer>/.well-known/openid-configuration` (whose `issuer` must equal `issuer`).' }),
  clientId: Type.String({ minLength: 1, description: 'The gateway\'s client id at the authorization server (HTTP Basic authentication, RFC 7662 §2.1).' }),
  clientSecret: Type.String({ minLength: 1, description: 'The gateway\'s client secret. Write `${env:NAME}` rather than the value.' }),
  tokenTypeHint: Type.String({ default: 'access_token', description: 'The `token_type_hint` sent with each token; empty to send none.' }),
  timeout: Duration('Timeout of one introspection call (and of the discovery fetch).', '3s'),
  ttl: Duration('How long an active answer is reused, never beyond the token\'s `exp`. A token revoked meanwhile keeps working until then; `0` asks every time.', '30s'),
  negativeTtl: Duration('How long an inactive answer is reused; `0` asks every time.', '10s'),
  maxEntries: Type.Integer({ minimum: 1, default: 10000, description: 'Most answers cached (least recently used go first). Entries are keyed by a SHA-256 hash of the token, never the token.' }),
  audiences: Type.Array(Type.String({ minLength: 1 }), { default: [], description: 'When not empty, the answer\'s `aud` must contain one of these.' }),
  consumerClaim: Type.String({ default: 'client_id', minLength: 1, description: 'Answer field whose value maps the token to a consumer through its `token` credentials. `client_id` (the default) is in nearly every answer, client-credentials tokens included; use `sub` to map end users.' }),
  requireConsumer: Type.Boolean({ default: false, description: 'Refuse active tokens that map to no consumer. When false, such a token authenticates its subject only.' }),
  tokenFrom: TokenFromConfig,
  hideCredentials: HideTokenConfig,
}, { description: 'Authenticates requests by OAuth 2.0 token introspection (RFC 7662).' });

export type IntrospectionConfigT = Static<typeof IntrospectionConfig>;
