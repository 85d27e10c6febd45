import { Type, type Static } from '@sinclair/typebox';
import { Strict } from '../../config/schema/common.ts';
import { AllowVolatile, By, LimitHeaders, LimitId, Period, TimeZone, WhenMissing, storageFields } from '../../limits/schema.ts';

export const QuotaConfig = Strict({
  id: Type.Optional(LimitId),
  limit: Type.Integer({ minimum: 1, description: 'Requests allowed per period.' }),
  period: Period,
  timeZone: TimeZone,
  by: By('consumer'),
  whenMissing: WhenMissing,
  groups: Type.Record(Type.String({ minLength: 1 }), Strict({
    limit: Type.Integer({ minimum: 1, description: 'Requests allowed per period for this group.' }),
    period: Type.Optional(Period),
  }, { description: 'The quota for one consumer group.' }), {
    default: {},
    description: 'Other quotas for consumers in these groups (`gold: { limit: 100000 }`); a consumer in several gets the first listed. Each group has its own counters.',
  }),
  ...storageFields,
  allowVolatile: AllowVolatile,
  headers: LimitHeaders,
}, { description: 'A quota: N requests per day, week or month (calendar periods in a time zone), kept in Redis so it survives restarts; answers 429 `quota_exceeded`.' });

export type QuotaConfigT = Static<typeof QuotaConfig>;
