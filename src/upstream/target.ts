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

/** What a balancer may look at to place a request. */
export interface BalanceInput {
  /** The value consistent hashing keys on (header, cookie, client IP, path or consumer), computed only on demand. */
  hashKey(): string | undefined;
}

/**
 * Chooses a target. `update` is called with the full target list at start and whenever membership changes (DNS);
 * `pick` must return a target for which `eligible(target)` is true, or undefined when none is. Eligibility
 * (health, ejection, drain, targets already tried by this request) is the caller's: balancers only order.
 * pick must be O(targets) or better (consistent hashing: O(1) expected), and must not allocate per call where
 * avoidable: it runs on every request.
 */
export interface Balancer {
  readonly name: string;
  update(targets: readonly Target[]): void;
  pick(input: BalanceInput, eligible: (t: Target) => boolean): Target | undefined;
}
