import { Client } from 'undici';
import type { Static } from '@sinclair/typebox';
import type { ActiveHealthConfig } from '../../config/schema/upstream.ts';
import type { Logger } from '../../core/logger.ts';
import { parseDuration } from '../../config/units.ts';
import type { Target } from '../target.ts';
import { notifyChange, type HealthChangeListener } from './change.ts';

export type ActiveHealthConfigT = Static<typeof ActiveHealthConfig>;

/** Largest random delay before a target's first probe, so many targets' probes don't fire in lockstep. */
const MAX_START_JITTER_MS = 1000;
/** Bytes of a probe's response body read before the connection is simply cut (it is closed after each probe anyway). */
const BODY_LIMIT = 64 * 1024;
const TIMEOUT = Symbol('probe timeout');
const STOPPED = Symbol('checker stopped');

/** One target's probe loop. `live` turns false when the target leaves or the checker stops: late results are dropped. */
interface Probe {
  readonly target: Target;
  readonly client: Client;
  timer: NodeJS.Timeout | undefined;
  inflight: AbortController | undefined;
  successes: number;
  failures: number;
  live: boolean;
}

/**
 * Active health checks of one upstream: each target is probed on its own timer (`interval` from the start of one
 * probe to the start of the next, never two at once), the first probe within a random `min(interval / 10, 1 s)`
 * of `start` or of the target joining. A probe passes when a response with an accepted status (`statuses`; empty:
 * 200–399) arrives, body included, within `timeout` (0: `interval`). `unhealthyThreshold` consecutive failures set
 * `target.healthy = false`; `healthyThreshold` consecutive passes set it back. Targets start healthy. Each change is
 * logged once and reported to `onChange`.
 *
 * Probes go through a dedicated undici Client per target, not `target.pool`: a pool busy with traffic would queue the
 * probe behind real requests, and a loaded but healthy target would then fail its probes on timeout and be taken
 * out, which moves its load onto the others. Each probe also asks for `Connection: close`, so it measures a fresh
 * connect and never races a server closing an idle keep-alive connection (a probe every 5 s against a server that
 * keeps connections 5 s would otherwise fail at random). Timers are unref'ed: a checker never keeps the process up.
 */
export class ActiveHealthChecker {
  readonly #upstream: string;
  readonly #logger: Logger;
  readonly #onChange: HealthChangeListener | undefined;
  readonly #interval: number;
  readonly #timeout: number;
  readonly #method: string;
  readonly #path: string;
  readonly #headers: Record<string, string>;
  readonly #statuses: ReadonlySet<number>;
  readonly #healthyThreshold: number;
  readonly #unhealthyThreshold: number;
  #probes = new Map<Target, Probe>();

  constructor(upstreamName: string, config: ActiveHealthConfigT, logger: Logger, onChange?: HealthChangeListener) {
    this.#upstream = upstreamName;
    this.#logger = logger;
    this.#onChange = onChange;
    // An interval of 0 would probe in a tight loop; 1 ms keeps the event loop breathing.
    this.#interval = Math.max(1, parseDuration(config.interval));
    const timeout = parseDuration(config.timeout);
    this.#timeout = timeout > 0 ? timeout : this.#interval;
    this.#method = config.method;
    this.#path = config.path;
    this.#headers = { 'user-agent': 'expeditor-health-check', ...config.headers };
    this.#statuses = new Set(config.statuses);
    this.#healthyThreshold = config.healthyThreshold;
    this.#unhealthyThreshold = config.unhealthyThreshold;
  }

  /** Starts probing `targets`. Calling it again is the same as `update`. */
  start(targets: readonly Target[]): void {
    this.update(targets);
  }

  /**
   * Membership change: targets that stay (the same objects) keep their counters and schedule; new ones are probed
   * soon; removed ones stop being probed at once (a probe in flight is aborted and its result dropped).
   */
  update(targets: readonly Target[]): void {
    const next = new Map<Target, Probe>();
    for (const target of targets) {
      const kept = this.#probes.get(target);
      if (kept !== undefined) {
        next.set(target, kept);
        continue;
      }
      const probe: Probe = {
        target,
        client: new Client(target.origin, {
          pipelining: 1,
          // The probe's own timer bounds connect, headers and body; undici's timers are not needed.
          headersTimeout: 0,
          bodyTimeout: 0,
        }),
        timer: undefined,
        inflight: undefined,
        successes: 0,
        failures: 0,
        live: true,
      };
      next.set(target, probe);
      this.#schedule(probe, Math.random() * Math.min(this.#interval / 10, MAX_START_JITTER_MS));
    }
    for (const [target, probe] of this.#probes) if (!next.has(target)) this.#end(probe);
    this.#probes = next;
  }

  /** Stops every probe loop: clears the timers, aborts probes in flight, closes the probe connections. */
  stop(): void {
    for (const probe of this.#probes.values()) this.#end(probe);
    this.#probes = new Map();
  }

  #end(probe: Probe): void {
    probe.live = false;
    clearTimeout(probe.timer);
    probe.timer = undefined;
    probe.inflight?.abort(STOPPED);
    probe.client.destroy().catch(() => {});
  }

  #schedule(probe: Probe, delay: number): void {
    probe.timer = setTimeout(() => void this.#run(probe), delay);
    probe.timer.unref();
  }

  /** One probe, then the next one scheduled. Never rejects. */
  async #run(probe: Probe): Promise<void> {
    probe.timer = undefined;
    const started = performance.now();
    const controller = new AbortController();
    probe.inflight = controller;
    const timer = setTimeout(() => controller.abort(TIMEOUT), this.#timeout);
    timer.unref();
    let passed = false;
    let reason: string;
    try {
      const res = await probe.client.request({
        method: this.#method,
        path: this.#path,
        headers: this.#headers,
        signal: controller.signal,
        reset: true,
      });
      await res.body.dump({ limit: BODY_LIMIT });
      passed = this.#accepts(res.statusCode);
      reason = `status ${res.statusCode}`;
    } catch (err) {
      reason = controller.signal.reason === TIMEOUT ? 'timeout' : errorReason(err);
    } finally {
      clearTimeout(timer);
      probe.inflight = undefined;
    }
    if (!probe.live) return;
    this.#record(probe, passed, reason);
    if (probe.live) this.#schedule(probe, Math.max(0, this.#interval - (performance.now() - started)));
  }

  #accepts(status: number): boolean {
    return this.#statuses.size === 0 ? status >= 200 && status < 400 : this.#statuses.has(status);
  }

  #record(probe: Probe, passed: boolean, reason: string): void {
    const { target } = probe;
    if (passed) {
      probe.failures = 0;
      probe.successes++;
      if (target.healthy || probe.successes < this.#healthyThreshold) return;
      target.healthy = true;
      this.#logger.info('upstream target healthy', { upstream: this.#upstream, target: target.id, reason, successes: probe.successes });
    } else {
      probe.successes = 0;
      probe.failures++;
      if (!target.healthy || probe.failures < this.#unhealthyThreshold) return;
      target.healthy = false;
      this.#logger.warn('upstream target unhealthy', { upstream: this.#upstream, target: target.id, reason, failures: probe.failures });
    }
    notifyChange(this.#onChange, this.#logger, this.#upstream, target, target.healthy, reason);
  }
}

/** A short, stable reason for a failed probe: the error code (`ECONNREFUSED`, `UND_ERR_SOCKET`…) when there is one. */
function errorReason(err: unknown): string {
  const code = codeOf(err);
  if (code !== undefined) return code;
  // Node reports a failed connect to a name with several addresses as an AggregateError of the attempts.
  if (err instanceof AggregateError) for (const e of err.errors) {
    const c = codeOf(e);
    if (c !== undefined) return c;
  }
  return err instanceof Error ? err.message || err.name : String(err);
}

function codeOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}
