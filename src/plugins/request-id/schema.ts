import { Type, type Static } from '@sinclair/typebox';
import { Strict } from '../../config/schema/common.ts';
import { TOKEN_PATTERN } from '../shared/header-rules.ts';

export const RequestIdConfig = Strict({
  header: Type.String({
    pattern: TOKEN_PATTERN,
    default: 'x-request-id',
    description: 'Header that carries the request id, from the client, to the upstream and back to the client.',
  }),
  trustIncoming: Type.Boolean({
    default: true,
    description: 'Keep an id the client sent when it is 1 to 200 characters of `A-Z a-z 0-9 . _ : -`; otherwise, or when false, generate a UUID.',
  }),
  forward: Type.Boolean({
    default: true,
    description: 'Send the id to the upstream in `header`. When false, the header is removed from the upstream request, so an unchecked client value never reaches it.',
  }),
  echo: Type.Boolean({
    default: true,
    description: 'Add the id to every response in `header`, gateway errors included.',
  }),
}, { description: 'Gives every request an id (kept from the client or generated), used in logs and problem+json bodies and passed upstream.' });

export type RequestIdConfig = Static<typeof RequestIdConfig>;
