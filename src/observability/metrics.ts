import type { Logger } from '../core/logger.ts';
import type { Runtime } from '../runtime/build.ts';

export type MetricType = 'counter' | 'gauge' | 'histogram';

export interface MetricSpec {
  readonly name: string;
  readonly type: MetricType;
  readonly labels: readonly string[];
  readonly help: string;
}

/**
 * Every metric the gateway serves (besides the process metrics, see process.ts). docs/observability.md lists each
 * with its type and labels; a test keeps the two in step. Label values are bounded: route, upstream and consumer
 * names come from the config, methods and status classes from fixed lists (series.ts), codes from core/errors.ts.
 */
export const METRICS = {
  httpRequests: {
    name: 'expeditor_http_requests_total', type: 'counter', labels: ['route', 'method', 'status_class'],
    help: 'Requests by route ("(none)": no route took it), method (OTHER: not a standard method) and status class ("none": the client left before any response).',
  },
  httpErrors: {
    name: 'expeditor_http_errors_total', type: 'counter', labels: ['route', 'code'],
    help: 'Requests that ended with a gateway error code (docs/errors.md), by route and code.',
  },
  httpDuration: {
    name: 'expeditor_http_request_duration_seconds', type: 'histogram', labels: ['route', 'method'],
    help: 'Total latency: from the request\'s arrival to the end of its response (WebSocket upgrades left out).',
  },
  upstreamDuration: {
    name: 'expeditor_upstream_duration_seconds', type: 'histogram', labels: ['route'],
    help: 'Integration latency: from sending the request upstream to the upstream\'s response headers (the last attempt), for requests an upstream answered.',
  },
  gatewayOverhead: {
    name: 'expeditor_gateway_overhead_seconds', type: 'histogram', labels: ['route'],
    help: 'Time in the gateway before the request went upstream (its first attempt): normalisation, routing, plugins, the concurrency-limit queue.',
  },
  requestBytes: {
    name: 'expeditor_http_request_bytes_total', type: 'counter', labels: ['route'],
    help: 'Request body bytes: Content-Length, or the bytes counted while a body without one streamed through.',
  },
  responseBytes: {
    name: 'expeditor_http_response_bytes_total', type: 'counter', labels: ['route'],
    help: 'Response body bytes written to clients: upstream bodies and the gateway\'s own replies.',
  },
  authFailures: {
    name: 'expeditor_auth_failures_total', type: 'counter', labels: ['route', 'outcome', 'auth_method'],
    help: 'Requests authentication refused, by outcome (absent, invalid, unavailable) and the first method that gave a reason ("(none)": no credential at all).',
  },
  consumerRequests: {
    name: 'expeditor_consumer_requests_total', type: 'counter', labels: ['consumer', 'status_class'],
    help: 'Requests of authenticated consumers (with metrics.consumerLabels), by consumer name ("(other)" past metrics.maxConsumers) and status class.',
  },
  rejectedRequests: {
    name: 'expeditor_server_rejected_requests_total', type: 'counter', labels: ['code'],
    help: 'Requests the server refused before routing them (malformed, headers too large, header timeout, unsupported Expect), by error code.',
  },
  openConnections: {
    name: 'expeditor_server_open_connections', type: 'gauge', labels: [],
    help: 'Client connections open on the proxy listener.',
  },
  targetHealthy: {
    name: 'expeditor_upstream_target_healthy', type: 'gauge', labels: ['upstream', 'target'],
    help: '1 when the target passes its active health checks and is not ejected by outlier detection, else 0.',
  },
  targetDraining: {
    name: 'expeditor_upstream_target_draining', type: 'gauge', labels: ['upstream', 'target'],
    help: '1 while an operator drains the target (no new requests), else 0.',
  },
  targetInflight: {
    name: 'expeditor_upstream_target_inflight', type: 'gauge', labels: ['upstream', 'target'],
    help: 'Requests sent to the target and not finished.',
  },
  targetRequests: {
    name: 'expeditor_upstream_target_requests_total', type: 'counter', labels: ['upstream', 'target'],
    help: 'Attempts sent to the target that got an answer or failed (retries count once each).',
  },
  targetFailures: {
    name: 'expeditor_upstream_target_failures_total', type: 'counter', labels: ['upstream', 'target'],
    help: 'Attempts on the target that failed: connection errors, timeouts, and statuses outlier detection counts as failures.',
  },
  upstreamQueued: {
    name: 'expeditor_upstream_queued_requests', type: 'gauge', labels: ['upstream'],
    help: 'Requests waiting for a slot of the upstream\'s concurrency limit (upstreams with limits only).',
  },
  upstreamLimit: {
    name: 'expeditor_upstream_concurrency_limit', type: 'gauge', labels: ['upstream'],
    help: 'The upstream\'s current concurrency limit (adaptive limits move; upstreams with limits only).',
  },
  configReloads: {
    name: 'expeditor_config_reloads_total', type: 'counter', labels: [],
    help: 'Configs applied since start (file change, SIGHUP, admin API); refused ones are not counted.',
  },
  buildInfo: {
    name: 'expeditor_build_info', type: 'gauge', labels: ['version', 'node'],
    help: 'Always 1; the labels say which Expeditor and Node.js versions run.',
  },
} as const satisfies Record<string, MetricSpec>;

/** What the gateway lends the metrics for scraping: its live state, read at scrape time only. */
export interface MetricsSource {
  readonly runtime: Runtime;
  readonly reloads: number;
  /** Client connections open on the proxy listener. */
  readonly openConnections: number;
  readonly logger: Logger;
}

/** A metric a collector adds at scrape time: a counter or gauge with its samples. */
export interface CollectedMetric {
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'gauge';
  readonly samples: ReadonlyArray<{ readonly labels: Readonly<Record<string, string>>; readonly value: number }>;
}

/** Called on every scrape of every gateway in the process; it must be quick and must keep its labels bounded. */
export type MetricsCollector = (source: MetricsSource) => Iterable<CollectedMetric>;

const collectors = new Set<MetricsCollector>();

/** The registered collectors, in registration order (read by each scrape). */
export function metricsCollectors(): Iterable<MetricsCollector> {
  return collectors;
}

/**
 * Adds metrics that other parts of the gateway count themselves, read at scrape time: the place for rate-limit and
 * quota decisions (src/limits/stats.ts), cache hits, function invocations. Returns the function that removes it.
 * A collector that throws, or names a metric already served, is logged and left out of that scrape.
 */
export function registerCollector(collector: MetricsCollector): () => void {
  collectors.add(collector);
  return () => collectors.delete(collector);
}
