/**
 * Rate limits and quotas: the shapes every storage strategy shares. A policy (the rate-limit and quota plugins,
 * usage plans) turns a request into LimitChecks (one per limit, each with its full storage key) and asks a
 * LimitStore to hit them all at once. Stores: `local` (in process, exact) and `redis` (shared by every gateway
 * process and node, one round trip, atomic in a server-side script).
 */

/**
 * - `token-bucket`: GCRA, AWS's steady rate + burst. `limit` is the burst (bucket capacity), `intervalMs` the time
 *   to earn one request back (1000 / rate-per-second).
 * - `sliding-window`: the sliding-window counter (the previous window's count weighted by how much of it still
 *   overlaps, plus the current one). `limit` requests per `intervalMs`.
 * - `calendar`: a quota: `limit` requests per calendar period (day, week, month in a time zone); the caller gives
 *   the period's bounds with each check.
 */
export type LimitAlgorithm = 'token-bucket' | 'sliding-window' | 'calendar';

export interface LimitSpec {
  /** Unique within its policy; part of the storage key and the name in the RateLimit headers. */
  readonly id: string;
  readonly algorithm: LimitAlgorithm;
  readonly limit: number;
  /** token-bucket: ms per request earned back; sliding-window: the window; calendar: unused (0). */
  readonly intervalMs: number;
}

export interface LimitCheck {
  /** The full storage key of this limit for this client (the store adds its own prefix). */
  readonly key: string;
  readonly spec: LimitSpec;
  /** calendar: the current period, [start, end) in ms since the epoch. */
  readonly period?: { readonly start: number; readonly end: number };
}

export interface LimitState {
  readonly allowed: boolean;
  readonly limit: number;
  /** Requests left after this one (when allowed), or left now (when refused). */
  readonly remaining: number;
  /** ms until the limit is wholly available again (bucket full, window passed, period over). */
  readonly resetMs: number;
  /** ms until a request would be allowed; 0 when allowed. */
  readonly retryAfterMs: number;
}

/**
 * Where counters live. `hit` consumes one request from every check only if every one allows it, atomically for
 * the call: a request refused by its hourly limit does not use up its per-second budget. Both methods may answer
 * synchronously (local) or with a promise (redis); a redis store rejects with StoreUnavailable when it can't
 * answer in time, and the policy's failure mode decides what that means.
 */
export interface LimitStore {
  readonly kind: 'local' | 'redis';
  hit(checks: readonly LimitCheck[], now: number): readonly LimitState[] | Promise<readonly LimitState[]>;
  /** The state without consuming anything (usage reports). */
  peek(checks: readonly LimitCheck[], now: number): readonly LimitState[] | Promise<readonly LimitState[]>;
  close(): Promise<void>;
}

/** A store could not answer (timeout, connection down): the policy's `onStoreFailure` decides. */
export class StoreUnavailable extends Error {}
