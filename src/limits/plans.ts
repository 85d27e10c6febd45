import type { Config } from '../config/schema/index.ts';
import type { PlanConfigT } from '../config/schema/plan.ts';
import type { ConfigIssue } from '../config/errors.ts';
import { formatPath } from '../config/errors.ts';
import type { Logger } from '../core/logger.ts';
import { PluginConfigError, type PluginHandlers } from '../core/plugin.ts';
import type { ConsumerDirectory } from '../identity/consumers.ts';
import type { Consumer } from '../identity/types.ts';
import { Policy, limitClock, storeFor } from './policy.ts';
import { PERIOD_IDS, calendarQuota, checkTimeZone, tokenBucket, type CompiledLimit } from './limits.ts';
import { compileKey, consumerKey } from './keys.ts';
import { ceilSeconds } from './headers.ts';
import { VOLATILE_QUOTA, rateIntervalMs } from './schema.ts';
import { degradation } from './resilient-store.ts';
import { StoreUnavailable } from './types.ts';

/**
 * Usage plans (AWS API Gateway's model): a plan is a throttle (token bucket) and a quota (calendar period) per
 * consumer, over the routes it covers; consumers subscribe with `plan: NAME`. One Policy per plan, keyed by
 * consumer, so a consumer's budget is shared by every route of its plan, and its throttle and quota are hit
 * together: a throttled request uses no quota, a request over quota uses no throttle.
 *
 * In the chain a plan is a throttle-phase handler named `usage-plan`, after `rate-limit` and before `quota`.
 */
export const USAGE_PLAN = 'usage-plan';
export const USAGE_PLAN_PRIORITY = 850;

export interface CompiledPlan {
  readonly name: string;
  readonly config: PlanConfigT;
  readonly policy: Policy;
  /** Whether the plan covers a route (every route when `routes` is empty). */
  covers(route: string): boolean;
}

/**
 * Compiles every plan of a config. A plan that can't be compiled adds an issue (path `plans.NAME…`) and is left out.
 */
export function compilePlans(config: Config, scope: { redis: Config['redis']; logger: Logger }, issues: ConfigIssue[]): Map<string, CompiledPlan> {
  const out = new Map<string, CompiledPlan>();
  for (const [name, plan] of Object.entries(config.plans ?? {})) {
    try {
      out.set(name, compilePlan(name, plan, scope));
    } catch (err) {
      if (!(err instanceof PluginConfigError)) throw err;
      issues.push({ path: formatPath(['plans', name]) + (err.path ? `.${err.path}` : ''), message: err.message });
    }
  }
  return out;
}

const PLAN_KEY = compileKey('consumer', 'skip');

export function compilePlan(name: string, plan: PlanConfigT, scope: { redis: Config['redis']; logger: Logger }): CompiledPlan {
  const limits: CompiledLimit[] = [];
  if (plan.throttle !== undefined) {
    try {
      rateIntervalMs(plan.throttle.rate);
    } catch (err) {
      throw new PluginConfigError('throttle.rate', (err as Error).message);
    }
    limits.push(tokenBucket(name, plan.throttle.rate, plan.throttle.burst));
  }
  if (plan.quota !== undefined) {
    if (plan.storage === 'local' && !plan.allowVolatile) {
      throw new PluginConfigError('storage', `is "local", which ${VOLATILE_QUOTA}`);
    }
    checkTimeZone(plan.quota.timeZone, 'quota.timeZone');
    limits.push(calendarQuota(`${name}-${PERIOD_IDS[plan.quota.period]}`, plan.quota.limit, plan.quota.period, plan.quota.timeZone));
  }
  if (limits.length === 0) throw new PluginConfigError('', 'limits nothing: give it a `throttle`, a `quota` or both');
  const id = `plan.${name}`;
  const policy = new Policy({
    id, source: 'usage-plan', limits, key: PLAN_KEY, store: storeFor(plan, scope, id),
    onStoreFailure: plan.onStoreFailure, headers: plan.headers,
  });
  const routes = plan.routes.length === 0 ? undefined : new Set(plan.routes);
  return { name, config: plan, policy, covers: (route) => routes === undefined || routes.has(route) };
}

/** Each subscribed consumer's plan, by consumer id. */
export function planSubscriptions(config: Config, consumers: ConsumerDirectory, plans: ReadonlyMap<string, CompiledPlan>): Map<string, CompiledPlan> {
  const out = new Map<string, CompiledPlan>();
  for (const [name, c] of Object.entries(config.consumers ?? {})) {
    const plan = c.plan === undefined ? undefined : plans.get(c.plan);
    const consumer = consumers.byName(name);
    if (plan !== undefined && consumer !== undefined) out.set(consumer.id, plan);
  }
  return out;
}

/** The throttle-phase handler of one route: the plan of the request's consumer, if it covers the route. */
export function planHandler(route: string, subscriptions: ReadonlyMap<string, CompiledPlan>): PluginHandlers | undefined {
  const here = new Map<string, CompiledPlan>();
  for (const [consumerId, plan] of subscriptions) if (plan.covers(route)) here.set(consumerId, plan);
  if (here.size === 0) return undefined;
  return {
    throttle(ctx) {
      const c = ctx.consumer;
      return c === undefined ? undefined : here.get(c.id)?.policy.check(ctx);
    },
  };
}

/** A plan as the admin API and the CLI show it. */
export function planView(plan: CompiledPlan, subscribers: readonly string[]) {
  const c = plan.config;
  return {
    name: plan.name,
    ...(c.description === undefined ? {} : { description: c.description }),
    throttle: c.throttle === undefined ? null : { rate: c.throttle.rate, burst: plan.policy.limits[0]!.spec.limit },
    quota: c.quota === undefined ? null : { limit: c.quota.limit, period: c.quota.period, timeZone: c.quota.timeZone },
    routes: c.routes.length === 0 ? 'all' : c.routes,
    storage: c.storage,
    onStoreFailure: c.onStoreFailure,
    subscribers,
  };
}

/** A consumer's current usage of its plan, consuming nothing (`GET /consumers/:name/usage`). */
export async function planUsage(plan: CompiledPlan, consumer: Consumer, now = limitClock.now()) {
  const states = await plan.policy.peek(consumerKey(consumer.id), now);
  const degraded = states.length > 0 ? degradation(states[0]!.state) : undefined;
  // Fail-open states are made up (everything left): no usage is better than a wrong one.
  if (degraded === 'fail-open') throw new StoreUnavailable('the store is unavailable (fail-open: nothing to report)');
  let throttle: Record<string, unknown> | null = null;
  let quota: Record<string, unknown> | null = null;
  for (const { limit, state, period } of states) {
    if (limit.kind === 'rate') {
      throttle = {
        rate: plan.config.throttle!.rate,
        burst: limit.spec.limit,
        remaining: state.remaining,
        // A peeked state is the state as if one more request came (then given back), so its reset counts it.
        fullInSeconds: ceilSeconds(Math.max(0, state.allowed ? state.resetMs - limit.spec.intervalMs : state.resetMs)),
      };
    } else {
      quota = {
        limit: limit.spec.limit,
        used: limit.spec.limit - state.remaining,
        remaining: state.remaining,
        period: limit.unit,
        timeZone: limit.timeZone,
        periodStart: new Date(period!.start).toISOString(),
        resetsAt: new Date(period!.end).toISOString(),
        resetInSeconds: ceilSeconds(period!.end - now),
      };
    }
  }
  // fallback-local: this process's own counts while Redis is down, not the shared ones.
  return { consumer: consumer.name, plan: plan.name, throttle, quota, ...(degraded === undefined ? {} : { degraded }) };
}
