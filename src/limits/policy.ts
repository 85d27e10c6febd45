import type { RequestContext } from '../core/context.ts';
import type { PhaseResult } from '../core/plugin.ts';
import { PluginConfigError } from '../core/plugin.ts';
import type { Reply } from '../core/reply.ts';
import type { Logger } from '../core/logger.ts';
import type { RedisConfigT } from '../config/schema/redis.ts';
import { calendarPeriod } from './periods.ts';
import { ceilSeconds, recordLimitHeaders, type LimitHeaderItem } from './headers.ts';
import { limitStats, type LimitCounter, type LimitOutcome, type LimitSource } from './stats.ts';
import { policyStore } from './policy-store.ts';
import { localStore } from './stores.ts';
import type { LimitHeadersT, OnStoreFailureT, StorageT } from './schema.ts';
import type { CompiledLimit } from './limits.ts';
import type { KeyFunction } from './keys.ts';
import { degradation } from './resilient-store.ts';
import { StoreUnavailable, type LimitCheck, type LimitState, type LimitStore } from './types.ts';

/**
 * A policy: a set of limits checked together for one client, where the client is what the policy's key (`by`) makes
 * of the request. The rate-limit and quota plugins and usage plans are each a Policy with a different config,
 * compiled once (limits: limits.ts, key: keys.ts, storage: storeFor below); a Policy checks requests against it and
 * sets the rate-limit headers (headers.ts).
 *
 * Storage keys are `rl:{<policy-id>:<client-key>}:<limit-id>`: the braces are a Redis Cluster hash tag, so every
 * limit one request checks lands in one slot and one atomic script checks them all. Policy ids are stable across
 * reloads (built from route, consumer and plan names), so a reload keeps every counter.
 */

/** The clock policies read. A test hook: in-process tests replace `now` to step time; nothing else should. */
export const limitClock = { now: (): number => Date.now() };

export interface PolicyOptions {
  /** Stable id: `route.<name>.rate-limit`, `consumer.<name>.quota`, `plan.<name>`… */
  readonly id: string;
  readonly source: LimitSource;
  readonly limits: readonly CompiledLimit[];
  readonly key: KeyFunction;
  readonly store: () => LimitStore;
  readonly onStoreFailure: OnStoreFailureT;
  readonly headers: LimitHeadersT;
}

const UNAVAILABLE_HEADERS = Object.freeze({ 'retry-after': '1' });

function isPromise<T>(v: unknown): v is Promise<T> {
  return v !== null && typeof v === 'object' && typeof (v as Promise<T>).then === 'function';
}

/**
 * A compiled policy. `check` is the throttle-phase handler: synchronous with the local store, a promise with Redis.
 * Every limit is hit at once, atomically: a request refused by one limit consumes nothing from the others.
 */
export class Policy {
  readonly id: string;
  readonly source: LimitSource;
  readonly limits: readonly CompiledLimit[];
  readonly #key: KeyFunction;
  readonly #store: () => LimitStore;
  readonly #failure: OnStoreFailureT;
  readonly #headers: LimitHeadersT;
  readonly #keyHead: string;
  readonly #keyTails: readonly string[];
  readonly #periods: Array<{ start: number; end: number } | undefined>;
  readonly #counters = new Map<string, LimitCounter>();
  readonly #hasQuota: boolean;

  constructor(o: PolicyOptions) {
    this.id = o.id;
    this.source = o.source;
    this.limits = o.limits;
    this.#key = o.key;
    this.#store = o.store;
    this.#failure = o.onStoreFailure;
    this.#headers = o.headers;
    this.#keyHead = `rl:{${o.id}:`;
    this.#keyTails = o.limits.map((l) => `}:${l.spec.id}`);
    this.#periods = o.limits.map(() => undefined);
    this.#hasQuota = o.limits.some((l) => l.kind === 'quota');
  }

  /** The handler: nothing to go on, a 429 (or 503 when the store fails closed) to refuse. */
  check(ctx: RequestContext): PhaseResult | Promise<PhaseResult> {
    const key = this.#key(ctx);
    if (key === undefined) {
      this.#count(ctx, 'skipped', 'none');
      return undefined;
    }
    const now = limitClock.now();
    const checks = this.checks(key.value, now);
    let result: readonly LimitState[] | Promise<readonly LimitState[]>;
    try {
      result = this.#store().hit(checks, now);
    } catch (err) {
      return this.#failed(ctx, err, key.cls);
    }
    if (isPromise<readonly LimitState[]>(result)) {
      return result.then((states) => this.#decide(ctx, checks, states, key.cls), (err: unknown) => this.#failed(ctx, err, key.cls));
    }
    return this.#decide(ctx, checks, result, key.cls);
  }

  /** The checks for one client key at `now` (the storage keys and, for quotas, the current period). */
  checks(clientKey: string, now: number): LimitCheck[] {
    const out: LimitCheck[] = new Array(this.limits.length);
    for (let i = 0; i < this.limits.length; i++) {
      const l = this.limits[i]!;
      const key = this.#keyHead + clientKey + this.#keyTails[i]!;
      out[i] = l.unit === undefined ? { key, spec: l.spec } : { key, spec: l.spec, period: this.#period(i, now) };
    }
    return out;
  }

  /** The state of every limit for a client key, consuming nothing (usage reports). */
  async peek(clientKey: string, now = limitClock.now()): Promise<Array<{ limit: CompiledLimit; state: LimitState; period?: { start: number; end: number } }>> {
    const checks = this.checks(clientKey, now);
    const states = await this.#store().peek(checks, now);
    return this.limits.map((limit, i) => ({ limit, state: states[i]!, ...(checks[i]!.period ? { period: checks[i]!.period } : {}) }));
  }

  #period(i: number, now: number): { start: number; end: number } {
    const cached = this.#periods[i];
    if (cached !== undefined && now >= cached.start && now < cached.end) return cached;
    const l = this.limits[i]!;
    const p = calendarPeriod(now, l.unit!, l.timeZone!);
    this.#periods[i] = p;
    return p;
  }

  #decide(ctx: RequestContext, checks: readonly LimitCheck[], states: readonly LimitState[], cls: string): PhaseResult {
    const degraded = states.length > 0 ? degradation(states[0]!) : undefined;
    if (degraded === 'fail-open') {
      // Admitted unchecked: there is no budget to tell the client about.
      this.#count(ctx, 'failed_open', cls);
      return undefined;
    }
    let refused = -1;
    let quotaRefused = false;
    let retryMs = 0;
    for (let i = 0; i < states.length; i++) {
      const s = states[i]!;
      if (s.allowed) continue;
      const isQuota = this.limits[i]!.kind === 'quota';
      // A quota refusal is what the client must hear about: waiting out the throttle would not help.
      if (refused < 0 || (isQuota && !quotaRefused) || (isQuota === quotaRefused && s.retryAfterMs > states[refused]!.retryAfterMs)) {
        refused = i;
        quotaRefused = isQuota;
      }
      if (s.retryAfterMs > retryMs) retryMs = s.retryAfterMs;
    }
    if (this.#headers.draft || this.#headers.legacy) recordLimitHeaders(ctx, this.#headerItems(checks, states));
    if (refused < 0) {
      this.#count(ctx, degraded === undefined ? 'allowed' : 'fallback_allowed', cls);
      return undefined;
    }
    const code = quotaRefused ? 'quota_exceeded' : 'rate_limited';
    this.#count(ctx, degraded === undefined ? code : 'fallback_limited', cls);
    const retryAfter = Math.max(1, ceilSeconds(retryMs));
    const limit = this.limits[refused]!;
    const detail = quotaRefused
      ? `quota "${limit.spec.id}" (${limit.description}) is used up; it resets at ${new Date(checks[refused]!.period!.end).toISOString()}`
      : `rate limit "${limit.spec.id}" (${limit.description}) exceeded; retry in ${retryAfter} s`;
    const reply: Reply = { status: 429, code, detail, headers: { 'retry-after': String(retryAfter) } };
    return reply;
  }

  #headerItems(checks: readonly LimitCheck[], states: readonly LimitState[]): LimitHeaderItem[] {
    const items: LimitHeaderItem[] = new Array(states.length);
    for (let i = 0; i < states.length; i++) {
      const s = states[i]!;
      const l = this.limits[i]!;
      const p = checks[i]!.period;
      const w = p !== undefined ? Math.round((p.end - p.start) / 1000)
        : l.spec.algorithm === 'token-bucket' ? Math.max(1, Math.ceil((l.spec.limit * l.spec.intervalMs) / 1000 - 1e-9))
        : Math.max(1, ceilSeconds(l.spec.intervalMs));
      const retry = s.allowed ? 0 : Math.max(1, ceilSeconds(s.retryAfterMs));
      // A refused limit is not whole before a request can pass again, whatever its algorithm calls its reset.
      items[i] = { name: l.spec.id, q: l.spec.limit, w, r: s.remaining, t: Math.max(ceilSeconds(s.resetMs), retry), retry, draft: this.#headers.draft, legacy: this.#headers.legacy };
    }
    return items;
  }

  #failed(ctx: RequestContext, err: unknown, cls: string): PhaseResult {
    if (!(err instanceof StoreUnavailable)) throw err;
    if (this.#failure === 'fail-closed') {
      this.#count(ctx, 'failed_closed', cls);
      return { status: 503, code: 'rate_limit_unavailable', detail: `the ${this.#hasQuota ? 'quota' : 'rate limit'} store is unavailable`, headers: UNAVAILABLE_HEADERS };
    }
    // fail-open (fallback-local answers from its local buckets and does not get here): through, unlimited.
    this.#count(ctx, 'failed_open', cls);
    return undefined;
  }

  /** Counts the decision for /metrics and records it on the request for the access log (the last policy's wins). */
  #count(ctx: RequestContext, outcome: LimitOutcome, cls: string): void {
    ctx.vars.rateLimit = outcome;
    const id = `${cls}\u0000${outcome}`;
    let c = this.#counters.get(id);
    if (c === undefined) this.#counters.set(id, (c = limitStats.counter({ policy: this.id, source: this.source, key: cls, outcome })));
    c.value++;
  }
}

// --- building blocks for the plugins ---------------------------------------------------------------------------------

export interface StorageSettings {
  readonly storage: StorageT;
  readonly onStoreFailure: OnStoreFailureT;
  readonly fallbackShare: number;
}

/**
 * The store of a policy, created on first use (building a config to validate it must not open Redis connections).
 * Throws PluginConfigError at `path` when `storage: redis` has no root `redis` section.
 */
export function storeFor(settings: StorageSettings, scope: { redis: RedisConfigT | undefined; logger: Logger }, name: string, path = 'storage'): () => LimitStore {
  if (settings.storage === 'redis' && scope.redis === undefined) {
    throw new PluginConfigError(path, 'is "redis" but the config has no root `redis` section: add one (`redis: { url: "redis://127.0.0.1:6379" }`), or use `storage: local`');
  }
  // The local store is looked up each time (a lookup of a module variable), so closeSharedStores really resets it.
  if (settings.storage === 'local') return localStore;
  let store: LimitStore | undefined;
  return () => (store ??= policyStore(settings, scope.redis, scope.logger, name));
}

/** The id of a plugin instance's policy, from where it is configured. */
export function pluginPolicyId(plugin: string, scope: { route?: string; consumer?: string }): string {
  if (scope.route !== undefined && scope.consumer !== undefined) return `route.${scope.route}.consumer.${scope.consumer}.${plugin}`;
  if (scope.consumer !== undefined) return `consumer.${scope.consumer}.${plugin}`;
  if (scope.route !== undefined) return `route.${scope.route}.${plugin}`;
  return `global.${plugin}`;
}

/**
 * The handler of a plugin with per-group overrides: a consumer in one of the `groups` (the first, in config order)
 * gets that group's policy, everyone else the base one.
 */
export function groupHandler(base: Policy, groups: ReadonlyArray<readonly [string, Policy]>): (ctx: RequestContext) => PhaseResult | Promise<PhaseResult> {
  if (groups.length === 0) return (ctx) => base.check(ctx);
  return (ctx) => {
    const c = ctx.consumer;
    if (c !== undefined) {
      for (let i = 0; i < groups.length; i++) if (c.groupSet.has(groups[i]![0])) return groups[i]![1].check(ctx);
    }
    return base.check(ctx);
  };
}
