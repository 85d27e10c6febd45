import { Type, type Static } from '@sinclair/typebox';
import { Duration, Strict } from '../../config/schema/common.ts';
import { TOKEN_PATTERN } from '../shared/header-rules.ts';

const HEADER_NAME = Type.String({ pattern: TOKEN_PATTERN, errorMessage: 'must be a header name' });

export const LambdaAuthorizerConfig = Strict({
  function: Type.String({ minLength: 1, description: 'The authorizer function: a key of `functions`, local or remote (`arn`).' }),
  type: Type.Optional(Type.Union([Type.Literal('TOKEN'), Type.Literal('REQUEST')], {
    description: '`TOKEN`: the function gets `{type, authorizationToken, methodArn}` (one header, payload 1.0 only). `REQUEST`: it gets the request (headers, query, path parameters, request context) as API Gateway sends it. Default: `TOKEN` for payload 1.0, `REQUEST` for 2.0.',
  })),
  payloadFormat: Type.Union([Type.Literal('1.0'), Type.Literal('2.0')], {
    default: '1.0',
    description: '`1.0`: REST API authorizers (IAM policy responses). `2.0`: HTTP API authorizers (policy responses, or simple ones with `simpleResponses`).',
  }),
  simpleResponses: Type.Boolean({ default: false, description: 'Payload 2.0: the function answers `{isAuthorized, context}` instead of an IAM policy.' }),
  identitySource: Strict({
    headers: Type.Array(HEADER_NAME, { default: ['authorization'], description: 'Request headers (any case) that identify the caller. `TOKEN`: exactly one, whose value is `authorizationToken`.' }),
    query: Type.Array(Type.String({ minLength: 1 }), { default: [], description: 'Query parameters that identify the caller (`REQUEST` only).' }),
  }, {
    default: {},
    description: 'What identifies the caller: the result cache key, and required: a request without all of them is refused with 401 without invoking the function.',
  }),
  validationExpression: Type.Optional(Type.String({ minLength: 1, description: '`TOKEN`: a regular expression the whole token must match; otherwise 401 without invoking the function.' })),
  ttl: Duration('How long an answer is reused for the same identity source (its policy is evaluated again for each request\'s method ARN). `0` invokes the function for every request.', '5m'),
  maxEntries: Type.Integer({ minimum: 1, default: 10000, description: 'Most answers cached; the least recently used goes first.' }),
  region: Type.String({ default: 'us-east-1', description: 'Region in the method ARN (`arn:aws:execute-api:{region}:{accountId}:{apiId}/{stage}/{METHOD}/{path}`).' }),
  accountId: Type.String({ default: '123456789012', description: 'Account id in the method ARN.' }),
  apiId: Type.String({ default: 'expeditor', description: 'API id in the method ARN.' }),
  stage: Type.String({ default: '$default', description: 'Stage in the method ARN.' }),
  consumerFrom: Type.Union([Type.Literal('principalId'), Type.Literal('none')], {
    default: 'principalId',
    description: '`principalId`: a `principalId` that is a consumer\'s id (or name) makes the request that consumer\'s, so consumer-scoped plugins, rate limits by consumer, usage plans and the X-Consumer-* headers apply. `none`: the caller is known only by its principalId.',
  }),
  contextHeaders: Type.Boolean({ default: true, description: 'Send each `context` entry upstream as a header `{contextHeaderPrefix}{key}` (objects as JSON; keys that are not header names are skipped).' }),
  contextHeaderPrefix: Type.String({
    default: 'X-Authorizer-',
    pattern: '^[Xx]-[Aa][Uu][Tt][Hh][Oo][Rr][Ii][Zz][Ee][Rr]-[A-Za-z0-9-]*$',
    errorMessage: 'must start with X-Authorizer- (a gateway-owned prefix)',
    description: 'Prefix of the context headers. It must start with `X-Authorizer-`, a prefix the gateway owns: clients\' own `X-Authorizer-*` headers are removed at ingress, so upstreams can trust them.',
  }),
}, { description: 'Authenticates requests with a Lambda authorizer function (TOKEN or REQUEST; IAM policy or simple responses), as API Gateway does. See docs/functions.md.' });

export type LambdaAuthorizerConfigT = Static<typeof LambdaAuthorizerConfig>;
