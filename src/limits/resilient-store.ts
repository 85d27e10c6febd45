import type { Logger } from '../core/logger.ts';
import { localStore, type StoreFailurePolicy } from './stores.ts';
import { StoreUnavailable, type LimitCheck, type LimitSpec, type LimitState, type LimitStore } from './types.ts';

/** How a state was decided while the shared store was unavailable (absent: by the shared store). */
export type Degradation = 'fail-open' | 'fallback-local';

/** A state decided without the shared store: `fail-open` admitted it unchecked, `fallback-local` checked it against
 * this process's share of the limit. Policies mark their log line with it. */
export interface DegradedState extends LimitState {
  readonly degraded: Degradation;
}

/** How the state was decided when the shared store was unavailable; undefined when the shared store decided it. */
export function degradation(state: LimitState): Degradation | undefined {
  return (state as Partial<DegradedState>).degraded;
}

export interface ResilientStoreOptions {
  policy: StoreFailurePolicy;
  /** fallback-local: the share of each limit this process enforces on its own (0 < share ≤ 1), e.g. 1 / nodes. */
  fallbackShare: number;
  logger: Logger;
  /** Names the policy in the log lines (e.g. the route and plugin). */
  name: string;
  /** fallback-local: where the local counters live (default: the process-wide memory store). */
  fallback?: () => LimitStore;
}

/** Prefix of the fallback counters in the local store, so they never mix with a local policy's own counters. */
export const FALLBACK_PREFIX = 'fallback:';

/**
 * A shared store with a failure policy. While the primary answers, its states pass through untouched. When it
 * rejects with StoreUnavailable:
 * - `fail-open`: every check is allowed, `remaining` = `limit`, and the state carries `degraded: 'fail-open'`.
 * - `fail-closed`: the call rejects with the StoreUnavailable (the policy answers 503, or 429 if it prefers).
 * - `fallback-local`: the checks run on the local store with every limit scaled to `fallbackShare` (token bucket:
 *   burst and rate both), under keys prefixed `fallback:`; the states carry `degraded: 'fallback-local'`.
 * Other errors (bugs, KeyLayoutError) propagate whatever the policy.
 *
 * The first failure logs `rate-limit store unavailable, now <policy>` (warn) and the first success after it
 * `rate-limit store available again` (info): once per outage, not per request. While down, one call at a time
 * probes the primary (a connection refused fails at once, so in practice most calls try; a Redis that hangs costs
 * one call at a time its timeout, the others go straight to the policy); the first probe that succeeds ends the
 * outage.
 *
 * `close` does not close the primary: it is shared (closeSharedStores closes it).
 */
export function resilientStore(primary: LimitStore, options: ResilientStoreOptions): LimitStore {
  return new ResilientStore(primary, options);
}

class ResilientStore implements LimitStore {
  readonly kind: LimitStore['kind'];
  readonly #primary: LimitStore;
  readonly #policy: StoreFailurePolicy;
  readonly #share: number;
  readonly #logger: Logger;
  readonly #name: string;
  readonly #fallback: () => LimitStore;
  readonly #scaled = new WeakMap<LimitSpec, LimitSpec>();
  #down = false;
  #probing = false;
  #lastError: StoreUnavailable | undefined;

  constructor(primary: LimitStore, options: ResilientStoreOptions) {
    if (!(options.fallbackShare > 0 && options.fallbackShare <= 1)) {
      throw new RangeError(`fallbackShare must be in (0, 1], got ${options.fallbackShare}`);
    }
    this.kind = primary.kind;
    this.#primary = primary;
    this.#policy = options.policy;
    this.#share = options.fallbackShare;
    this.#logger = options.logger;
    this.#name = options.name;
    this.#fallback = options.fallback ?? localStore;
  }

  /** Whether the primary is considered unavailable (since its last failure, until a call succeeds). */
  get down(): boolean {
    return this.#down;
  }

  hit(checks: readonly LimitCheck[], now: number): Promise<readonly LimitState[]> {
    return this.#call(false, checks, now);
  }

  peek(checks: readonly LimitCheck[], now: number): Promise<readonly LimitState[]> {
    return this.#call(true, checks, now);
  }

  async #call(peek: boolean, checks: readonly LimitCheck[], now: number): Promise<readonly LimitState[]> {
    if (this.#down && this.#probing) return this.#degraded(peek, checks, now, this.#lastError!);
    const probe = this.#down;
    if (probe) this.#probing = true;
    try {
      const states = await (peek ? this.#primary.peek(checks, now) : this.#primary.hit(checks, now));
      if (this.#down) {
        this.#down = false;
        this.#logger.info('rate-limit store available again', { store: this.#name });
      }
      return states;
    } catch (err) {
      if (!(err instanceof StoreUnavailable)) throw err;
      this.#lastError = err;
      if (!this.#down) {
        this.#down = true;
        this.#logger.warn(`rate-limit store unavailable, now ${this.#policy}`, { store: this.#name, error: err.message });
      }
      return this.#degraded(peek, checks, now, err);
    } finally {
      if (probe) this.#probing = false;
    }
  }

  async #degraded(peek: boolean, checks: readonly LimitCheck[], now: number, err: StoreUnavailable): Promise<readonly LimitState[]> {
    switch (this.#policy) {
      case 'fail-closed':
        throw err;
      case 'fail-open':
        return checks.map((c): DegradedState => ({
          allowed: true, limit: c.spec.limit, remaining: c.spec.limit, resetMs: 0, retryAfterMs: 0, degraded: 'fail-open',
        }));
      case 'fallback-local': {
        const local = checks.map((c): LimitCheck => ({
          key: FALLBACK_PREFIX + c.key,
          spec: this.#scale(c.spec),
          ...(c.period === undefined ? {} : { period: c.period }),
        }));
        const store = this.#fallback();
        const states = await (peek ? store.peek(local, now) : store.hit(local, now));
        return states.map((s): DegradedState => ({ ...s, degraded: 'fallback-local' }));
      }
    }
  }

  /** The spec this process enforces alone: `limit` scaled down (at least 1); a token bucket refills as much slower. */
  #scale(spec: LimitSpec): LimitSpec {
    let scaled = this.#scaled.get(spec);
    if (scaled === undefined) {
      // The epsilon keeps 100 × 0.29 (28.999999999999996) at 29.
      const limit = Math.max(1, Math.floor(spec.limit * this.#share + 1e-9));
      const intervalMs = spec.algorithm === 'token-bucket' ? spec.intervalMs / this.#share : spec.intervalMs;
      scaled = { ...spec, limit, intervalMs };
      this.#scaled.set(spec, scaled);
    }
    return scaled;
  }

  async close(): Promise<void> {}
}
