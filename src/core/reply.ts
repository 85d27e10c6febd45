import type { ErrorCode } from './errors.ts';
import { ERRORS } from './errors.ts';

/**
 * A response produced by the gateway itself rather than by a backend: a short-circuit from a plugin (401, 429, a
 * cache hit, a mock) or an error. When `code` is set the body is rendered as problem+json at send time, so that it
 * carries the request id.
 *
 * Plugins may return the same (even frozen) Reply for every request: the core never mutates one. The core computes
 * Content-Length; a reply must not set it.
 */
export interface Reply {
  status: number;
  headers?: Record<string, string | readonly string[]>;
  body?: string | Buffer;
  code?: ErrorCode;
  detail?: string;
}

/** A problem+json reply for a stable error code. */
export function problem(code: ErrorCode, detail?: string, headers?: Record<string, string | readonly string[]>): Reply {
  return { status: ERRORS[code].status, code, detail, headers };
}
