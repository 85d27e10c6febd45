/**
 * The error payloads the gateway itself produces for an invocation, worded as AWS Lambda words them, so clients and
 * dashboards that parse `errorType` see the same values here as on AWS.
 */

/** AWS's response payload limit for synchronous invocations: 6 MB (the exact figure AWS reports). */
export const MAX_RESPONSE_BYTES = 6_291_556;

export interface ErrorPayload {
  errorMessage: string;
  errorType: string;
  stackTrace?: string[];
}

export function errorBuffer(error: ErrorPayload): Buffer {
  return Buffer.from(JSON.stringify(error));
}

/** How a sandbox process ended, as Go's `os.ProcessState` prints it (AWS's wording comes from there). */
export function exitStatus(code: number | null, signal: NodeJS.Signals | null): string {
  if (signal === 'SIGKILL') return 'signal: killed';
  if (signal === 'SIGABRT') return 'signal: aborted (core dumped)';
  if (signal !== null) return `signal: ${signal.toLowerCase().replace(/^sig/, '')}`;
  return `exit status ${code ?? 0}`;
}

/** The runtime process ended during an invocation: `Runtime.ExitError`, or `Runtime.OutOfMemory` past the limit. */
export function exitError(requestId: string, status: string, outOfMemory: boolean): ErrorPayload {
  return {
    errorType: outOfMemory ? 'Runtime.OutOfMemory' : 'Runtime.ExitError',
    errorMessage: `RequestId: ${requestId} Error: Runtime exited with error: ${status}`,
  };
}

export function responseTooLarge(): ErrorPayload {
  return {
    errorType: 'Function.ResponseSizeTooLarge',
    errorMessage: `Response payload size exceeded maximum allowed payload size (${MAX_RESPONSE_BYTES} bytes).`,
  };
}

/**
 * The body a runtime posted to `/error` or `/init/error`, normalised to `{errorMessage, errorType, stackTrace?}`
 * (AWS's Node client sends `trace`; a custom runtime may send anything, or nothing).
 */
export function postedError(body: Buffer, headerType: string | undefined): ErrorPayload {
  let parsed: unknown;
  try {
    parsed = body.length === 0 ? undefined : JSON.parse(body.toString('utf8'));
  } catch { /* not JSON: kept as the message below */ }
  const fallbackType = headerType !== undefined && headerType !== '' ? headerType : 'Unhandled';
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    return { errorMessage: body.toString('utf8'), errorType: fallbackType };
  }
  const o = parsed as Record<string, unknown>;
  const trace = Array.isArray(o.stackTrace) ? o.stackTrace : Array.isArray(o.trace) ? o.trace : undefined;
  return {
    errorMessage: typeof o.errorMessage === 'string' ? o.errorMessage : '',
    errorType: typeof o.errorType === 'string' && o.errorType !== '' ? o.errorType : fallbackType,
    ...(trace === undefined ? {} : { stackTrace: trace.map(String) }),
  };
}
