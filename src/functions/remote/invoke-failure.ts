import { InvokeError, type InvokeFailure } from '../types.ts';

/** Lambda's error names that mean "try later": the account, function or an ENI pool is at its limit. */
const THROTTLES = new Set(['TooManyRequestsException', 'EC2ThrottledException', 'ThrottlingException']);
/** The function exists but can't start: its init failed or its environment is broken (Lambda answers 502). */
const INIT_FAILURES = new Set([
  'ResourceNotReadyException', 'EC2UnexpectedException', 'ENILimitReachedException', 'InvalidRuntimeException',
  'InvalidZipFileException', 'SnapStartException', 'SnapStartNotReadyException', 'SnapStartTimeoutException',
  'EFSMountFailureException', 'EFSMountConnectivityException', 'EFSMountTimeoutException', 'EFSIOException',
  'KMSAccessDeniedException', 'KMSDisabledException', 'KMSInvalidStateException', 'KMSNotFoundException',
  'SubnetIPAddressLimitReachedException', 'InvalidSubnetIDException', 'InvalidSecurityGroupIDException',
]);

/**
 * What an error thrown by `@aws-sdk/client-lambda` means to the gateway. Everything that is not a throttle or a
 * broken function (network errors, 5xx ServiceException, 4xx such as a missing function or refused credentials) is
 * `unavailable`: no result could be had, and retrying the same request would not be the caller's business.
 */
export function invokeFailureOf(err: unknown): InvokeFailure {
  const name = (err as { name?: unknown }).name;
  if (typeof name === 'string') {
    if (THROTTLES.has(name)) return 'throttled';
    if (INIT_FAILURES.has(name)) return 'init_failed';
  }
  if ((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 429) return 'throttled';
  return 'unavailable';
}

/** The InvokeError for an SDK error, its message naming the function and what Lambda (or the network) said. */
export function invokeErrorOf(functionName: string, err: unknown): InvokeError {
  const e = err as { name?: string; message?: string; code?: string };
  const what = e.code ?? e.name ?? 'Error';
  return new InvokeError(invokeFailureOf(err), `remote function ${functionName}: ${what}: ${e.message ?? String(err)}`, { cause: err });
}
