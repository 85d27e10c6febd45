import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { Duration, Strict } from '../config/schema/common.ts';

/**
 * Config pieces shared by the `rate-limit` and `quota` plugins and the root `plans` section, so a rate, a key or a
 * storage setting is written (and validated, and documented) the same way everywhere.
 */

export const RATE_PATTERN = '^\\s*(\\d+(?:\\.\\d+)?)\\s*/\\s*(\\d+(?:\\.\\d+)?)?\\s*(ms|s|m|h|d)\\s*$';

const RATE_RE = new RegExp(RATE_PATTERN);
const RATE_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Milliseconds per request for a rate (`10/s` → 100, `5/10s` → 2000; a number is per second). */
export function rateIntervalMs(rate: string | number): number {
  if (typeof rate === 'number') return 1000 / rate;
  const m = RATE_RE.exec(rate);
  if (m === null) throw new TypeError(`invalid rate "${rate}"`);
  const count = Number(m[1]);
  const per = Number(m[2] ?? 1) * RATE_UNITS[m[3]!]!;
  if (!(count > 0) || !(per > 0)) throw new TypeError(`invalid rate "${rate}": both numbers must be above 0`);
  return per / count;
}

export const Rate = (description: string) => Type.Union([
  Type.String({ pattern: RATE_PATTERN }),
  Type.Number({ exclusiveMinimum: 0 }),
], {
  description,
  errorMessage: 'must be a rate such as "10/s", "600/m", "5/10s" or a number of requests per second',
});

export const LimitId = Type.String({
  pattern: '^[A-Za-z0-9_.-]{1,64}$',
  description: 'The limit\'s name in the `RateLimit-Policy` and `RateLimit` headers and in its storage key. Defaults: `burst` (token bucket), `window` (sliding window), `daily`/`weekly`/`monthly` (quota).',
  errorMessage: 'must be 1 to 64 letters, digits, "_", "." or "-"',
});

export const Burst = Type.Integer({
  minimum: 1,
  description: 'Bucket capacity: how many requests may arrive at once after a quiet spell. Default: one second\'s worth of `rate` (at least 1).',
});

export const TokenBucketLimit = Strict({
  id: Type.Optional(LimitId),
  rate: Rate('Steady rate: requests earned back per unit of time (`10/s`, `600/m`, `5/10s`; a number is per second).'),
  burst: Type.Optional(Burst),
}, { description: 'A token bucket (GCRA): up to `burst` requests at once, then `rate` on average, as AWS API Gateway throttles.' });

export const SlidingWindowLimit = Strict({
  id: Type.Optional(LimitId),
  requests: Type.Integer({ minimum: 1, description: 'Requests allowed per window.' }),
  window: Duration('The window (`1s`, `10s`, `1h`…).'),
}, { description: 'A sliding-window counter: at most `requests` in any `window`-long span (estimated from two fixed windows).' });

export const RateLimitSpec = Type.Union([TokenBucketLimit, SlidingWindowLimit], {
  description: 'One limit: `{ rate, burst }` (token bucket) or `{ requests, window }` (sliding window).',
  errorMessage: 'must be { rate, burst? } (token bucket) or { requests, window } (sliding window), with an optional id',
});

export const KEY_PART_PATTERN = '^(global|route|consumer|group|credential|ip|header:[A-Za-z0-9!#$%&\'*+.^_`|~-]+)$';

const KeyPart = Type.String({
  pattern: KEY_PART_PATTERN,
  errorMessage: 'must be global, route, consumer, group, credential, ip or header:<name>',
});

export const By = (def: string) => Type.Union([KeyPart, Type.Array(KeyPart, { minItems: 1 })], {
  default: def,
  description: 'Who shares a budget: `global` (everyone), `route`, `consumer`, `group` (the consumer\'s group), `credential` (the API key or other credential used), `ip` (the client address, after `server.trustedProxies`), `header:<name>`, or a list of these (each combination its own budget).',
  errorMessage: 'must be global, route, consumer, group, credential, ip, header:<name>, or a list of them',
});

export const WhenMissing = Type.Union([Type.Literal('ip'), Type.Literal('shared'), Type.Literal('skip')], {
  default: 'ip',
  description: 'A request without a value for a part of `by` (no consumer on a route that lets anonymous requests in, no such header): `ip` counts it by client address instead, `shared` puts all such requests in one budget, `skip` does not limit it.',
});

export const Storage = Type.Union([Type.Literal('local'), Type.Literal('redis')], {
  default: 'local',
  description: '`local`: counters in this process (exact, no I/O; each gateway process counts on its own). `redis`: counters in the root `redis` section\'s Redis, shared by every process and node.',
});

export const OnStoreFailure = Type.Union([Type.Literal('fail-open'), Type.Literal('fail-closed'), Type.Literal('fallback-local')], {
  default: 'fail-open',
  description: 'When Redis does not answer within `redis.timeout`: `fail-open` lets requests through, `fail-closed` refuses them (503 `rate_limit_unavailable`), `fallback-local` counts them in this process at `fallbackShare` of each limit until Redis is back.',
});

export const FallbackShare = Type.Number({
  exclusiveMinimum: 0,
  maximum: 1,
  default: 1,
  description: 'With `fallback-local`: the share of each limit one process allows while Redis is down. With N gateway processes, 1/N keeps the total near the limit.',
});

export const LimitHeaders = Strict({
  draft: Type.Boolean({ default: true, description: 'Send `RateLimit-Policy` and `RateLimit` (IETF httpapi draft).' }),
  legacy: Type.Boolean({ default: false, description: 'Also send `X-RateLimit-Limit`, `X-RateLimit-Remaining` and `X-RateLimit-Reset` (seconds) of the most restrictive limit.' }),
}, { default: {}, description: 'Rate-limit headers on responses (answers from the upstream and refusals alike).' });

export const Period = Type.Union([Type.Literal('day'), Type.Literal('week'), Type.Literal('month')], {
  description: 'The calendar period: `day`, `week` (from Monday) or `month`; it resets at midnight in `timeZone`.',
});

export const TimeZone = Type.String({
  minLength: 1,
  default: 'UTC',
  description: 'IANA time zone in which periods start (`UTC`, `Europe/Paris`, `America/New_York`).',
});

export const AllowVolatile = Type.Boolean({
  default: false,
  description: 'Allow a quota on `storage: local`. Local counters are lost when the gateway restarts and are counted per process, so a quota on them is refused unless this is true.',
});

/** Why a quota on `storage: local` is refused without `allowVolatile` (after: `is "local", which …`). */
export const VOLATILE_QUOTA = 'keeps quota counters in this process only (lost on restart, counted per process): use `storage: redis`, or set `allowVolatile: true` to accept that';

/** The storage fields every policy has. */
export const storageFields = {
  storage: Storage,
  onStoreFailure: OnStoreFailure,
  fallbackShare: FallbackShare,
};

export type RateLimitSpecT = Static<typeof RateLimitSpec>;
export type ByT = Static<ReturnType<typeof By>>;
export type WhenMissingT = Static<typeof WhenMissing>;
export type StorageT = Static<typeof Storage>;
export type OnStoreFailureT = Static<typeof OnStoreFailure>;
export type LimitHeadersT = Static<typeof LimitHeaders>;
export type PeriodT = Static<typeof Period>;

/** A schema with its description replaced (the shared pieces read better with the field's own wording). */
export function described<T extends TSchema>(schema: T, description: string): T {
  return { ...schema, description };
}
