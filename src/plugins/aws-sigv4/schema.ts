import { Type, type Static } from '@sinclair/typebox';
import { Duration, Strict } from '../../config/schema/common.ts';

const Token = Type.String({ pattern: '^[a-z0-9-]+$', errorMessage: 'must be lower-case letters, digits and "-"' });

export const AwsSigv4Config = Strict({
  services: Type.Array(Token, {
    default: ['execute-api'],
    minItems: 1,
    description: 'Services a credential scope may name (`…/<region>/<service>/aws4_request`). Clients sign for one of them, as they would for the AWS service of that name.',
  }),
  regions: Type.Array(Token, {
    default: [],
    description: 'Regions a credential scope may name (`us-east-1`…). Empty: any region.',
  }),
  clockSkew: Duration('How far `X-Amz-Date` may be from the gateway\'s clock, either way. Also the replay window: a captured request verifies again until it is that old.', '5m'),
  requiredSignedHeaders: Type.Array(Type.String({ pattern: '^[a-z0-9!#$%&\'*+.^_`|~-]+$', errorMessage: 'must be a lower-case header name' }), {
    default: [],
    description: 'Headers the signature must cover beyond `host` and `x-amz-date` (which it always must), lower case: `content-type`, `x-amz-content-sha256`… A request that does not sign one of them is refused, even if it does not send it.',
  }),
  uriEscapePath: Type.Boolean({
    default: true,
    description: 'Canonical path as every AWS service but S3 builds it: dot segments and empty segments removed, then the path as sent percent-encoded once more (`/a%20b` signs as `/a%2520b`). `false`: the path exactly as sent, as S3 signs it.',
  }),
  allowUnsignedPayload: Type.Boolean({
    default: false,
    description: 'Accept `x-amz-content-sha256: UNSIGNED-PAYLOAD` (the body is then not covered by the signature, and not read to check it). Off: the body is always covered.',
  }),
  allowPresigned: Type.Boolean({
    default: false,
    description: 'Accept presigned URLs (the signature in `X-Amz-Algorithm`, `X-Amz-Credential`, `X-Amz-Date`, `X-Amz-Expires`, `X-Amz-SignedHeaders` and `X-Amz-Signature` query parameters). Anyone holding such a URL can use it until it expires.',
  }),
  maxPresignedExpires: Duration('Longest validity (`X-Amz-Expires`) a presigned URL may claim; longer ones are refused. At most 7 days, as AWS allows.', '15m'),
  hideCredentials: Type.Boolean({
    default: true,
    description: 'Remove the signature (the `Authorization` header, or the presigned URL\'s `X-Amz-*` query parameters) from the request sent upstream, so the upstream cannot replay it.',
  }),
}, { description: 'Authenticates requests signed with AWS Signature Version 4 (as AWS API Gateway IAM authorization does), with the `aws-sigv4` credentials of consumers.' });

export type AwsSigv4ConfigT = Static<typeof AwsSigv4Config>;
