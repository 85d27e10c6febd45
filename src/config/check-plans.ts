import type { Config } from './schema/index.ts';
import { NAME_PATTERN } from './schema/common.ts';
import type { At } from './check-identity.ts';
import { closest } from './suggest.ts';
import { validTimeZone } from '../limits/periods.ts';
import { VOLATILE_QUOTA, rateIntervalMs } from '../limits/schema.ts';

const NAME_RE = new RegExp(NAME_PATTERN);

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Usage-plan checks the schema cannot express: plan names, what each plan limits and where its counters live,
 * the routes it names, and the plans consumers subscribe to. Runs on values the schema may have refused, so every
 * read is guarded.
 */
export function checkPlans(config: Config, at: At): void {
  const plans = isObject(config.plans) ? config.plans : {};
  const routeNames = (Array.isArray(config.routes) ? config.routes : []).flatMap((r) => (isObject(r) && typeof r.name === 'string' ? [r.name] : []));
  const routeSet = new Set(routeNames);
  const hasRedis = isObject(config.redis);
  for (const [name, plan] of Object.entries(plans)) {
    const path = ['plans', name];
    if (!NAME_RE.test(name)) at(path, `invalid plan name "${name}": use letters, digits, "_", "." and "-", starting with a letter or digit`);
    if (!isObject(plan)) continue;
    if (plan.throttle === undefined && plan.quota === undefined) at(path, 'limits nothing: give it a `throttle`, a `quota` or both');
    const throttle = plan.throttle;
    if (isObject(throttle) && (typeof throttle.rate === 'string' || typeof throttle.rate === 'number')) {
      try {
        if (rateIntervalMs(throttle.rate) < 0.001) at([...path, 'throttle', 'rate'], 'is more than 1,000,000 requests per second');
      } catch (err) {
        at([...path, 'throttle', 'rate'], (err as Error).message);
      }
    }
    const quota = plan.quota;
    if (isObject(quota) && typeof quota.timeZone === 'string' && !validTimeZone(quota.timeZone)) {
      at([...path, 'quota', 'timeZone'], `unknown time zone "${quota.timeZone}": use an IANA name such as "UTC", "Europe/Paris" or "America/New_York"`);
    }
    if (plan.storage === 'redis' && !hasRedis) {
      at([...path, 'storage'], 'is "redis" but the config has no root `redis` section: add one (`redis: { url: "redis://127.0.0.1:6379" }`), or use `storage: local`');
    }
    if (quota !== undefined && plan.storage !== 'redis' && plan.allowVolatile !== true) {
      at([...path, 'storage'], `is "local", which keeps quota counters in this process only (lost on restart, counted per process): use \`storage: redis\`, or set \`allowVolatile: true\` to accept that`);
    }
    const routes = Array.isArray(plan.routes) ? plan.routes : [];
    const seen = new Set<string>();
    routes.forEach((r: unknown, i) => {
      if (typeof r !== 'string') return;
      if (seen.has(r)) at([...path, 'routes', i], `route "${r}" is listed twice`);
      seen.add(r);
      if (!routeSet.has(r)) {
        const hint = closest(r, routeNames);
        at([...path, 'routes', i], `unknown route "${r}"${hint ? ` (did you mean "${hint}"?)` : ''}`);
      }
    });
  }
  const consumers = isObject(config.consumers) ? config.consumers : {};
  for (const [name, c] of Object.entries(consumers)) {
    if (!isObject(c) || typeof c.plan !== 'string') continue;
    if (!Object.hasOwn(plans, c.plan)) {
      const hint = closest(c.plan, Object.keys(plans));
      at(['consumers', name, 'plan'], `unknown plan "${c.plan}"${hint ? ` (did you mean "${hint}"?)` : Object.keys(plans).length === 0 ? ' (the config has no `plans`)' : ''}`);
    }
  }
}
