/**
 * One call of the handler with Lambda's `context`, settling on whichever comes first: the returned promise, or the
 * callback (`callback`, `context.done/succeed/fail`). With `context.callbackWaitsForEmptyEventLoop` (the default) a
 * callback result is held until the event loop is empty, as Lambda does; a handler that neither returns a promise
 * nor calls back answers `null` once the loop is empty.
 */
import type { Handler } from './load-handler.ts';
import type { ErrorBody, NextInvocation } from './runtime-client.ts';

export interface FunctionInfo {
  functionName: string;
  functionVersion: string;
  memoryLimitInMB: string;
  logGroupName: string;
  logStreamName: string;
}

export interface LambdaContext extends FunctionInfo {
  callbackWaitsForEmptyEventLoop: boolean;
  awsRequestId: string;
  invokedFunctionArn: string;
  identity: unknown;
  clientContext: unknown;
  getRemainingTimeInMillis(): number;
  done(err?: unknown, result?: unknown): void;
  succeed(result?: unknown): void;
  fail(err?: unknown): void;
}

function parseHeaderJson(value: string | undefined, base64: boolean): unknown {
  if (value === undefined || value === '') return undefined;
  try {
    return JSON.parse(base64 ? Buffer.from(value, 'base64').toString('utf8') : value);
  } catch {
    return undefined;
  }
}

/** An error as the Runtime API wants it; `errorType` is the error's name (`string` etc. for a thrown non-Error). */
export function errorBody(err: unknown): ErrorBody {
  if (err instanceof Error) {
    return { errorType: err.name, errorMessage: err.message, stackTrace: (err.stack ?? '').split('\n').slice(1).map((l) => l.trim()) };
  }
  return { errorType: err === null ? 'object' : typeof err, errorMessage: String(err), stackTrace: [] };
}

export function invokeHandler(handler: Handler, event: unknown, next: NextInvocation, info: FunctionInfo): Promise<unknown> {
  return new Promise<unknown>((resolve, reject) => {
    let settled = false;
    let held: [unknown, unknown] = [null, undefined];
    let onEmpty: (() => void) | undefined;
    const settle = (err: unknown, result: unknown) => {
      if (settled) return;
      settled = true;
      if (onEmpty !== undefined) process.removeListener('beforeExit', onEmpty);
      if (err !== null && err !== undefined) reject(err);
      else resolve(result);
    };
    const waitForEmptyLoop = () => {
      if (onEmpty !== undefined) return;
      onEmpty = () => settle(...held);
      process.once('beforeExit', onEmpty);
    };
    const callback = (err?: unknown, result?: unknown) => {
      held = [err, result];
      if (context.callbackWaitsForEmptyEventLoop) waitForEmptyLoop();
      else settle(err, result);
    };
    const context: LambdaContext = {
      ...info,
      callbackWaitsForEmptyEventLoop: true,
      awsRequestId: next.requestId,
      invokedFunctionArn: next.invokedFunctionArn,
      identity: parseHeaderJson(next.cognitoIdentity, false),
      clientContext: parseHeaderJson(next.clientContext, true),
      getRemainingTimeInMillis: () => Math.max(0, next.deadlineMs - Date.now()),
      done: callback,
      succeed: (result) => callback(null, result),
      fail: (err) => callback(err ?? new Error('handled')),
    };
    let returned: unknown;
    try {
      returned = handler(event, context, callback);
    } catch (err) {
      return settle(err, undefined);
    }
    if (typeof (returned as PromiseLike<unknown> | undefined)?.then === 'function') {
      (returned as PromiseLike<unknown>).then((v) => settle(null, v), (e: unknown) => settle(e ?? new Error('rejected'), undefined));
    } else {
      waitForEmptyLoop();
    }
  });
}
