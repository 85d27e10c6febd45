/**
 * Every error a client can see. `code` is stable: clients and dashboards key on it, so a code is never renamed
 * or reused. docs/errors.md lists the same codes; test/core/errors.test.ts keeps the two in step.
 */
export const ERRORS = {
  bad_request: { status: 400, title: 'Bad request' },
  invalid_path: { status: 400, title: 'Invalid request path' },
  invalid_config: { status: 400, title: 'Invalid configuration' },
  request_smuggling: { status: 400, title: 'Ambiguous request framing' },
  unauthorized: { status: 401, title: 'Unauthorized' },
  invalid_credentials: { status: 401, title: 'Invalid credentials' },
  forbidden: { status: 403, title: 'Forbidden' },
  route_not_found: { status: 404, title: 'No route matches this request' },
  method_not_allowed: { status: 405, title: 'Method not allowed' },
  conflict: { status: 409, title: 'Conflict' },
  request_timeout: { status: 408, title: 'Request timeout' },
  payload_too_large: { status: 413, title: 'Payload too large' },
  uri_too_long: { status: 414, title: 'URI too long' },
  range_not_satisfiable: { status: 416, title: 'Range not satisfiable' },
  expectation_failed: { status: 417, title: 'Expectation failed' },
  rate_limited: { status: 429, title: 'Too many requests' },
  quota_exceeded: { status: 429, title: 'Quota exceeded' },
  function_throttled: { status: 429, title: 'Function throttled' },
  headers_too_large: { status: 431, title: 'Request header fields too large' },
  internal_error: { status: 500, title: 'Internal error' },
  authorizer_error: { status: 500, title: 'Authorizer error' },
  upstream_unavailable: { status: 502, title: 'Upstream unavailable' },
  upstream_error: { status: 502, title: 'Bad upstream response' },
  function_error: { status: 502, title: 'Function error' },
  shutting_down: { status: 503, title: 'Shutting down' },
  no_healthy_upstream: { status: 503, title: 'No healthy upstream' },
  upstream_overloaded: { status: 503, title: 'Upstream overloaded' },
  auth_unavailable: { status: 503, title: 'Authentication unavailable' },
  rate_limit_unavailable: { status: 503, title: 'Rate limiting unavailable' },
  function_unavailable: { status: 503, title: 'Function unavailable' },
  store_unavailable: { status: 503, title: 'State store unavailable' },
  upstream_timeout: { status: 504, title: 'Upstream timeout' },
  not_cached: { status: 504, title: 'Not in cache' },
  function_timeout: { status: 504, title: 'Function timeout' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ErrorCode = keyof typeof ERRORS;

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string;
  code: ErrorCode;
  requestId?: string;
}

export const PROBLEM_TYPE_BASE = 'https://expeditor.dev/errors/';

export function problemBody(code: ErrorCode, detail?: string, requestId?: string, status?: number): string {
  const e = ERRORS[code];
  const p: Problem = { type: PROBLEM_TYPE_BASE + code, title: e.title, status: status ?? e.status, code };
  if (detail !== undefined) p.detail = detail;
  if (requestId !== undefined) p.requestId = requestId;
  return JSON.stringify(p);
}

/** An error the gateway raises on purpose, carrying the code the client will see. */
export class GatewayError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message?: string) {
    super(message ?? ERRORS[code].title);
    this.code = code;
  }
}
