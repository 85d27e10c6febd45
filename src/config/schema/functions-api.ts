import { Type, type Static } from '@sinclair/typebox';
import { Cidr, Port, Strict } from './common.ts';

export const FunctionsApiCredential = Strict({
  accessKeyId: Type.String({ pattern: '^[A-Za-z0-9]{1,128}$', description: 'Access key id clients sign with (the `Credential=` of their SigV4 signature).' }),
  secretAccessKey: Type.String({ minLength: 1, description: 'Its secret. Use `${env:NAME}` rather than writing it in the file.' }),
}, { description: 'A key pair accepted on the Invoke API.' });

export const FunctionsApiConfig = Strict({
  enabled: Type.Boolean({ default: false, description: 'Serve the Lambda Invoke API (`POST /2015-03-31/functions/{name}/invocations`) for the local functions, on a listener of its own.' }),
  port: Port('Port of the Invoke API listener. 0 picks a free port.', 9001),
  host: Type.String({ default: '127.0.0.1', description: 'Address the Invoke API binds to.' }),
  credentials: Type.Array(FunctionsApiCredential, {
    default: [],
    description: 'Key pairs whose AWS Signature Version 4 (service `lambda`, any region) is accepted. When there are any, every request must be signed with one of them; unsigned or badly signed requests get AWS\'s 403 answers.',
  }),
  allowUnsignedFrom: Type.Array(Cidr, {
    default: ['127.0.0.0/8', '::1/128'],
    description: 'Without `credentials`: clients (by peer address) that may invoke without a signature; everyone else gets 403. Ignored when `credentials` are set.',
  }),
}, { description: 'The Lambda Invoke API for the local functions: `@aws-sdk/client-lambda` (and Expeditor\'s remote functions) with `endpoint` set to it invoke them unchanged. See docs/functions.md.' });

export type FunctionsApiConfigT = Static<typeof FunctionsApiConfig>;
