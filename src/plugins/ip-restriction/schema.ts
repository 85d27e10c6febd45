import { Type, type Static } from '@sinclair/typebox';
import { Cidr, Strict } from '../../config/schema/common.ts';

export const IpRestrictionConfig = Strict({
  allow: Type.Array(Cidr, {
    default: [],
    description: 'Addresses or CIDR blocks allowed in; when not empty, every other address is denied. IPv4 rules also match IPv4-mapped IPv6 addresses (`::ffff:10.1.2.3`).',
  }),
  deny: Type.Array(Cidr, {
    default: [],
    description: 'Addresses or CIDR blocks denied, even when `allow` lists them.',
  }),
  status: Type.Integer({
    minimum: 400,
    maximum: 599,
    default: 403,
    description: 'Status of the problem+json answer to a denied client (its code stays `forbidden`).',
  }),
  message: Type.String({
    default: 'client address not allowed',
    description: 'The `detail` of the problem+json answer to a denied client.',
  }),
}, { description: 'Allows or denies clients by IP address (the client address resolved through `server.trustedProxies`). Set `allow`, `deny`, or both.' });

export type IpRestrictionConfig = Static<typeof IpRestrictionConfig>;
