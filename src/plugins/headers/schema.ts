import { Type, type Static } from '@sinclair/typebox';
import { Strict } from '../../config/schema/common.ts';
import { HeaderValueSchema } from '../shared/header-rules.ts';

const HeaderMap = (description: string) => Type.Record(Type.String(), HeaderValueSchema, { default: {}, description });

const edits = (target: string) => Strict({
  remove: Type.Array(Type.String(), {
    default: [],
    description: `Header names to remove from the ${target} (case-insensitive).`,
  }),
  set: HeaderMap(`Headers to set on the ${target}, replacing any value it already has. A list sends one header line per value.`),
  add: HeaderMap(`Headers to add to the ${target}, keeping any value it already has. A list sends one header line per value.`),
}, { default: {}, description: `Edits to the ${target}'s headers, applied in the order remove, set, add.` });

export const HeadersConfig = Strict({
  request: edits('request sent upstream'),
  response: edits('response sent to the client'),
}, { description: 'Adds, replaces and removes request headers (sent upstream) and response headers (sent to the client).' });

export type HeadersConfig = Static<typeof HeadersConfig>;
