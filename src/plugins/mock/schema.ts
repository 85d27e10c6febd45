import { Type, type Static } from '@sinclair/typebox';
import { Strict } from '../../config/schema/common.ts';
import { HeaderValueSchema } from '../shared/header-rules.ts';

export const MockConfig = Strict({
  status: Type.Integer({
    minimum: 200,
    maximum: 599,
    default: 200,
    description: 'Status of the reply.',
  }),
  headers: Type.Record(Type.String(), HeaderValueSchema, {
    default: {},
    description: 'Response headers. `content-length` is computed; hop-by-hop headers are refused.',
  }),
  body: Type.Optional(Type.Unknown({
    description: 'The body: a string is sent as is (`text/plain; charset=utf-8` unless a content type is given); any other JSON value is serialised (`application/json`). Omit for an empty body.',
  })),
  contentType: Type.Optional(Type.String({
    minLength: 1,
    description: 'Content-Type of the body, replacing the one derived from it.',
  })),
}, { description: 'Answers every request with a fixed reply, without a backend: stubs, maintenance pages, API mocks.' });

export type MockConfig = Static<typeof MockConfig>;
