import { Type, type Static } from '@sinclair/typebox';
import { Strict } from './common.ts';

/** prom-client's default buckets: request and upstream durations, from 5 ms to 10 s. */
export const DEFAULT_LATENCY_BUCKETS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** The gateway's own time is counted in tenths of milliseconds, not seconds: finer buckets, from 100 µs to 100 ms. */
export const DEFAULT_OVERHEAD_BUCKETS: readonly number[] = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1];

const Buckets = (description: string, def: readonly number[]) => Type.Array(Type.Number({ exclusiveMinimum: 0, errorMessage: 'must be a number of seconds above 0' }), {
  minItems: 1,
  maxItems: 40,
  default: [...def],
  description: `${description} Upper bounds in seconds, in any order (they are sorted, repeats dropped); \`+Inf\` is always added.`,
});

export const MetricsConfig = Strict({
  enabled: Type.Boolean({
    default: true,
    description: 'Count every request for Prometheus, served by the admin API at `GET /metrics`. `false`: no per-request work at all, and `GET /metrics` answers 404.',
  }),
  consumerLabels: Type.Boolean({
    default: false,
    description: 'Also count requests per consumer (`expeditor_consumer_requests_total{consumer}`). Off by default: every consumer is a series.',
  }),
  maxConsumers: Type.Integer({
    minimum: 1,
    maximum: 10000,
    default: 100,
    description: 'With `consumerLabels`, the most consumers that get a series of their own (the first seen); the requests of any other consumer are counted as `(other)`.',
  }),
  latencyBuckets: Buckets('Buckets of `expeditor_http_request_duration_seconds` and `expeditor_upstream_duration_seconds`.', DEFAULT_LATENCY_BUCKETS),
  overheadBuckets: Buckets('Buckets of `expeditor_gateway_overhead_seconds`.', DEFAULT_OVERHEAD_BUCKETS),
  process: Type.Boolean({
    default: true,
    description: 'Also serve the process metrics: CPU, resident memory, heap, event-loop lag, garbage collection, open handles (prom-client\'s defaults, prefixed `expeditor_`).',
  }),
}, {
  description: 'Prometheus metrics, served by the admin API at `GET /metrics` (see docs/observability.md). Reloads live; counts survive reloads, except that changing a histogram\'s buckets starts that histogram again.',
});

export type MetricsConfigT = Static<typeof MetricsConfig>;
