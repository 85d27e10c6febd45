import { Type, type Static } from '@sinclair/typebox';
import { Strict } from '../../config/schema/common.ts';

const Names = (description: string) => Type.Array(Type.String({ minLength: 1 }), { default: [], description });

export const AclConfig = Strict({
  allowGroups: Names('Consumers in at least one of these groups are allowed (with allowConsumers: either list admits).'),
  allowConsumers: Names('Consumers (by name) that are allowed.'),
  denyGroups: Names('Consumers in any of these groups are refused, whatever the allow lists say.'),
  denyConsumers: Names('Consumers (by name) that are refused, whatever the allow lists say.'),
  scopes: Names('Scopes the request\'s token must carry (`scope`/`scp` claims).'),
  scopesMode: Type.Union([Type.Literal('all'), Type.Literal('any')], { default: 'all', description: '`all`: every scope in `scopes` is required; `any`: one of them is enough.' }),
  message: Type.String({ default: 'not allowed', description: 'The `detail` of the 403 answer.' }),
}, { description: 'Authorization after authentication: consumer and group allow/deny lists and required scopes.' });

export type AclConfigT = Static<typeof AclConfig>;
