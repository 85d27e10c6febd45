import { Type, type Static } from '@sinclair/typebox';
import { Duration, Strict } from '../../config/schema/common.ts';

export const HMAC_ALGORITHMS = ['hmac-sha256', 'hmac-sha384', 'hmac-sha512'] as const;
export type HmacAlgorithm = (typeof HMAC_ALGORITHMS)[number];

export const HmacAuthConfig = Strict({
  algorithms: Type.Array(Type.Union(HMAC_ALGORITHMS.map((a) => Type.Literal(a)), { errorMessage: `must be one of ${HMAC_ALGORITHMS.join(', ')}` }), {
    minItems: 1,
    default: [...HMAC_ALGORITHMS],
    description: 'Signature algorithms accepted (the `algorithm` the client names).',
  }),
  clockSkew: Duration('How far the signed `Date` (or `X-Date`) may be from the gateway\'s clock, either way. A signature can be replayed within this window.', '300s'),
  enforceHeaders: Type.Array(Type.String({
    pattern: '^([a-z0-9!#$%&\'*+.^_`|~-]+|\\(request-target\\)|@request-target)$',
    errorMessage: 'must be a lower-case header name, `request-line`, `(request-target)` or `@request-target`',
  }), {
    default: [],
    description: 'Headers (lower case) every signature must cover, besides the date: say `request-line` (or `(request-target)`, `@request-target`) so the method, path and query are signed, and `digest` so the body is.',
  }),
  validateDigest: Type.Boolean({
    default: true,
    description: 'A request with a body must carry a signed `Digest: SHA-256=<base64>` (or `SHA-512=`) that matches the body. The body is then read in full before the request is forwarded (up to the route\'s body limit).',
  }),
  hideCredentials: Type.Boolean({
    default: true,
    description: 'Remove the signature (`Authorization`, or the `Signature` header) from the request sent upstream once it is accepted.',
  }),
}, { description: 'Authenticates requests signed with a shared secret (HTTP Signatures, draft-cavage, as Kong\'s hmac-auth), checked against the consumers\' `hmac-auth` credentials.' });

export type HmacAuthConfigT = Static<typeof HmacAuthConfig>;
