import { FormatRegistry, Type, type Static } from '@sinclair/typebox';
import { Strict } from './common.ts';

// RFC 3339 date-time, with a zone (so "2027-01-31T00:00:00" can't mean different instants on different nodes).
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i;
FormatRegistry.Set('date-time', (v) => DATE_TIME.test(v) && !Number.isNaN(Date.parse(v)));

const Revoked = Type.Optional(Type.Boolean({ default: false, description: 'A revoked credential is refused (401 `invalid_credentials`) from the next reload on.' }));
const ExpiresAt = Type.String({
  format: 'date-time',
  description: 'When the credential stops working (RFC 3339, e.g. `2027-01-31T00:00:00Z`). Omit for no expiry.',
  errorMessage: 'must be an RFC 3339 date-time such as "2027-01-31T00:00:00Z"',
});
const CredentialId = Type.String({ minLength: 1, maxLength: 128, description: 'A label for this credential, shown in logs and used to revoke it (`expeditor keys revoke`).' });

export const KeyAuthCredential = Strict({
  type: Type.Literal('key-auth', { description: 'Credential type.' }),
  id: Type.Optional(CredentialId),
  keyHash: Type.String({
    pattern: '^(sha256|hmac-sha256):[0-9a-f]{64}$',
    description: 'Hash of the API key: `sha256:<hex>` (SHA-256 of the key) or `hmac-sha256:<hex>` (HMAC-SHA-256 keyed with `auth.keySecret`). Never the key itself: `expeditor keys create` makes a key and prints this.',
    errorMessage: 'must be "sha256:<64 hex digits>" or "hmac-sha256:<64 hex digits>" (the hash, never the key: see `expeditor keys create`)',
  }),
  expiresAt: Type.Optional(ExpiresAt),
  revoked: Revoked,
}, { description: 'An API key (key-auth plugin).' });

export const BasicAuthCredential = Strict({
  type: Type.Literal('basic-auth', { description: 'Credential type.' }),
  id: Type.Optional(CredentialId),
  username: Type.String({ minLength: 1, pattern: '^[^:]+$', description: 'User name (no colon).', errorMessage: 'must be a non-empty user name without ":"' }),
  passwordHash: Type.String({
    pattern: '^\\$(scrypt|argon2id)\\$',
    description: 'Password hash in PHC format: `$scrypt$ln=…,r=…,p=…$salt$hash` or `$argon2id$v=19$m=…,t=…,p=…$salt$hash`. Never the password: `expeditor passwords hash` makes one.',
    errorMessage: 'must be a "$scrypt$…" or "$argon2id$…" hash (never a clear password: see `expeditor passwords hash`)',
  }),
  expiresAt: Type.Optional(ExpiresAt),
  revoked: Revoked,
}, { description: 'A user name and password (basic-auth plugin).' });

export const TokenCredential = Strict({
  type: Type.Literal('token', { description: 'Credential type.' }),
  id: Type.Optional(CredentialId),
  issuer: Type.Optional(Type.String({ description: 'Only tokens from this issuer (`iss`) map to this consumer. Omit for any configured issuer.' })),
  subject: Type.String({ minLength: 1, description: 'The value of the token claim the plugin maps consumers by (`sub` by default; `client_id` for client-credentials tokens, say).' }),
  revoked: Revoked,
}, { description: 'Maps a JWT or introspected OAuth 2.0 token to this consumer (jwt and oauth2-introspection plugins).' });

export const SigV4Credential = Strict({
  type: Type.Literal('aws-sigv4', { description: 'Credential type.' }),
  id: Type.Optional(CredentialId),
  accessKeyId: Type.String({ pattern: '^[A-Za-z0-9]{8,128}$', description: 'Access key id the client signs with.', errorMessage: 'must be 8 to 128 letters and digits' }),
  secretAccessKey: Type.String({ minLength: 16, description: 'Secret access key. The signature check needs it in clear: write `${env:NAME}` rather than the value.' }),
  expiresAt: Type.Optional(ExpiresAt),
  revoked: Revoked,
}, { description: 'An AWS Signature Version 4 key pair (aws-sigv4 plugin).' });

export const HmacCredential = Strict({
  type: Type.Literal('hmac-auth', { description: 'Credential type.' }),
  id: Type.Optional(CredentialId),
  username: Type.String({ minLength: 1, description: 'The `username` the client names in its signature.' }),
  secret: Type.String({ minLength: 16, description: 'Shared signing secret. Write `${env:NAME}` rather than the value.' }),
  expiresAt: Type.Optional(ExpiresAt),
  revoked: Revoked,
}, { description: 'A shared HMAC secret (hmac-auth plugin).' });

export const MtlsCredential = Strict({
  type: Type.Literal('mtls', { description: 'Credential type.' }),
  id: Type.Optional(CredentialId),
  subject: Type.Optional(Type.String({ minLength: 1, description: 'Certificate subject common name (CN) that maps to this consumer.' })),
  san: Type.Optional(Type.String({
    pattern: '^([Dd][Nn][Ss]|[Ee][Mm][Aa][Ii][Ll]|[Uu][Rr][Ii]|[Ii][Pp]|[Ii][Pp] [Aa]ddress):.+$',
    description: 'A subject alternative name (as `DNS:…`, `email:…`, `URI:…` or `IP:…`) that maps to this consumer.',
    errorMessage: 'must be a SAN such as "DNS:client.example.com", "email:ops@example.com", "URI:spiffe://…" or "IP:10.0.0.1"',
  })),
  fingerprint256: Type.Optional(Type.String({
    pattern: '^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){31}$',
    description: 'SHA-256 fingerprint of the certificate (`AB:CD:…`), pinning one certificate.',
    errorMessage: 'must be a SHA-256 fingerprint such as "AB:CD:…" (32 bytes)',
  })),
  revoked: Revoked,
}, { description: 'A client certificate (mtls-auth plugin): matched by subject CN, a SAN, or fingerprint.' });

export const CredentialConfig = Type.Union(
  [KeyAuthCredential, BasicAuthCredential, TokenCredential, SigV4Credential, HmacCredential, MtlsCredential],
  { errorMessage: 'must be a credential with "type" key-auth, basic-auth, token, aws-sigv4, hmac-auth or mtls, and that type\'s fields' },
);

export type CredentialConfigT = Static<typeof CredentialConfig>;
export type CredentialType = CredentialConfigT['type'];

export const consumerFields = {
  id: Type.Optional(Type.String({ minLength: 1, maxLength: 256, description: 'Stable id sent upstream as `X-Consumer-Id` and used by rate limits and logs. Defaults to the consumer\'s name.' })),
  groups: Type.Array(Type.String({ minLength: 1 }), { default: [], description: 'Groups the consumer belongs to (for `acl` and per-group limits); sent upstream as `X-Consumer-Groups`.' }),
  metadata: Type.Record(Type.String(), Type.Union([Type.String(), Type.Number(), Type.Boolean()]), { default: {}, description: 'Free-form values (plan, tenant…) that plugins and logs can read.' }),
  credentials: Type.Array(CredentialConfig, { default: [], description: 'How this consumer proves who it is; any number, of any types.' }),
  plan: Type.Optional(Type.String({ minLength: 1, description: 'The usage plan (a name under `plans`) the consumer subscribes to: its throttle and quota apply to the consumer\'s requests on the routes it covers.' })),
};

export const HeaderName = (description: string, def: string) =>
  Type.String({ pattern: '^[A-Za-z0-9-]+$', default: def, description, errorMessage: 'must be a header name (letters, digits and "-")' });

export const AuthSettings = Strict({
  keySecret: Type.Optional(Type.String({ minLength: 16, description: 'Server secret for `hmac-sha256:` API key hashes. Write `${env:NAME}` rather than the value; changing it invalidates those keys.' })),
  realm: Type.String({ default: 'expeditor', description: 'Realm named in `WWW-Authenticate` challenges.' }),
  passwordChecks: Strict({
    maxConcurrent: Type.Integer({ minimum: 1, maximum: 64, default: 2, description: 'Password hashes (basic-auth logins not in its cache) computed at once in the process. They run on Node\'s thread pool (4 threads unless UV_THREADPOOL_SIZE says otherwise), shared with DNS and file I/O: keep this below its size.' }),
    maxQueued: Type.Integer({ minimum: 0, maximum: 100000, default: 64, description: 'Logins waiting for a hash slot, in arrival order; more are answered 503 `auth_unavailable` at once (a flood of wrong passwords cannot stall the gateway).' }),
  }, { default: {}, description: 'Bounds on password hashing across the process.' }),
  upstreamHeaders: Strict({
    consumerId: HeaderName('Carries the consumer\'s id.', 'X-Consumer-Id'),
    consumerUsername: HeaderName('Carries the consumer\'s name.', 'X-Consumer-Username'),
    consumerGroups: HeaderName('Carries the consumer\'s groups, comma-separated.', 'X-Consumer-Groups'),
    scopes: HeaderName('Carries the granted scopes, space-separated.', 'X-Authenticated-Scopes'),
    subject: HeaderName('Carries the authenticated subject (token `sub`, user name, access key id) when no consumer is mapped, too.', 'X-Authenticated-Subject'),
    anonymous: HeaderName('Set to `true` when the request was let in as the route\'s anonymous consumer.', 'X-Consumer-Anonymous'),
  }, { default: {}, description: 'Names of the identity headers sent upstream. Whatever the names, copies sent by clients are always removed, on every route.' }),
}, { description: 'Settings shared by the authentication plugins (see docs/authentication.md).' });

export const RouteAuthConfig = Strict({
  mode: Type.Union([Type.Literal('any'), Type.Literal('all')], {
    default: 'any',
    description: '`any`: the methods are tried in order and the first that accepts the request wins. `all`: every method must accept it (and they must agree on the consumer).',
  }),
  order: Type.Optional(Type.Array(Type.String(), { minItems: 1, description: 'Authentication plugins in the order they are tried; default: by plugin priority (mtls-auth, aws-sigv4, hmac-auth, jwt, oauth2-introspection, key-auth, basic-auth).' })),
  anonymous: Type.Optional(Type.String({ description: 'Consumer a request that carries no credentials at all is let in as (say, a low-limit `guest`). Requests with bad credentials are still refused. Omit to require credentials.' })),
}, { description: 'How the route\'s authentication plugins combine.' });

export type AuthSettingsT = Static<typeof AuthSettings>;
export type RouteAuthConfigT = Static<typeof RouteAuthConfig>;
