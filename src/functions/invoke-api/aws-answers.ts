import type { ServerResponse } from 'node:http';

/**
 * Errors as the Lambda Invoke API sends them (REST-JSON): the exception name in `x-amzn-ErrorType` (what the AWS SDK
 * turns into an exception class), a `{Type, message}` body, and a request id. `Type` is `User` for the caller's
 * mistakes and `Service` for Lambda's own; signature errors carry only `message`, as AWS's front door sends them.
 */
export interface AwsError {
  readonly status: number;
  readonly name: string;
  readonly message: string;
  readonly type?: 'User' | 'Service';
  /** Extra body fields, e.g. `Reason` of a throttle. */
  readonly extra?: Record<string, string>;
}

export function sendAwsError(res: ServerResponse, requestId: string, e: AwsError): void {
  const body = JSON.stringify({ ...(e.type !== undefined && { Type: e.type }), message: e.message, ...e.extra });
  res.writeHead(e.status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    'x-amzn-errortype': e.name,
    'x-amzn-requestid': requestId,
  });
  res.end(body);
}

export const notFound = (what: string): AwsError => ({ status: 404, name: 'ResourceNotFoundException', type: 'User', message: `Function not found: ${what}` });

export const invalidParameter = (message: string): AwsError => ({ status: 400, name: 'InvalidParameterValueException', type: 'User', message });

export const tooLarge = (limit: number): AwsError => ({
  status: 413, name: 'RequestTooLargeException', type: 'User',
  message: `Request must be smaller than ${limit} bytes for the InvokeFunction operation`,
});

export const throttled = (reason: string): AwsError => ({
  status: 429, name: 'TooManyRequestsException', type: 'User', message: 'Rate Exceeded.', extra: { Reason: reason },
});

export const serviceError = (message: string): AwsError => ({ status: 500, name: 'ServiceException', type: 'Service', message });

export const unknownOperation = (): AwsError => ({ status: 404, name: 'UnknownOperationException', message: 'Unknown operation' });

export const missingToken = (): AwsError => ({ status: 403, name: 'MissingAuthenticationTokenException', message: 'Missing Authentication Token' });

export const unrecognizedClient = (): AwsError => ({ status: 403, name: 'UnrecognizedClientException', message: 'The security token included in the request is invalid.' });

export const SIGNATURE_MISMATCH = 'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.';

export const invalidSignature = (message: string): AwsError => ({ status: 403, name: 'InvalidSignatureException', message });

export const accessDenied = (): AwsError => ({ status: 403, name: 'AccessDeniedException', message: 'Unsigned requests are not accepted from this address' });
