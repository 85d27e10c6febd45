import type { Static } from '@sinclair/typebox';
import type { LimitsConfig } from '../config/schema/upstream.ts';
import { MAX_DURATION_MS, parseDuration } from '../config/units.ts';

export type LimitsConfigT = Static<typeof LimitsConfig>;

/**
 * A request waiting for a slot: the per-request handler itself, so queueing needs no closure. The limiter adds no
 * property to it (a Map finds its queue entry), so its hidden class stays stable.
 */
export interface Waiter {
  /**
   * The slot is now held: the waiter must call `release()` once when done. Called synchronously from inside some
   * `release()` (a queued waiter is only ever granted by a release). Must not throw.
   */
  grant(): void;
  /** The waiter left the queue without a slot (answer 503 `upstream_overloaded`). Called from a timer. Must not throw. */
  reject(reason: 'timeout'): void;
}

/** `now`: the slot is held already. `queued`: `grant()` or `reject()` follows, once. `full`: refused, nothing follows. */
export type AcquireResult = 'now' | 'queued' | 'full';

/** How a request that held a slot ended: feeds the adaptive limit. `ok: false` for connection errors, timeouts, 5xx. */
export interface Outcome {
  latencyMs: number;
  ok: boolean;
}

export interface AdaptiveLimitConfig {
  min: number;
  max: number;
  latencyTolerance: number;
}

export interface ConcurrencyLimiterConfig {
  /** 0: no limit (unless `adaptive`, whose starting value it is; 0 starts adaptive at `min`). */
  maxConcurrent: number;
  maxQueued: number;
  /** Milliseconds. 0: never wait (no queue). */
  queueTimeout: number;
  adaptive?: AdaptiveLimitConfig | undefined;
}

/** Multiplicative decrease of the adaptive limit: the schema documents "halves". */
const DECREASE_FACTOR = 0.5;
/** Below this, latency differences are noise: a 0.2 ms baseline must not make a 0.5 ms response "slow". */
const LATENCY_FLOOR_MS = 1;
/** Waiters whose deadline is this close when the timer fires expire with it instead of waking the loop again. */
const TIMER_SLACK_MS = 1;

interface QueueNode {
  waiter: Waiter | null;
  deadline: number;
  prev: QueueNode | null;
  next: QueueNode | null;
}

/**
 * Concurrency limit of one upstream, with a bounded FIFO queue and a queue timeout.
 *
 * Contract:
 * - FIFO is strict: while anyone waits, `acquire()` queues even if a slot looks free, and `release()` grants the
 *   head of the queue synchronously, before returning, so no newcomer can overtake it.
 * - A `grant()` that calls `release()` (a request that fails at once) does not recurse: the inner release only
 *   frees the slot and the outer loop grants the next waiter. Any queue length runs in constant stack.
 * - Queue timeouts use one timer, armed for the head's deadline. A head that leaves early (granted, cancelled)
 *   leaves the timer where it was: when it fires it expires every waiter due (in order) and re-arms for the new
 *   head. The timer is unref'd while the queue is empty, so an idle limiter holds nothing.
 * - A waiter granted after its deadline (the loop was late) is granted, not rejected: the slot is there.
 *
 * Adaptive mode is AIMD on latency (after Netflix's concurrency-limits): see `AimdLimit`.
 */
export class ConcurrencyLimiter {
  #limit: number;
  #inflight = 0;
  #queued = 0;
  readonly #maxQueued: number;
  readonly #queueTimeout: number;
  readonly #retryAfter: number;
  readonly #aimd: AimdLimit | null;

  #head: QueueNode | null = null;
  #tail: QueueNode | null = null;
  /** Recycled queue nodes: queueing allocates nothing once the queue has reached its usual depth. */
  #free: QueueNode | null = null;
  readonly #nodes = new Map<Waiter, QueueNode>();
  #granting = false;
  #timer: NodeJS.Timeout | undefined = undefined;
  readonly #onTimer = (): void => this.#expire();

  constructor(config: ConcurrencyLimiterConfig) {
    const { maxConcurrent, maxQueued, queueTimeout, adaptive } = config;
    if (!Number.isInteger(maxConcurrent) || maxConcurrent < 0) throw new RangeError(`maxConcurrent must be an integer ≥ 0, got ${maxConcurrent}`);
    if (!Number.isInteger(maxQueued) || maxQueued < 0) throw new RangeError(`maxQueued must be an integer ≥ 0, got ${maxQueued}`);
    if (!(queueTimeout >= 0 && queueTimeout <= MAX_DURATION_MS)) throw new RangeError(`queueTimeout must be 0..${MAX_DURATION_MS} ms, got ${queueTimeout}`);
    this.#aimd = adaptive === undefined ? null : new AimdLimit(adaptive, maxConcurrent);
    this.#limit = this.#aimd !== null ? this.#aimd.limit : maxConcurrent === 0 ? Infinity : maxConcurrent;
    this.#maxQueued = queueTimeout === 0 ? 0 : maxQueued;
    this.#queueTimeout = queueTimeout;
    this.#retryAfter = Math.max(1, Math.ceil(queueTimeout / 1000));
  }

  /** From the validated `limits:` config of an upstream; none means unlimited. */
  static fromConfig(config: LimitsConfigT | undefined): ConcurrencyLimiter {
    if (config === undefined) return new ConcurrencyLimiter({ maxConcurrent: 0, maxQueued: 0, queueTimeout: 0 });
    return new ConcurrencyLimiter({
      maxConcurrent: config.maxConcurrent,
      maxQueued: config.maxQueued,
      queueTimeout: parseDuration(config.queueTimeout),
      adaptive: config.adaptive,
    });
  }

  /** Current limit; 0 when unlimited (as in config). */
  get limit(): number {
    return this.#limit === Infinity ? 0 : this.#limit;
  }

  get inflight(): number {
    return this.#inflight;
  }

  get queued(): number {
    return this.#queued;
  }

  /** Seconds for the Retry-After of a 503 `upstream_overloaded`: the queue timeout, at least 1. */
  retryAfterSeconds(): number {
    return this.#retryAfter;
  }

  /** Takes a slot, queues `waiter`, or refuses. A waiter may be queued once at a time (a second time throws). */
  acquire(waiter: Waiter): AcquireResult {
    if (this.#inflight < this.#limit && this.#head === null) {
      this.#inflight++;
      return 'now';
    }
    if (this.#queued >= this.#maxQueued) return 'full';
    if (this.#nodes.has(waiter)) throw new Error('ConcurrencyLimiter: waiter is already queued');
    const now = performance.now();
    let node = this.#free;
    if (node !== null) {
      this.#free = node.next;
      node.waiter = waiter;
      node.deadline = now + this.#queueTimeout;
      node.next = null;
    } else {
      node = { waiter, deadline: now + this.#queueTimeout, prev: null, next: null };
    }
    node.prev = this.#tail;
    if (this.#tail === null) this.#head = node;
    else this.#tail.next = node;
    this.#tail = node;
    this.#nodes.set(waiter, node);
    this.#queued++;
    if (this.#timer === undefined) this.#arm(now);
    else this.#timer.ref();
    return 'queued';
  }

  /**
   * Removes a queued waiter (its client went away); it gets neither `grant()` nor `reject()`. False when it is not
   * queued: it was granted already (it holds a slot and must release it) or rejected.
   */
  cancel(waiter: Waiter): boolean {
    if (this.#head === null) return false;
    const node = this.#nodes.get(waiter);
    if (node === undefined) return false;
    this.#unlink(node);
    return true;
  }

  /**
   * Frees a slot and grants waiters while slots are free, synchronously. `outcome` feeds the adaptive limit;
   * without it (request cancelled, outcome unknown) the limit is left alone. Throws when no slot is held.
   */
  release(outcome?: Outcome): void {
    if (this.#inflight === 0) throw new Error('ConcurrencyLimiter: release() without a slot held');
    this.#inflight--;
    if (outcome !== undefined && this.#aimd !== null) this.#limit = this.#aimd.update(outcome.latencyMs, outcome.ok, this.#inflight);
    if (this.#head !== null && !this.#granting) this.#drain();
  }

  #drain(): void {
    this.#granting = true;
    try {
      while (this.#head !== null && this.#inflight < this.#limit) {
        const waiter = this.#head.waiter!;
        this.#unlink(this.#head);
        this.#inflight++;
        waiter.grant();
      }
    } finally {
      this.#granting = false;
    }
  }

  #unlink(node: QueueNode): void {
    const { prev, next } = node;
    if (prev === null) this.#head = next;
    else prev.next = next;
    if (next === null) this.#tail = prev;
    else next.prev = prev;
    this.#nodes.delete(node.waiter!);
    this.#queued--;
    node.waiter = null;
    node.prev = null;
    node.next = this.#free;
    this.#free = node;
    if (this.#head === null) this.#timer?.unref();
  }

  #arm(now: number): void {
    this.#timer = setTimeout(this.#onTimer, Math.max(1, Math.ceil(this.#head!.deadline - now)));
  }

  #expire(): void {
    this.#timer = undefined;
    const now = performance.now();
    try {
      // Deadlines are in queue order (one timeout for all), so the due waiters are a prefix of the queue.
      while (this.#head !== null && this.#head.deadline <= now + TIMER_SLACK_MS) {
        const waiter = this.#head.waiter!;
        this.#unlink(this.#head);
        waiter.reject('timeout');
      }
    } finally {
      if (this.#head !== null && this.#timer === undefined) this.#arm(now);
    }
  }
}

/**
 * AIMD limit on latency. The baseline is the best latency of successful requests over the current and the previous
 * window, so it follows a lasting change of the upstream within two windows. A window is `limit` completions.
 * - Additive increase: a window with no congestion signal raises the limit by 1 (up to `max`), but only if the
 *   limit was used (at least half of it in flight at some completion): an idle upstream earns no headroom it has
 *   never proven, which would be gone when a burst comes.
 * - Multiplicative decrease: a failure, or a latency above `latencyTolerance × baseline`, halves the limit (down to
 *   `min`) and starts a new window. The completions of the requests that were in flight then are not judged again
 *   (they were sent under the old limit), so one incident counts once, as TCP decreases once per round trip.
 */
class AimdLimit {
  readonly #min: number;
  readonly #max: number;
  readonly #tolerance: number;
  limit: number;
  #count = 0;
  #used = false;
  #previousBest = Infinity;
  #best = Infinity;
  #skip = 0;

  constructor(config: AdaptiveLimitConfig, initial: number) {
    const { min, max, latencyTolerance } = config;
    if (!Number.isInteger(min) || min < 1) throw new RangeError(`adaptive.min must be an integer ≥ 1, got ${min}`);
    if (!Number.isInteger(max) || max < min) throw new RangeError(`adaptive.max must be an integer ≥ adaptive.min (${min}), got ${max}`);
    if (!(latencyTolerance >= 1)) throw new RangeError(`adaptive.latencyTolerance must be ≥ 1, got ${latencyTolerance}`);
    this.#min = min;
    this.#max = max;
    this.#tolerance = latencyTolerance;
    this.limit = initial === 0 ? min : Math.min(max, Math.max(min, initial));
  }

  /** One completion; `inflight` excludes it. Returns the new limit. */
  update(latencyMs: number, ok: boolean, inflight: number): number {
    const baseline = this.#previousBest < this.#best ? this.#previousBest : this.#best;
    if (ok && latencyMs < this.#best) this.#best = latencyMs;
    if (this.#skip > 0) {
      this.#skip--;
      return this.limit;
    }
    if (!ok || latencyMs > this.#tolerance * (baseline > LATENCY_FLOOR_MS ? baseline : LATENCY_FLOOR_MS)) {
      this.limit = Math.max(this.#min, Math.floor(this.limit * DECREASE_FACTOR));
      this.#skip = inflight;
      this.#nextWindow();
      return this.limit;
    }
    if ((inflight + 1) * 2 >= this.limit) this.#used = true;
    if (++this.#count >= this.limit) {
      if (this.#used && this.limit < this.#max) this.limit++;
      this.#nextWindow();
    }
    return this.limit;
  }

  #nextWindow(): void {
    this.#count = 0;
    this.#used = false;
    this.#previousBest = this.#best;
    this.#best = Infinity;
  }
}
