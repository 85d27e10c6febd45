import type { Static } from '@sinclair/typebox';
import type { PassiveHealthConfig } from '../../config/schema/upstream.ts';
import type { Logger } from '../../core/logger.ts';
import { parseDuration } from '../../config/units.ts';
import type { Target } from '../target.ts';
import { notifyChange, type HealthChangeListener } from './change.ts';

export type PassiveHealthConfigT = Static<typeof PassiveHealthConfig>;

/** What the detector keeps per target beyond the Target's own fields. */
interface Outlier {
  /** Fires when the current ejection ends. */
  timer: NodeJS.Timeout | undefined;
  /** Start of the clean period the ejection count decays over (the last return, advanced as it decays). */
  decayFrom: number;
  /** A refused ejection (maxEjectedPercent) was logged for the current failure streak. */
  refusalLogged: boolean;
}

/**
 * Passive outlier detection for one upstream: the proxy reports each outcome with `success` or `failure`; a target
 * with `consecutiveFailures` failures in a row is ejected (`target.ejectedUntil`) for
 * `min(baseEjectionTime × (ejections + 1), maxEjectionTime)`, so repeat offenders stay out longer.
 *
 * - Share limit: an ejection happens only if the targets ejected at once would then be at most `maxEjectedPercent`
 *   of the targets given to `setTargets`, rounded down. With one target and 50 % nothing is ever ejected (one
 *   target is 100 %); two targets and 50 % allow one. 100 % allows all (then `whenAllDown` decides). Targets taken
 *   out by active checks don't count. A refused ejection is logged once per failure streak; the streak keeps
 *   counting, and the next failure tries again.
 * - Failures reported while the target is ejected (requests that were already in flight) are ignored.
 * - Return: an unref'ed timer at `ejectedUntil` sets it back to 0, logs and calls `onChange(target, true)`, on time
 *   even without traffic.
 * - Decay: the ejection count drops by one for every `maxEjectionTime` the target spends back in the pool, so a
 *   target that behaves long enough starts again at `baseEjectionTime`, while one that fails again soon after
 *   returning keeps its growing back-off. Applied lazily on `success` and before an ejection; no timer.
 * - Targets not given to `setTargets` (a request that finished after its target left) are ignored.
 */
export class OutlierDetector {
  readonly #upstream: string;
  readonly #logger: Logger;
  readonly #onChange: HealthChangeListener | undefined;
  readonly #threshold: number;
  readonly #baseMs: number;
  readonly #maxMs: number;
  readonly #maxPercent: number;
  readonly #statuses: ReadonlySet<number>;
  #targets = new Map<Target, Outlier>();

  constructor(upstreamName: string, config: PassiveHealthConfigT, logger: Logger, onChange?: HealthChangeListener) {
    this.#upstream = upstreamName;
    this.#logger = logger;
    this.#onChange = onChange;
    this.#threshold = config.consecutiveFailures;
    this.#baseMs = parseDuration(config.baseEjectionTime);
    this.#maxMs = parseDuration(config.maxEjectionTime);
    this.#maxPercent = config.maxEjectedPercent;
    this.#statuses = new Set(config.statuses);
  }

  /**
   * The pool the share limit is computed over; called at start and on every membership change. Targets that stay
   * keep their state; a target already ejected when it is first given (a reload that kept the Target objects) gets
   * its return timer here.
   */
  setTargets(targets: readonly Target[]): void {
    const next = new Map<Target, Outlier>();
    const now = Date.now();
    for (const target of targets) {
      let state = this.#targets.get(target);
      if (state === undefined) {
        state = { timer: undefined, decayFrom: now, refusalLogged: false };
        if (target.ejectedUntil > now) this.#armReturn(target, state);
      }
      next.set(target, state);
    }
    for (const [target, state] of this.#targets) if (!next.has(target)) clearTimeout(state.timer);
    this.#targets = next;
  }

  /** Clears every return timer; the detector forgets its targets. Ejected targets stay ejected until `ejectedUntil`. */
  stop(): void {
    this.setTargets([]);
  }

  /** Whether an upstream response status counts as a failure (`statuses`). */
  isFailureStatus(status: number): boolean {
    return this.#statuses.has(status);
  }

  /** A request to `target` succeeded: the failure streak ends. */
  success(target: Target, now: number = Date.now()): void {
    const state = this.#targets.get(target);
    if (state === undefined) return;
    target.consecutiveFailures = 0;
    state.refusalLogged = false;
    this.#decay(target, state, now);
  }

  /** A request to `target` failed (connection error, timeout or a failure status); may eject it. */
  failure(target: Target, now: number = Date.now()): void {
    const state = this.#targets.get(target);
    if (state === undefined || target.ejectedUntil > now) return;
    target.consecutiveFailures++;
    if (target.consecutiveFailures < this.#threshold) return;
    if (!this.#mayEject(now)) {
      if (!state.refusalLogged) {
        state.refusalLogged = true;
        this.#logger.warn('upstream target not ejected: maxEjectedPercent reached', {
          upstream: this.#upstream, target: target.id, consecutiveFailures: target.consecutiveFailures, maxEjectedPercent: this.#maxPercent,
        });
      }
      return;
    }
    this.#decay(target, state, now);
    const ms = Math.min(this.#baseMs * (target.ejections + 1), this.#maxMs);
    const reason = `${target.consecutiveFailures} consecutive failures`;
    target.ejectedUntil = now + ms;
    target.ejections++;
    target.consecutiveFailures = 0;
    state.refusalLogged = false;
    this.#logger.warn('upstream target ejected', { upstream: this.#upstream, target: target.id, reason, ejectionMs: ms, ejections: target.ejections });
    this.#armReturn(target, state);
    notifyChange(this.#onChange, this.#logger, this.#upstream, target, false, reason);
  }

  #mayEject(now: number): boolean {
    let ejected = 0;
    for (const t of this.#targets.keys()) if (t.ejectedUntil > now) ejected++;
    return (ejected + 1) * 100 <= this.#maxPercent * this.#targets.size;
  }

  #armReturn(target: Target, state: Outlier): void {
    clearTimeout(state.timer);
    state.timer = setTimeout(() => this.#return(target, state), Math.max(0, target.ejectedUntil - Date.now()));
    state.timer.unref();
  }

  #return(target: Target, state: Outlier): void {
    state.timer = undefined;
    if (this.#targets.get(target) !== state) return;
    // Timers run on the monotonic clock; zeroing the field makes `available` agree with the log line at once.
    target.ejectedUntil = 0;
    state.decayFrom = Date.now();
    this.#logger.info('upstream target returned', { upstream: this.#upstream, target: target.id, ejections: target.ejections });
    notifyChange(this.#onChange, this.#logger, this.#upstream, target, true, 'ejection expired');
  }

  #decay(target: Target, state: Outlier, now: number): void {
    if (target.ejections === 0 || target.ejectedUntil > now || this.#maxMs <= 0) return;
    const steps = Math.floor((now - state.decayFrom) / this.#maxMs);
    if (steps <= 0) return;
    target.ejections = Math.max(0, target.ejections - steps);
    state.decayFrom += steps * this.#maxMs;
  }
}
