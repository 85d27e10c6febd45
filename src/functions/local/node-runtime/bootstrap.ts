/**
 * The built-in Node.js runtime: the sandbox's main module. It loads the handler once (a failure goes to
 * `/init/error` and the process exits), then loops: `next` → handler → `response` or `error`. An uncaught exception
 * or unhandled rejection fails the current invocation and ends the process, as on Lambda, so the next invocation
 * gets a fresh sandbox. Kept lean (node:http, no fetch): its import time is part of every cold start.
 */
import { errorBody, invokeHandler, type FunctionInfo } from './invoke-handler.ts';
import { loadHandler } from './load-handler.ts';
import { RuntimeClient, type ErrorBody } from './runtime-client.ts';

const env = process.env;
// Runtime-private settings (the compile cache dir) are not the function's business.
delete env.NODE_COMPILE_CACHE;

const client = new RuntimeClient(env.AWS_LAMBDA_RUNTIME_API ?? '');
const info: FunctionInfo = {
  functionName: env.AWS_LAMBDA_FUNCTION_NAME ?? '',
  functionVersion: env.AWS_LAMBDA_FUNCTION_VERSION ?? '$LATEST',
  memoryLimitInMB: env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE ?? '',
  logGroupName: env.AWS_LAMBDA_LOG_GROUP_NAME ?? '',
  logStreamName: env.AWS_LAMBDA_LOG_STREAM_NAME ?? '',
};
let current: string | undefined;

/** Reports a fatal error for the current invocation (or init) and exits with Lambda's codes. */
function die(error: ErrorBody, code: number): void {
  console.error(`${error.errorType}: ${error.errorMessage}`);
  const post = current === undefined ? client.initError(error) : client.error(current, error);
  void post.finally(() => process.exit(code));
}

process.on('uncaughtException', (err) => die(errorBody(err), 129));
process.on('unhandledRejection', (reason) => {
  const message = reason instanceof Error ? `${reason.name}: ${reason.message}` : String(reason);
  die({ ...errorBody(reason), errorType: 'Runtime.UnhandledPromiseRejection', errorMessage: message }, 128);
});

let handler;
try {
  handler = await loadHandler(env.LAMBDA_TASK_ROOT ?? process.cwd(), env._HANDLER ?? '');
} catch (err) {
  const body = errorBody(err);
  console.error(`${body.errorType}: ${body.errorMessage}`);
  await client.initError(body);
  process.exit(1);
}

for (;;) {
  const next = await client.next();
  current = next.requestId;
  if (next.traceId === undefined) delete env._X_AMZN_TRACE_ID;
  else env._X_AMZN_TRACE_ID = next.traceId;
  let body: string | undefined;
  let error: ErrorBody | undefined;
  try {
    const event: unknown = next.event.length === 0 ? {} : JSON.parse(next.event.toString('utf8'));
    const result = await invokeHandler(handler, event, next, info);
    body = JSON.stringify(result) ?? 'null';
  } catch (err) {
    error = errorBody(err);
  }
  if (error === undefined) await client.respond(next.requestId, body!);
  else await client.error(next.requestId, error);
  current = undefined;
}
