import { randomUUID } from 'node:crypto';
import type { ConfigIssue } from '../config/errors.ts';
import type { StoreError } from '../store/errors.ts';
import { ERRORS, PROBLEM_TYPE_BASE, type ErrorCode } from '../core/errors.ts';
import type { AdminCaller } from './auth.ts';

/**
 * An admin endpoint: the request body, the `:param` values of its path, the query and who calls, in; the status and
 * the payload (JSON, or a TextBody) out. A thrown ConfigError is a 400 `invalid_config`, a StoreError is mapped by
 * its code (see server.ts), anything else a 500.
 */
export type Handler = (
  body: Buffer, params: Record<string, string>, query: URLSearchParams, caller: AdminCaller,
) => Promise<[number, unknown]> | [number, unknown];

export function problem(code: ErrorCode, detail: string, requestId: string = randomUUID()) {
  const e = ERRORS[code];
  return { type: PROBLEM_TYPE_BASE + code, title: e.title, status: e.status, detail, code, requestId };
}

/** `[404, problem]` for an admin resource that does not exist (handlers return it; the code is route_not_found). */
export function notFound(detail: string): [number, unknown] {
  return [404, problem('route_not_found', detail)];
}

/** `[400, problem]` for a request the endpoint can't read; `errors` says what, per parameter or field. */
export function badRequest(detail: string, errors?: ReadonlyArray<{ param: string; message: string }>): [number, unknown] {
  return [400, errors === undefined ? problem('bad_request', detail) : { ...problem('bad_request', detail), errors }];
}

/** `[400, problem]` for a config that can't be used, with every issue; `consequence` says what did not happen. */
export function invalidConfig(issues: readonly ConfigIssue[], consequence: string): [number, unknown] {
  const n = issues.length;
  return [400, { ...problem('invalid_config', `invalid config (${n} error${n === 1 ? '' : 's'}); ${consequence}`), errors: issues }];
}

/** The answer to a failed state-store call, by its code; undefined for `internal` (a 500, logged). */
export function storeFailure(err: StoreError): [number, unknown] | undefined {
  switch (err.code) {
    case 'conflict': return [409, problem('conflict', err.message)];
    case 'not_found': return notFound(err.message);
    case 'invalid': return badRequest(err.message);
    case 'unavailable': case 'closed': case 'incompatible': return [503, problem('store_unavailable', err.message)];
    default: return undefined;
  }
}
