import { Type, type Static } from '@sinclair/typebox';
import { Strict } from '../../config/schema/common.ts';

export const KeyAuthConfig = Strict({
  headers: Type.Array(Type.String({ pattern: '^[A-Za-z0-9!#$%&\'*+.^_`|~-]+$', errorMessage: 'must be a header name' }), {
    default: ['apikey', 'x-api-key'],
    description: 'Request headers the key is read from, tried in order (any case). `[]` to take keys from the query or a cookie only.',
  }),
  query: Type.Array(Type.String({ minLength: 1 }), {
    default: [],
    description: 'Query parameters the key is read from (case-sensitive), tried after the headers. Off by default: URLs end up in logs, browser history and Referer headers.',
  }),
  cookies: Type.Array(Type.String({ pattern: '^[A-Za-z0-9!#$%&\'*+.^_`|~-]+$', errorMessage: 'must be a cookie name' }), {
    default: [],
    description: 'Cookies the key is read from, tried last.',
  }),
  hideCredentials: Type.Boolean({
    default: true,
    description: 'Remove the key from the request sent upstream: the headers, the query parameters (other parameters are kept byte for byte) and just those cookies.',
  }),
}, { description: 'Authenticates requests by API key, checked against the consumers\' `key-auth` credentials (stored as hashes).' });

export type KeyAuthConfigT = Static<typeof KeyAuthConfig>;
