import { Type, type Static } from '@sinclair/typebox';
import { Duration, Strict } from '../../config/schema/common.ts';

export const BasicAuthConfig = Strict({
  hideCredentials: Type.Boolean({
    default: true,
    description: 'Remove the `Authorization` header from the request sent upstream once it is accepted.',
  }),
  cacheTtl: Duration('How long a verified user name and password is remembered, so steady traffic does not pay a password hash (tens of milliseconds) per request. `0` turns the cache off. A revoked or expired credential is refused whatever the cache holds.', '1m'),
  cacheSize: Type.Integer({
    minimum: 1,
    maximum: 1_000_000,
    default: 10_000,
    description: 'Most verified logins remembered at once; the oldest is forgotten first.',
  }),
}, { description: 'Authenticates requests by HTTP Basic user name and password, checked against the consumers\' `basic-auth` credentials (scrypt or argon2id hashes).' });

export type BasicAuthConfigT = Static<typeof BasicAuthConfig>;
