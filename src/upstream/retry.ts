import type { Static } from '@sinclair/typebox';
import type { RetryConfig } from '../config/schema/upstream.ts';
import { parseDuration, parseSize } from '../config/units.ts';

export type RetryConfigT = Static<typeof RetryConfig>;

/** Failures a retry can be configured for (`retries.on`). */
export type FailureKind = RetryConfigT['on'][number];

/**
 * Retry budget of one upstream (Envoy's and Finagle's idea): retries in flight may be at most `percent`% of the
 * requests in flight, but `minInFlight` are always allowed so a quiet upstream can still retry. An outage then adds
 * at most `percent`% load instead of multiplying it by the number of attempts.
 *
 * Counting: `requestStarted()`/`requestFinished()` once per client request sent to the upstream (not per attempt);
 * `tryStartRetry()` before a retry (before its back-off wait, which keeps it counted) and `retryFinished()` when that
 * attempt ends, whatever the outcome. Counters never go below zero: an unmatched finish throws.
 */
export class RetryBudget {
  readonly #percent: number;
  readonly #minInFlight: number;
  #requests = 0;
  #retries = 0;

  constructor(percent: number, minInFlight: number) {
    if (!(percent >= 0 && percent <= 100)) throw new RangeError(`percent must be 0..100, got ${percent}`);
    if (!(minInFlight >= 0)) throw new RangeError(`minInFlight must be ≥ 0, got ${minInFlight}`);
    this.#percent = percent;
    this.#minInFlight = minInFlight;
  }

  get requestsInFlight(): number {
    return this.#requests;
  }

  get retriesInFlight(): number {
    return this.#retries;
  }

  requestStarted(): void {
    this.#requests++;
  }

  requestFinished(): void {
    if (this.#requests === 0) throw new Error('RetryBudget: requestFinished() without requestStarted()');
    this.#requests--;
  }

  /** Takes a retry from the budget: true when retries in flight < max(minInFlight, percent% of requests in flight). */
  tryStartRetry(): boolean {
    // `retries * 100 < percent * requests` is `retries < percent% of requests` without rounding.
    if (this.#retries < this.#minInFlight || this.#retries * 100 < this.#percent * this.#requests) {
      this.#retries++;
      return true;
    }
    return false;
  }

  retryFinished(): void {
    if (this.#retries === 0) throw new Error('RetryBudget: retryFinished() without tryStartRetry()');
    this.#retries--;
  }
}

/**
 * Wait before retry number `retryNumber` (1 = first retry): exponential back-off with full jitter (AWS
 * Architecture Blog, "Exponential Backoff And Jitter"): a uniform integer in [0, min(maxMs, baseMs × 2^(n−1))].
 * Full jitter spreads the retries of many clients that failed together, so they don't hit the upstream together.
 */
export function backoffDelay(retryNumber: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  // The exponent is capped so a large retry number never gives Infinity (and 0 × Infinity = NaN).
  const exp = retryNumber <= 1 ? 0 : retryNumber > 31 ? 30 : retryNumber - 1;
  const window = Math.min(maxMs, baseMs * 2 ** exp);
  if (!(window > 0)) return 0;
  return Math.min(window, Math.floor(random() * (window + 1)));
}

/**
 * Idempotent methods of RFC 9110 §9.2.2: repeating them has the effect of sending once, so they may be retried.
 * Methods are case-sensitive (`get` is not GET).
 */
export function isIdempotent(method: string): boolean {
  switch (method) {
    case 'GET':
    case 'HEAD':
    case 'OPTIONS':
    case 'TRACE':
    case 'PUT':
    case 'DELETE':
      return true;
    default:
      return false;
  }
}

/**
 * The `retries:` config of an upstream, compiled once: durations and sizes parsed, lists made Sets. Whether a
 * request is retried is the conjunction of `mayRetryMethod`, `retryableStatus`/`retryableError`, attempts left,
 * a replayable body (≤ `maxBufferedBody`, or none) and the budget.
 */
export class RetryPolicy {
  /** Tries in all, the first included. */
  readonly attempts: number;
  readonly nonIdempotent: boolean;
  /** Milliseconds. */
  readonly backoffBase: number;
  /** Milliseconds. */
  readonly backoffMax: number;
  readonly budgetPercent: number;
  readonly minRetriesInFlight: number;
  /** Bytes. */
  readonly maxBufferedBody: number;
  readonly #statuses: ReadonlySet<number>;
  readonly #on: ReadonlySet<FailureKind>;

  constructor(config: RetryConfigT) {
    this.attempts = config.attempts;
    this.nonIdempotent = config.nonIdempotent;
    this.backoffBase = parseDuration(config.backoff.base);
    this.backoffMax = parseDuration(config.backoff.max);
    this.budgetPercent = config.budgetPercent;
    this.minRetriesInFlight = config.minRetriesInFlight;
    this.maxBufferedBody = parseSize(config.maxBufferedBody);
    this.#statuses = new Set(config.statuses);
    this.#on = new Set(config.on);
  }

  retryableStatus(status: number): boolean {
    return this.#statuses.has(status);
  }

  retryableError(kind: FailureKind): boolean {
    return this.#on.has(kind);
  }

  mayRetryMethod(method: string): boolean {
    return this.nonIdempotent || isIdempotent(method);
  }

  /** Back-off before retry number `retryNumber` (1 = first retry). */
  delay(retryNumber: number, random?: () => number): number {
    return backoffDelay(retryNumber, this.backoffBase, this.backoffMax, random);
  }

  /** A budget sized by this policy; one per upstream, shared by its routes. */
  createBudget(): RetryBudget {
    return new RetryBudget(this.budgetPercent, this.minRetriesInFlight);
  }

  /** `failureKind` of an error's `code` (undici errors, Node socket errors, the gateway's `GatewayError`). */
  static classify(err: unknown): FailureKind | undefined {
    const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
    return typeof code === 'string' ? RetryPolicy.failureKind(code) : undefined;
  }

  /**
   * The failure kind of an error code from undici, Node's sockets or the gateway (`err.code`), or undefined when
   * it is none of them (never retried). Ask only for failures before the response headers arrived: once a response
   * has started, nothing is retried, and the gateway's `upstream_timeout` then means an idle or total timeout.
   */
  static failureKind(code: string | undefined): FailureKind | undefined {
    switch (code) {
      case 'ECONNREFUSED':
      case 'EHOSTUNREACH':
      case 'ENETUNREACH':
      case 'ENOTFOUND':
      case 'EAI_AGAIN':
      case 'UND_ERR_CONNECT_TIMEOUT':
        return 'connect-failure';
      case 'ECONNRESET':
      case 'EPIPE':
      case 'UND_ERR_SOCKET':
      case 'UND_ERR_CLOSED':
        return 'reset';
      case 'UND_ERR_HEADERS_TIMEOUT':
      case 'upstream_timeout':
        return 'timeout';
      default:
        return undefined;
    }
  }
}
