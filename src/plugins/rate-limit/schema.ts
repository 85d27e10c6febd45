import { Type, type Static } from '@sinclair/typebox';
import { Strict } from '../../config/schema/common.ts';
import { By, LimitHeaders, RateLimitSpec, WhenMissing, storageFields } from '../../limits/schema.ts';

const Limits = (description: string) => Type.Array(RateLimitSpec, { minItems: 1, description });

export const RateLimitConfig = Strict({
  limits: Limits('The limits, all enforced: a request passes only if every one allows it, and a refused request uses up none of them. Each is `{ rate, burst }` (token bucket: `rate` such as `10/s`, `600/m`, `5/10s`; `burst` the bucket size) or `{ requests, window }` (sliding window), with an optional `id` (default `burst` or `window`).'),
  by: By('consumer'),
  whenMissing: WhenMissing,
  groups: Type.Record(Type.String({ minLength: 1 }), Strict({
    limits: Limits('The limits for consumers of this group, instead of `limits`.'),
  }, { description: 'Limits for one consumer group.' }), {
    default: {},
    description: 'Other limits for consumers in these groups (`gold: { limits: [...] }`); a consumer in several gets the first listed. Each group has its own counters.',
  }),
  ...storageFields,
  headers: LimitHeaders,
}, { description: 'Limits request rates: token buckets (rate and burst) and sliding windows, per consumer, API key, client address, header or any mix.' });

export type RateLimitConfigT = Static<typeof RateLimitConfig>;
