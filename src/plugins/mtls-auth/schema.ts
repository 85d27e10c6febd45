import { Type, type Static } from '@sinclair/typebox';
import { Strict } from '../../config/schema/common.ts';

export const MtlsMatch = Type.Union([Type.Literal('fingerprint256'), Type.Literal('san'), Type.Literal('subject')]);

export const MtlsAuthConfig = Strict({
  consumerBy: Type.Array(MtlsMatch, {
    default: ['fingerprint256', 'san', 'subject'],
    minItems: 1,
    uniqueItems: true,
    description: 'How a verified certificate maps to a consumer, through the consumers\' `mtls` credentials, tried in this order (the first that maps wins): `fingerprint256` (the certificate\'s SHA-256 fingerprint: pins one certificate), `san` (any of its subject alternative names), `subject` (its subject CN).',
  }),
  requireConsumer: Type.Boolean({
    default: true,
    description: 'Refuse a verified certificate that maps to no consumer. `false`: let it in without a consumer, its subject CN as the identity\'s subject (`X-Authenticated-Subject`): any certificate the client CA signed is then enough.',
  }),
}, { description: 'Authenticates requests by TLS client certificate: the listener verifies it (`listen.tls.clientCertificates` and `clientCa`), the plugin maps it to a consumer.' });

export type MtlsAuthConfigT = Static<typeof MtlsAuthConfig>;
export type MtlsMatchT = Static<typeof MtlsMatch>;
