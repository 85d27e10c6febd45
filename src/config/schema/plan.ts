import { Type, type Static } from '@sinclair/typebox';
import { Strict } from './common.ts';
import { AllowVolatile, Burst, LimitHeaders, Period, Rate, TimeZone, storageFields } from '../../limits/schema.ts';

export const PlanThrottle = Strict({
  rate: Rate('Steady rate per consumer (`10/s`, `600/m`; a number is per second).'),
  burst: Type.Optional(Burst),
}, { description: 'The plan\'s throttle: a token bucket per consumer, shared by every route the plan covers (AWS usage plan semantics).' });

export const PlanQuota = Strict({
  limit: Type.Integer({ minimum: 1, description: 'Requests per period, per consumer, over every route the plan covers.' }),
  period: Period,
  timeZone: TimeZone,
}, { description: 'The plan\'s quota: a calendar-period count per consumer.' });

export const PlanConfig = Strict({
  description: Type.Optional(Type.String({ description: 'What the plan is, for people (the admin API and `expeditor plans list` show it).' })),
  throttle: Type.Optional(PlanThrottle),
  quota: Type.Optional(PlanQuota),
  routes: Type.Array(Type.String({ minLength: 1 }), {
    default: [],
    description: 'Names of the routes the plan covers; empty: every route. On other routes its consumers are not limited by it.',
  }),
  ...storageFields,
  allowVolatile: AllowVolatile,
  headers: LimitHeaders,
}, { description: 'A usage plan: a throttle and a quota per consumer on the routes it covers. Consumers subscribe with `plan: NAME`.' });

export type PlanConfigT = Static<typeof PlanConfig>;
