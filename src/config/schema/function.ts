import { Type, type Static } from '@sinclair/typebox';
import { Duration, Strict } from './common.ts';

export const FunctionConfig = Strict({
  handler: Type.Optional(Type.String({
    minLength: 1,
    description: '`nodejs`: the handler as `path/to/file.export` (`src/orders.handler`), relative to `codeDir`; the file may be CommonJS, ESM or TypeScript. `provided`: passed to the `bootstrap` as `_HANDLER`.',
  })),
  runtime: Type.Union([Type.Literal('nodejs'), Type.Literal('provided')], {
    default: 'nodejs',
    description: '`nodejs`: the built-in Node.js runtime. `provided`: an executable `bootstrap` in `codeDir` (any language) that speaks the Lambda Runtime API, as AWS custom runtimes do.',
  }),
  codeDir: Type.Optional(Type.String({ minLength: 1, description: 'The function\'s code directory (`LAMBDA_TASK_ROOT`), relative to the config file. Default: the config file\'s directory.' })),
  timeout: Duration('Longest an invocation may run; past it the sandbox is killed and the route answers 504 `function_timeout`.', '3s'),
  memorySize: Type.Integer({ minimum: 64, maximum: 10240, default: 128, description: 'Memory of a sandbox in MB (`AWS_LAMBDA_FUNCTION_MEMORY_SIZE`): the Node runtime\'s heap limit, and the RSS past which any sandbox is killed.' }),
  environment: Type.Record(Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]*$' }), Type.String(), { default: {}, description: 'Environment variables of the function (besides the `AWS_LAMBDA_*` ones the runtime sets).' }),
  reservedConcurrency: Type.Integer({ minimum: 1, maximum: 1000, default: 10, description: 'Most sandboxes at once, each running one invocation at a time; more invocations wait in the queue.' }),
  queue: Strict({
    maxSize: Type.Integer({ minimum: 0, default: 100, description: 'Invocations that may wait for a sandbox; past it the route answers 429 `function_throttled`.' }),
    timeout: Duration('Longest an invocation waits for a sandbox before 429 `function_throttled`.', '10s'),
  }, { default: {}, description: 'The FIFO queue in front of busy sandboxes.' }),
  idleTimeout: Duration('A warm sandbox idle this long is stopped (the next invocation is a cold start).', '5m'),
  arn: Type.Optional(Type.String({ pattern: '^arn:aws[a-z-]*:lambda:', description: 'Invoke this AWS Lambda function instead of running the code here (remote).' })),
  region: Type.Optional(Type.String({ description: 'AWS region of a remote function (default: from the ARN).' })),
  qualifier: Type.Optional(Type.String({ description: 'Version or alias of a remote function.' })),
  endpoint: Type.Optional(Type.String({ pattern: '^https?://', description: 'A Lambda-compatible Invoke API to call instead of AWS (another Expeditor, LocalStack).' })),
}, { description: 'A Lambda-compatible function: code run here in sandboxes speaking the Lambda Runtime API, or a remote AWS Lambda (`arn`). See docs/functions.md.' });

export type FunctionConfigT = Static<typeof FunctionConfig>;

export const RouteFunctionConfig = Strict({
  name: Type.String({ description: 'The function (a key of `functions`).' }),
  payloadFormat: Type.Union([Type.Literal('1.0'), Type.Literal('2.0')], {
    default: '2.0',
    description: 'The event and response format: `1.0` as API Gateway REST API proxy integrations, `2.0` as HTTP APIs.',
  }),
  binaryMediaTypes: Type.Array(Type.String(), {
    default: [],
    description: 'Payload 1.0: media types (`image/png`, `image/*`, `*/*`) sent to the function base64-encoded (by the request\'s Content-Type) and decoded from base64 on the way out (by the first Accept type).',
  }),
  errors: Type.Union([Type.Literal('problem'), Type.Literal('aws')], {
    default: 'problem',
    description: '`problem`: function failures answer problem+json with a stable `code`. `aws`: the exact bodies API Gateway sends (`{"message":"Internal server error"}`…), for clients that expect them.',
  }),
}, { description: 'Serve this route with a function instead of an upstream.' });

export type RouteFunctionConfigT = Static<typeof RouteFunctionConfig>;
