/**
 * The answers API Gateway itself sends when a Lambda integration fails, for routes with `errors: aws`. REST APIs
 * (payload 1.0) and HTTP APIs (2.0) differ in status and wording. The bodies are the default gateway response
 * template, `{"message":$context.error.messageString}`, so there is no space after the colon.
 */
import type { HttpAnswer } from './types.ts';

/**
 * `function_error`: the function threw or crashed. `malformed`: its result is not a valid response. `timeout`: it
 * ran past its own timeout, which Lambda reports as a function error, so API Gateway answers as for one.
 * `throttled`, `unavailable`: the invocation was refused or could not be made (Lambda's 429 and 5xx), answered as
 * API Gateway answers any rejected invocation. `integration_timeout`: the gateway stopped waiting (API Gateway's
 * 29 s / 30 s integration timeout).
 */
export type AwsFailure = 'function_error' | 'malformed' | 'timeout' | 'throttled' | 'unavailable' | 'integration_timeout';

type Table = Record<AwsFailure, readonly [number, string]>;

const REST_ERROR = 'Internal server error';
const HTTP_ERROR = 'Internal Server Error';

/** REST APIs: 502 when the function ran and failed, 500 when Lambda refused the invocation, 504 on their timeout. */
const V1: Table = {
  function_error: [502, REST_ERROR],
  malformed: [502, REST_ERROR],
  timeout: [502, REST_ERROR],
  throttled: [500, REST_ERROR],
  unavailable: [500, REST_ERROR],
  integration_timeout: [504, 'Endpoint request timed out'],
};

/** HTTP APIs: 500 for every Lambda failure, 503 on their integration timeout. */
const V2: Table = {
  function_error: [500, HTTP_ERROR],
  malformed: [500, HTTP_ERROR],
  timeout: [500, HTTP_ERROR],
  throttled: [500, HTTP_ERROR],
  unavailable: [500, HTTP_ERROR],
  integration_timeout: [503, 'Service Unavailable'],
};

export function awsErrorAnswer(format: '1.0' | '2.0', failure: AwsFailure): HttpAnswer {
  const [status, message] = (format === '1.0' ? V1 : V2)[failure];
  const body = Buffer.from(JSON.stringify({ message }), 'utf8');
  return { status, headers: [['content-type', 'application/json'], ['content-length', String(body.length)]], body };
}
