/**
 * The contract between the function backend (routes, the Invoke API, authorizers) and what runs functions: a local
 * sandbox pool speaking the Lambda Runtime API, or a remote Lambda Invoke API. Payloads are the raw JSON bytes a
 * Lambda receives and returns; mapping HTTP requests to events is the caller's job (src/functions/events/).
 */

export interface InvokeRequest {
  /** The event, as JSON bytes. */
  payload: Buffer;
  /** The invocation's request id (Lambda-Runtime-Aws-Request-Id); the caller makes one (a UUID). */
  requestId: string;
  /** X-Ray style trace header for `Lambda-Runtime-Trace-Id` / `_X_AMZN_TRACE_ID`, when the request is traced. */
  traceId?: string;
  /** Base64 client context (Lambda-Runtime-Client-Context), from the Invoke API. */
  clientContext?: string;
  /** Cognito identity JSON (Lambda-Runtime-Cognito-Identity), from the Invoke API. */
  cognitoIdentity?: string;
  /** Keep the last 4 KB of the invocation's log lines (X-Amz-Log-Type: Tail). */
  tailLogs?: boolean;
  /** Aborts a queued or running invocation (the client went away); a running sandbox is not killed for it. */
  signal?: AbortSignal;
}

export type InvokeResult = {
  /** `ok`: the function returned (`payload` is its result JSON). `error`: it failed (`payload` is the error JSON Lambda would return: `{errorMessage, errorType, stackTrace?}`). */
  status: 'ok' | 'error';
  payload: Buffer;
  /** For `error`: `Unhandled` (crash, timeout, thrown error) or `Handled` (reported through /response error shapes, rare). */
  functionError?: 'Handled' | 'Unhandled';
  /** The last 4 KB of log lines, when tailLogs was asked for. */
  logTail?: string;
  /** ms the handler ran (from dispatch to the sandbox until its response). */
  durationMs: number;
  /** ms the sandbox's init took, when this invocation started a new sandbox (a cold start). */
  initDurationMs?: number;
};

/** Why no result came back; the caller maps it to a problem code. */
export type InvokeFailure =
  /** The function ran past its timeout: the sandbox was killed. */
  | 'timeout'
  /** All sandboxes busy (reserved concurrency) and the queue full, or the wait in the queue timed out. */
  | 'throttled'
  /** The sandbox could not start or died during init (`/init/error`, a crash before `next`). */
  | 'init_failed'
  /** The remote Invoke API could not be reached or answered with a service error. */
  | 'unavailable'
  /** The caller's signal aborted the invocation. */
  | 'aborted';

export class InvokeError extends Error {
  readonly failure: InvokeFailure;
  constructor(failure: InvokeFailure, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.failure = failure;
  }
}

/** Live numbers of one function, for GET /functions and the metrics (counters since start). */
export interface FunctionStats {
  name: string;
  kind: 'local' | 'remote';
  invocations: number;
  errors: number;
  throttles: number;
  timeouts: number;
  coldStarts: number;
  /** Sandboxes alive, and how many run an invocation now (local only). */
  sandboxes: { warm: number; busy: number; starting: number };
  /** Invocations waiting for a sandbox. */
  queued: number;
  /** Sum of invocation durations and init durations, ms (for averages). */
  durationMsTotal: number;
  initDurationMsTotal: number;
}

/**
 * Something that runs one function. `invoke` never throws for a function's own failure (that is an `error`
 * result); it rejects with InvokeError when no result could be had. Implementations must be safe to call
 * concurrently; they queue or throttle as their config says.
 */
export interface FunctionInvoker {
  readonly name: string;
  invoke(request: InvokeRequest): Promise<InvokeResult>;
  stats(): FunctionStats;
  /** Stops every sandbox (or connection); pending invocations reject with InvokeError('unavailable'). */
  close(): Promise<void>;
}
