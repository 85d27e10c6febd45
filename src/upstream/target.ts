import type { Pool } from 'undici';

/**
 * One server of an upstream and everything the gateway knows about it. Balancers read it; health checking,
 * outlier detection and the proxy update it. Lives as long as its Upstream (a reload with an unchanged upstream
 * config keeps the same objects, so state survives reloads).
 */
export class Target {
  /** Stable id within the upstream: `host:port` of its origin. */
  readonly id: string;
  readonly origin: string;
  readonly weight: number;
  readonly zone: string | undefined;
  readonly tags: readonly string[];
  readonly pool: Pool;

  /** Requests sent to this target and not finished yet. */
  inflight = 0;
  /** Exponentially weighted moving average of response-header latency in ms (0 until the first response). */
  ewmaMs = 0;
  /** Smooth weighted round-robin state (nginx's algorithm). */
  currentWeight = 0;

  /** Active health check verdict; targets start healthy. */
  healthy = true;
  /** Passive outlier detection: ejected until this time (ms since epoch; 0 = not ejected). */
  ejectedUntil = 0;
  /** How many times passive detection has ejected it (drives the growing back-off). */
  ejections = 0;
  /** Consecutive failures seen by passive detection since the last success. */
  consecutiveFailures = 0;
  /** Taken out by an operator: no new requests, in-flight ones finish. */
  draining = false;
  /** Recent outcomes for the admin API (since start). */
  readonly counters = { requests: 0, failures: 0, timeouts: 0, status5xx: 0 };

  constructor(origin: string, weight: number, pool: Pool, zone?: string, tags: readonly string[] = []) {
    this.origin = origin;
    this.id = new URL(origin).host;
    this.weight = weight;
    this.pool = pool;
    this.zone = zone;
    this.tags = tags;
  }

  /** Whether new requests may be sent here now. */
  available(now: number): boolean {
    return this.healthy && !this.draining && this.weight > 0 && this.ejectedUntil <= now;
  }

  /** Record a response-header latency in the EWMA (alpha 0.3: recent samples dominate within ~5 requests). */
  observeLatency(ms: number): void {
    this.ewmaMs = this.ewmaMs === 0 ? ms : this.ewmaMs + 0.3 * (ms - this.ewmaMs);
  }
}

/** What a balancer may look at to place a request (hash keys). */
export interface BalanceInput {
  /** Returns the value consistent hashing keys on, computed only when that balancer asks. */
  hashKey(): string | undefined;
}

/**
 * Chooses a target among the available ones. `candidates` is never empty and already excludes unavailable
 * targets and those tried by earlier attempts of the same request. Implementations keep their state on the
 * balancer or on the targets, must be O(candidates) or better, and must not allocate per call where avoidable.
 */
export interface Balancer {
  readonly name: string;
  pick(candidates: readonly Target[], input: BalanceInput): Target;
}
