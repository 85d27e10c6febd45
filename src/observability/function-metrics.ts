import { registerCollector, type CollectedMetric } from './metrics.ts';
import type { FunctionStats } from '../functions/types.ts';

/** Metric names served for functions (docs/observability.md lists them). */
export const FUNCTION_METRICS = {
  invocations: 'expeditor_function_invocations_total',
  errors: 'expeditor_function_errors_total',
  throttles: 'expeditor_function_throttles_total',
  timeouts: 'expeditor_function_timeouts_total',
  coldStarts: 'expeditor_function_cold_starts_total',
  duration: 'expeditor_function_duration_seconds_total',
  initDuration: 'expeditor_function_init_duration_seconds_total',
  sandboxes: 'expeditor_function_sandboxes',
  queued: 'expeditor_function_queued_invocations',
} as const;

const counter = (name: string, help: string, all: readonly FunctionStats[], value: (s: FunctionStats) => number): CollectedMetric => ({
  name, help, type: 'counter', samples: all.map((s) => ({ labels: { function: s.name }, value: value(s) })),
});

/**
 * Functions count their own invocations (FunctionStats); read at scrape time, so the request path pays nothing
 * here. Labels: function names from the config, sandbox states from a fixed list.
 */
registerCollector((source) => {
  // A runtime without functions (or a test's stand-in without the map) has nothing to report.
  const functions = source.runtime.functions as ReadonlyMap<string, { invoker: { stats(): FunctionStats } }> | undefined;
  if (functions === undefined || functions.size === 0) return [];
  const all = [...functions.values()].map((f) => f.invoker.stats());
  return [
    counter(FUNCTION_METRICS.invocations, 'Function invocations (routes, the Invoke API, authorizers), by function.', all, (s) => s.invocations),
    counter(FUNCTION_METRICS.errors, 'Invocations that ended in a function error (thrown, crashed, exited, out of memory, timed out).', all, (s) => s.errors),
    counter(FUNCTION_METRICS.throttles, 'Invocations refused because every sandbox was busy and the queue full, or the queue wait timed out.', all, (s) => s.throttles),
    counter(FUNCTION_METRICS.timeouts, 'Invocations that ran past the function\'s timeout (the sandbox was stopped).', all, (s) => s.timeouts),
    counter(FUNCTION_METRICS.coldStarts, 'Invocations that started a new sandbox.', all, (s) => s.coldStarts),
    counter(FUNCTION_METRICS.duration, 'Seconds spent running invocations (divide by invocations for the mean).', all, (s) => s.durationMsTotal / 1000),
    counter(FUNCTION_METRICS.initDuration, 'Seconds spent starting sandboxes (divide by cold starts for the mean).', all, (s) => s.initDurationMsTotal / 1000),
    {
      name: FUNCTION_METRICS.sandboxes,
      help: 'Sandboxes of each function by state: starting, warm (idle), busy (running an invocation).',
      type: 'gauge',
      samples: all.flatMap((s) => [
        { labels: { function: s.name, state: 'starting' }, value: s.sandboxes.starting },
        { labels: { function: s.name, state: 'warm' }, value: s.sandboxes.warm },
        { labels: { function: s.name, state: 'busy' }, value: s.sandboxes.busy },
      ]),
    },
    { name: FUNCTION_METRICS.queued, help: 'Invocations waiting for a sandbox.', type: 'gauge', samples: all.map((s) => ({ labels: { function: s.name }, value: s.queued })) },
  ];
});
