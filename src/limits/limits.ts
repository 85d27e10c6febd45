import { PluginConfigError } from '../core/plugin.ts';
import { parseDuration } from '../config/units.ts';
import { validTimeZone, type PeriodUnit } from './periods.ts';
import { rateIntervalMs, type RateLimitSpecT } from './schema.ts';
import type { LimitSpec } from './types.ts';

/**
 * Limits as policies use them: the algorithm's spec plus what people and reports need (its kind, period, words),
 * compiled once from config. Throws PluginConfigError (paths relative to the plugin config) for what the schema
 * cannot refuse.
 */

export type LimitKind = 'rate' | 'quota';

export interface CompiledLimit {
  readonly spec: LimitSpec;
  readonly kind: LimitKind;
  /** Quotas: the calendar period and its zone. */
  readonly unit?: PeriodUnit;
  readonly timeZone?: string;
  /** People's words for it: `20 at once, 10/s`, `1000 per 1h`, `10000 per month`. */
  readonly description: string;
  /** Requests per second (token bucket), for usage reports. */
  readonly ratePerSecond?: number;
}

export function tokenBucket(id: string, rate: string | number, burst?: number): CompiledLimit {
  const intervalMs = rateIntervalMs(rate);
  const perSecond = 1000 / intervalMs;
  const capacity = burst ?? Math.max(1, Math.ceil(perSecond - 1e-9));
  return {
    spec: { id, algorithm: 'token-bucket', limit: capacity, intervalMs },
    kind: 'rate',
    description: `${capacity} at once, then ${typeof rate === 'number' ? `${rate}/s` : rate.replace(/\s+/g, '')}`,
    ratePerSecond: perSecond,
  };
}

export function slidingWindow(id: string, requests: number, window: string | number): CompiledLimit {
  const intervalMs = parseDuration(window);
  return {
    spec: { id, algorithm: 'sliding-window', limit: requests, intervalMs },
    kind: 'rate',
    description: `${requests} per ${typeof window === 'number' ? `${window}ms` : window.replace(/\s+/g, '')}`,
  };
}

export function calendarQuota(id: string, limit: number, unit: PeriodUnit, timeZone: string): CompiledLimit {
  return {
    spec: { id, algorithm: 'calendar', limit, intervalMs: 0 },
    kind: 'quota',
    unit,
    timeZone,
    description: `${limit} per ${unit}${timeZone === 'UTC' ? '' : ` (${timeZone})`}`,
  };
}

export const PERIOD_IDS: Record<PeriodUnit, string> = { day: 'daily', week: 'weekly', month: 'monthly' };

/**
 * The limits of a `limits:` list, with default ids; throws PluginConfigError (path relative to the plugin config)
 * for a rate that means nothing, a window under 1 ms, or two limits with one id.
 */
export function compileRateLimits(list: readonly RateLimitSpecT[], path: string): CompiledLimit[] {
  const ids = new Map<string, number>();
  return list.map((l, i) => {
    const at = `${path}[${i}]`;
    let limit: CompiledLimit;
    if ('rate' in l) {
      let interval: number;
      try {
        interval = rateIntervalMs(l.rate);
      } catch (err) {
        throw new PluginConfigError(`${at}.rate`, (err as Error).message);
      }
      if (!Number.isFinite(interval) || interval < 0.001) throw new PluginConfigError(`${at}.rate`, 'is more than 1,000,000 requests per second');
      limit = tokenBucket(l.id ?? 'burst', l.rate, l.burst);
    } else {
      if (parseDuration(l.window) < 1) throw new PluginConfigError(`${at}.window`, 'must be at least 1ms');
      limit = slidingWindow(l.id ?? 'window', l.requests, l.window);
    }
    const prev = ids.get(limit.spec.id);
    if (prev !== undefined) {
      throw new PluginConfigError(l.id === undefined ? at : `${at}.id`, `limit id "${limit.spec.id}" is also ${path}[${prev}]'s: give each limit its own \`id\``);
    }
    ids.set(limit.spec.id, i);
    return limit;
  });
}

export function checkTimeZone(timeZone: string, path: string): void {
  if (!validTimeZone(timeZone)) throw new PluginConfigError(path, `unknown time zone "${timeZone}": use an IANA name such as "UTC", "Europe/Paris" or "America/New_York"`);
}
