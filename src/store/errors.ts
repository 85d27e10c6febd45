/**
 * Why a state-store call failed, as a stable code callers branch on (the admin API maps them to HTTP statuses):
 * - `conflict`: the write lost a race or its precondition (a stale `expectedVersion`, a name that exists already, a
 *   serialization failure); nothing was written, and re-reading then retrying may succeed.
 * - `not_found`: a row the call needs does not exist (a stage to update, a deployment a stage should point at).
 * - `invalid`: the input can't be stored (not JSON, an empty name); retrying the same call fails the same way.
 * - `unavailable`: the database can't be reached or stayed locked past the timeout; the call may succeed later.
 * - `incompatible`: the database was migrated by a newer Expeditor than this one.
 * - `closed`: the store was closed.
 * - `internal`: anything else; the message and `cause` say what.
 */
export type StoreErrorCode = 'conflict' | 'not_found' | 'invalid' | 'unavailable' | 'incompatible' | 'closed' | 'internal';

export class StoreError extends Error {
  readonly code: StoreErrorCode;

  constructor(code: StoreErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreError';
    this.code = code;
  }
}

/** `err` as a StoreError: itself when it is one already, else `internal` with `err` as the cause. */
export function asStoreError(err: unknown, code: StoreErrorCode = 'internal'): StoreError {
  if (err instanceof StoreError) return err;
  return new StoreError(code, err instanceof Error ? err.message : String(err), { cause: err });
}
