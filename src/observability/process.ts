import { Registry, collectDefaultMetrics } from 'prom-client';

/** Prefix of the process metrics: `expeditor_process_resident_memory_bytes`, `expeditor_nodejs_eventloop_lag_seconds`… */
export const PROCESS_PREFIX = 'expeditor_';

let registry: Registry | undefined;

/**
 * The process metrics (prom-client's defaults): CPU, resident memory, heap and heap spaces, event-loop lag
 * (perf_hooks' event-loop delay histogram, sampled every 10 ms), garbage collection, active handles, open file
 * descriptors. One registry per process, made at the first scrape: they describe the process, however many
 * gateways it runs (tests run many), and the event-loop monitor they start then runs for the process's life.
 */
export function processRegistry(): Registry {
  if (registry === undefined) {
    registry = new Registry();
    collectDefaultMetrics({ register: registry, prefix: PROCESS_PREFIX });
  }
  return registry;
}

/** The names of the process metrics, for docs and tests. */
export function processMetricNames(): string[] {
  return processRegistry().getMetricsAsArray().map((m) => m.name);
}
