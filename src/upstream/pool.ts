import { Pool, buildConnector, errors } from 'undici';
import { createHash } from 'node:crypto';
import type { Socket } from 'node:net';
import type { UpstreamConfigT } from '../config/schema/index.ts';
import { parseDuration } from '../config/units.ts';
import { silentLogger, type Logger } from '../core/logger.ts';
import { Target, type BalanceInput, type Balancer } from './target.ts';
import { createBalancer } from './balancers/index.ts';
import { ActiveHealthChecker } from './health/active.ts';
import { OutlierDetector } from './health/passive.ts';
import { DnsDiscovery, type DiscoveredTarget } from './discovery/dns.ts';
import { ConcurrencyLimiter } from './limiter.ts';
import { RetryBudget, RetryPolicy } from './retry.ts';

export { Target } from './target.ts';

export interface UpstreamTimeouts {
  connect: number;
  response: number;
  idle: number;
  total: number;
}

const DEFAULT_TIMEOUTS: UpstreamTimeouts = { connect: 5000, response: 30000, idle: 30000, total: 0 };

/** What the proxy reports about one attempt, for balancing and outlier detection. */
export interface AttemptOutcome {
  /** The exchange succeeded from the upstream's side (a response that is not a failure status). */
  ok: boolean;
  status?: number;
  /** Response-header latency of the attempt, when a response came. */
  latencyMs?: number;
  timeout?: boolean;
}

/**
 * A named pool of targets with its policies: the balancer, health checking (active probes and passive outlier
 * detection), DNS discovery, retries with a budget, and the concurrency limiter with its FIFO queue. Built once
 * per config hash: a reload that leaves an upstream's config unchanged reuses it, so connections stay warm and
 * health state survives; a removed one is stopped and closed after the requests in flight on it finish.
 */
export class Upstream {
  readonly name: string;
  readonly hash: string;
  readonly timeouts: UpstreamTimeouts;
  readonly whenAllDown: 'fail' | 'panic';
  readonly balancer: Balancer;
  readonly retry: RetryPolicy | undefined;
  readonly budget: RetryBudget;
  readonly limiter: ConcurrencyLimiter | undefined;
  readonly hashOn: UpstreamConfigT['hashOn'];
  #targets: Target[];
  readonly #static: Target[];
  readonly #poolOptions: Pool.Options;
  readonly #outliers: OutlierDetector | undefined;
  readonly #active: ActiveHealthChecker | undefined;
  readonly #dns: DnsDiscovery | undefined;
  readonly #logger: Logger;
  /** Eligibility of the pick in progress (set just before each pick: no closure per request). */
  #now = 0;
  #exclude: readonly Target[] | undefined = undefined;
  readonly #eligible = (t: Target) => t.available(this.#now) && (this.#exclude === undefined || !this.#exclude.includes(t));
  readonly #panicEligible = (t: Target) => !t.draining && t.weight > 0 && (this.#exclude === undefined || !this.#exclude.includes(t));

  constructor(name: string, config: UpstreamConfigT, logger: Logger = silentLogger) {
    this.name = name;
    this.hash = upstreamHash(config);
    this.#logger = logger;
    const t = config.timeouts;
    this.timeouts = t
      ? { connect: parseDuration(t.connect), response: parseDuration(t.response), idle: parseDuration(t.idle), total: parseDuration(t.total) }
      : DEFAULT_TIMEOUTS;
    const keepAlive = parseDuration(config.keepAliveTimeout);
    this.#poolOptions = {
      connections: config.connections,
      pipelining: config.pipelining,
      keepAliveTimeout: keepAlive,
      keepAliveMaxTimeout: Math.max(keepAlive, 600_000),
      connect: exactConnector(this.timeouts.connect),
      headersTimeout: this.timeouts.response,
      bodyTimeout: this.timeouts.idle,
      // The gateway enforces its own limits on what it relays; undici's defaults would cut large headers.
      maxHeaderSize: 64 * 1024,
    };
    this.#static = config.targets.map((tc) => this.#target(new URL(tc.url).origin, tc.weight, tc.zone, tc.tags));
    this.#targets = this.#static;
    this.whenAllDown = config.whenAllDown;
    // Header names are matched lower-case: lower it once here, not per request.
    const h = config.hashOn;
    this.hashOn = h && h.source === 'header' && h.name !== undefined ? { ...h, name: h.name.toLowerCase() } : h;
    this.balancer = createBalancer(config.balancer);
    this.balancer.update(this.#targets);
    this.retry = config.retries ? new RetryPolicy(config.retries) : undefined;
    // One budget for the upstream, whichever route's policy retries (routes may retry when the upstream doesn't).
    this.budget = this.retry ? this.retry.createBudget() : new RetryBudget(20, 3);
    const limits = config.limits;
    this.limiter = limits && (limits.maxConcurrent > 0 || limits.adaptive)
      ? new ConcurrencyLimiter({ maxConcurrent: limits.maxConcurrent, maxQueued: limits.maxQueued, queueTimeout: parseDuration(limits.queueTimeout), adaptive: limits.adaptive })
      : undefined;
    const health = config.health;
    this.#outliers = health?.passive ? new OutlierDetector(name, health.passive, logger) : undefined;
    this.#outliers?.setTargets(this.#targets);
    this.#active = health?.active ? new ActiveHealthChecker(name, health.active, logger) : undefined;
    this.#dns = config.discovery?.dns ? new DnsDiscovery(name, config.discovery.dns, logger, (found) => this.#setDiscovered(found)) : undefined;
  }

  #target(origin: string, weight: number, zone?: string, tags?: readonly string[]): Target {
    return new Target(origin, weight, new Pool(origin, this.#poolOptions), zone, tags);
  }

  get targets(): readonly Target[] {
    return this.#targets;
  }

  /**
   * Starts what runs in the background (DNS re-resolution, active probes). Resolves once discovered targets are
   * known; rejects when DNS discovery finds nothing at all, so a config that can't serve is refused.
   */
  async start(): Promise<void> {
    if (this.#dns) this.#setDiscovered(await this.#dns.start());
    this.#active?.start(this.#targets);
  }

  /**
   * An eligible target (available, and not among `exclude`, the targets this request already tried), or
   * undefined when there is none. With `whenAllDown: panic` and nothing available, health is ignored.
   */
  pick(input: BalanceInput, exclude?: readonly Target[]): Target | undefined {
    this.#now = Date.now();
    this.#exclude = exclude;
    let t = this.balancer.pick(input, this.#eligible);
    if (t === undefined && this.whenAllDown === 'panic') t = this.balancer.pick(input, this.#panicEligible);
    this.#exclude = undefined;
    return t;
  }

  /** Seconds until the first ejected target is due back (at least 1): the Retry-After of a 503. */
  retryAfterSeconds(): number {
    const now = Date.now();
    let soonest = Infinity;
    for (const t of this.#targets) if (t.ejectedUntil > now) soonest = Math.min(soonest, t.ejectedUntil - now);
    return Number.isFinite(soonest) ? Math.max(1, Math.ceil(soonest / 1000)) : 1;
  }

  /** Records the outcome of one attempt on `target`. */
  report(target: Target, outcome: AttemptOutcome): void {
    target.counters.requests++;
    if (outcome.latencyMs !== undefined) target.observeLatency(outcome.latencyMs);
    if (outcome.status !== undefined && outcome.status >= 500) target.counters.status5xx++;
    if (outcome.timeout) target.counters.timeouts++;
    const failed = !outcome.ok || (outcome.status !== undefined && this.#outliers !== undefined && this.#outliers.isFailureStatus(outcome.status));
    if (failed) {
      target.counters.failures++;
      this.#outliers?.failure(target);
    } else {
      this.#outliers?.success(target);
    }
  }

  /** State for the admin API: each target's health, ejection, load and recent errors, and the limiter. */
  snapshot() {
    const now = Date.now();
    return {
      name: this.name,
      balancer: this.balancer.name,
      whenAllDown: this.whenAllDown,
      targets: this.#targets.map((t) => ({
        id: t.id,
        url: t.origin,
        weight: t.weight,
        zone: t.zone,
        tags: t.tags,
        state: t.draining ? 'draining' : !t.healthy ? 'unhealthy' : t.ejectedUntil > now ? 'ejected' : 'healthy',
        healthy: t.healthy,
        ejectedForMs: Math.max(0, t.ejectedUntil - now),
        ejections: t.ejections,
        draining: t.draining,
        inflight: t.inflight,
        ewmaMs: Math.round(t.ewmaMs * 100) / 100,
        counters: { ...t.counters },
      })),
      limits: this.limiter ? { limit: this.limiter.limit, inflight: this.limiter.inflight, queued: this.limiter.queued } : undefined,
    };
  }

  /** Takes a target out gracefully: no new requests; those in flight finish. */
  drain(id: string, draining = true): Target | undefined {
    const t = this.#targets.find((x) => x.id === id);
    if (t !== undefined && t.draining !== draining) {
      t.draining = draining;
      this.#logger.info(draining ? 'target draining' : 'target back from drain', { upstream: this.name, target: t.id });
    }
    return t;
  }

  /** Membership change from DNS: keep the Target objects (and their state) of addresses that stay. */
  #setDiscovered(found: readonly DiscoveredTarget[]): void {
    const old = new Map(this.#targets.map((t) => [`${t.origin}|${t.weight}`, t]));
    const next: Target[] = [...this.#static];
    for (const d of found) {
      const key = `${d.origin}|${d.weight}`;
      if (next.some((t) => `${t.origin}|${t.weight}` === key)) continue;
      next.push(old.get(key) ?? this.#target(d.origin, d.weight));
    }
    const removed = this.#targets.filter((t) => !next.includes(t));
    this.#targets = next;
    this.balancer.update(next);
    this.#outliers?.setTargets(next);
    this.#active?.update(next);
    if (removed.length > 0 || found.length > 0) this.#logger.info('upstream membership', { upstream: this.name, targets: next.map((t) => t.id) });
    // Requests in flight on a removed target finish: close() waits for them.
    for (const t of removed) void t.pool.close().catch(() => {});
  }

  /** Stops background work, waits for requests in flight, then closes every connection. */
  async close(): Promise<void> {
    this.#stop();
    await Promise.all(this.#targets.map((t) => t.pool.close().catch(() => {})));
  }

  destroy(): void {
    this.#stop();
    for (const t of this.#targets) t.pool.destroy().catch(() => {});
  }

  #stop(): void {
    this.#active?.stop();
    this.#dns?.stop();
    this.#outliers?.setTargets([]);
  }
}

/**
 * undici's connector with the connect timeout on a native timer. undici's own runs on its coarse timer wheel
 * (half-second ticks), which lets a 1 s timeout fire anywhere up to 1.5 s. Runs once per new connection.
 */
function exactConnector(timeout: number): buildConnector.connector {
  // At run time undici's connector returns the socket it opens; its typings say void.
  const connect = buildConnector({ timeout: 0 }) as unknown as (o: buildConnector.Options, cb: buildConnector.Callback) => Socket;
  if (timeout <= 0) return connect;
  return (options, callback) => {
    let timer: NodeJS.Timeout | undefined = undefined;
    let settled = false;
    const socket = connect(options, (...args) => {
      settled = true;
      clearTimeout(timer);
      callback(...args);
    });
    if (!settled) timer = setTimeout(onConnectTimeout, timeout, socket, timeout);
  };
}

function onConnectTimeout(socket: Socket, timeout: number): void {
  // The connector reports the error through its callback (the socket's 'error' event): undici fails the requests
  // queued for this connection with UND_ERR_CONNECT_TIMEOUT.
  socket.destroy(new errors.ConnectTimeoutError(`connect timeout (${timeout} ms)`));
}

export function upstreamHash(config: UpstreamConfigT): string {
  return createHash('sha256').update(JSON.stringify(config)).digest('hex').slice(0, 16);
}
