import { Type } from '@sinclair/typebox';
import { Duration, Size, Strict } from './common.ts';

export const TimeoutsConfig = Strict({
  connect: Duration('Time to establish the upstream connection (TCP and TLS).', '5s'),
  response: Duration('Time from sending the request to receiving the response headers.', '30s'),
  idle: Duration('Longest gap between two chunks of the response body.', '30s'),
  total: Duration('Whole exchange, from dispatch to the last byte of the response. 0 disables.', '0ms'),
}, { description: 'Upstream timeouts. A timeout answers 504 `upstream_timeout` when no response has started; later, the client connection is cut.' });

export const TargetConfig = Strict({
  url: Type.String({
    pattern: '^https?://[^/?#]+/?$',
    description: 'Origin of the target: `http(s)://host:port`, no path.',
    errorMessage: 'must be an origin such as "http://10.0.0.5:8080" (scheme, host and port; no path)',
  }),
  weight: Type.Integer({ minimum: 0, maximum: 1000, default: 1, description: 'Relative share of requests. 0 takes none.' }),
  zone: Type.Optional(Type.String({ description: 'Zone or rack of the target, shown in the admin API.' })),
  tags: Type.Optional(Type.Array(Type.String(), { description: 'Free-form labels, shown in the admin API.' })),
}, { description: 'One server of the pool.' });

export const DnsDiscoveryConfig = Strict({
  name: Type.String({ minLength: 1, description: 'DNS name to resolve; every address (or SRV record) becomes a target.' }),
  type: Type.Union([Type.Literal('A'), Type.Literal('AAAA'), Type.Literal('SRV')], { default: 'A', description: 'Record type. SRV records carry their own port and weight.' }),
  port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535, description: 'Port of the targets (A/AAAA; required there).' })),
  scheme: Type.Union([Type.Literal('http'), Type.Literal('https')], { default: 'http', description: 'Scheme the targets speak.' }),
  weight: Type.Integer({ minimum: 0, maximum: 1000, default: 1, description: 'Weight of each resolved target (A/AAAA).' }),
  resolver: Type.Optional(Type.String({ description: 'DNS server as an IP address with an optional port (`10.0.0.2`, `10.0.0.2:53`, `[::1]:53`); defaults to the system resolvers.' })),
  minTtl: Duration('Shortest re-resolution interval, whatever the records\' TTL says; SRV names (which carry no TTL in Node\'s resolver) are re-resolved at this interval.', '1s'),
  maxTtl: Duration('Longest re-resolution interval.', '300s'),
}, { description: 'Targets discovered through DNS, re-resolved when their TTL expires. Membership changes never drop requests in flight.' });

export const ActiveHealthConfig = Strict({
  path: Type.String({ pattern: '^/', default: '/health', description: 'Path probed on each target.' }),
  method: Type.String({ pattern: '^[A-Z]+$', default: 'GET', description: 'Method of the probe.' }),
  interval: Duration('Time between the starts of two probes of one target (at least 100ms).', '5s'),
  timeout: Duration('A probe without an answer within this time fails (connect, headers and body together).', '2s'),
  statuses: Type.Array(Type.Integer({ minimum: 100, maximum: 599 }), { default: [], description: 'Statuses that count as healthy; empty: any 2xx or 3xx.' }),
  healthyThreshold: Type.Integer({ minimum: 1, default: 2, description: 'Consecutive successes that bring an unhealthy target back.' }),
  unhealthyThreshold: Type.Integer({ minimum: 1, default: 2, description: 'Consecutive failures that take a healthy target out.' }),
  headers: Type.Optional(Type.Record(Type.String(), Type.String(), { description: 'Extra request headers of the probe (e.g. Host).' })),
}, { description: 'Active health checks: each target is probed on its own schedule.' });

export const PassiveHealthConfig = Strict({
  consecutiveFailures: Type.Integer({ minimum: 1, default: 5, description: 'Consecutive failures (connection errors, timeouts, 5xx) that eject a target.' }),
  baseEjectionTime: Duration('Ejection time of a first ejection; each further ejection multiplies it (1×, 2×, 3×…).', '5s'),
  maxEjectionTime: Duration('Longest ejection.', '300s'),
  maxEjectedPercent: Type.Integer({ minimum: 0, maximum: 100, default: 50, description: 'Largest share of the pool that may be ejected at once; an ejection that would pass it does not happen (so a pool of one target at 50% is never ejected; use 100 to allow every target out and let `whenAllDown` decide).' }),
  statuses: Type.Array(Type.Integer({ minimum: 100, maximum: 599 }), { default: [500, 502, 503, 504], description: 'Upstream statuses counted as failures.' }),
}, { description: 'Passive outlier detection: targets that keep failing real requests are ejected for a growing back-off.' });

export const HealthConfig = Strict({
  active: Type.Optional(ActiveHealthConfig),
  passive: Type.Optional(PassiveHealthConfig),
}, { description: 'Health checking of the targets.' });

export const RetryConfig = Strict({
  attempts: Type.Integer({ minimum: 1, maximum: 10, default: 1, description: 'Tries in all, the first included (1: no retry).' }),
  on: Type.Array(Type.Union([Type.Literal('connect-failure'), Type.Literal('reset'), Type.Literal('timeout')]), {
    default: ['connect-failure', 'reset'],
    description: 'Failures that are retried: `connect-failure` (refused, unreachable, connect timeout), `reset` (connection closed before a response), `timeout` (no response headers in time).',
  }),
  statuses: Type.Array(Type.Integer({ minimum: 100, maximum: 599 }), { default: [502, 503, 504], description: 'Upstream statuses that are retried.' }),
  nonIdempotent: Type.Boolean({ default: false, description: 'Also retry POST, PATCH and other non-idempotent methods (only when their body is replayable).' }),
  backoff: Strict({
    base: Duration('Wait before the first retry; doubles each retry, with full jitter.', '25ms'),
    max: Duration('Longest wait between two tries.', '250ms'),
  }, { default: {}, description: 'Exponential back-off with jitter between tries.' }),
  budgetPercent: Type.Integer({ minimum: 0, maximum: 100, default: 20, description: 'Retries in flight may be at most this share of the requests in flight to the upstream, so an outage can\'t multiply the load.' }),
  minRetriesInFlight: Type.Integer({ minimum: 0, default: 3, description: 'Retries always allowed in flight, whatever the budget (for quiet upstreams).' }),
  maxBufferedBody: Size('Request bodies up to this size are buffered so they can be replayed; a larger body is streamed and never retried once sent.', '64kb'),
}, { description: 'Retry policy. A retry always goes to another target when there is one.' });

export const LimitsConfig = Strict({
  maxConcurrent: Type.Integer({ minimum: 0, default: 0, description: 'Requests in flight to the upstream at most (0: no limit). Further requests wait in a FIFO queue.' }),
  maxQueued: Type.Integer({ minimum: 0, default: 1000, description: 'Requests waiting at most; beyond it, 503 `upstream_overloaded` with Retry-After.' }),
  queueTimeout: Duration('Longest wait in the queue; then 503 `upstream_overloaded` with Retry-After.', '5s'),
  adaptive: Type.Optional(Strict({
    min: Type.Integer({ minimum: 1, default: 1, description: 'Lowest concurrency limit.' }),
    max: Type.Integer({ minimum: 1, default: 1000, description: 'Highest concurrency limit.' }),
    latencyTolerance: Type.Number({ minimum: 1, default: 2, description: 'The limit shrinks when latency exceeds this multiple of the best recent latency.' }),
  }, { description: 'Adaptive concurrency (AIMD on measured latency): the limit grows by one per successful window and halves when latency or errors rise. `maxConcurrent` is its starting value.' })),
}, { description: 'Overload protection: concurrency limit, FIFO queue and queue timeout.' });

export const UpstreamConfig = Strict({
  targets: Type.Array(TargetConfig, { default: [], description: 'The static servers of this pool.' }),
  discovery: Type.Optional(Strict({ dns: Type.Array(DnsDiscoveryConfig, { minItems: 1, description: 'DNS names to resolve into targets.' }) }, { description: 'Targets found at run time.' })),
  balancer: Type.Union([Type.Literal('round-robin'), Type.Literal('least-requests'), Type.Literal('ewma'), Type.Literal('consistent-hash')], {
    default: 'round-robin',
    description: '`round-robin` (smooth weighted), `least-requests` (fewest in flight, weighted), `ewma` (power of two choices on latency), `consistent-hash` (see `hashOn`).',
  }),
  hashOn: Type.Optional(Strict({
    source: Type.Union([Type.Literal('header'), Type.Literal('cookie'), Type.Literal('ip'), Type.Literal('path'), Type.Literal('consumer')], { description: 'What the key is taken from.' }),
    name: Type.Optional(Type.String({ description: 'Header or cookie name (for `header` and `cookie`).' })),
  }, { description: 'Key of the `consistent-hash` balancer. Requests without the key are spread by round-robin.' })),
  health: Type.Optional(HealthConfig),
  whenAllDown: Type.Union([Type.Literal('fail'), Type.Literal('panic')], {
    default: 'fail',
    description: 'With no available target: `fail` answers 503 `no_healthy_upstream` with Retry-After; `panic` spreads requests over every target as if all were healthy.',
  }),
  retries: Type.Optional(RetryConfig),
  limits: Type.Optional(LimitsConfig),
  timeouts: Type.Optional(TimeoutsConfig),
  connections: Type.Integer({ minimum: 1, maximum: 10000, default: 128, description: 'Most keep-alive connections to each target.' }),
  keepAliveTimeout: Duration('Idle time after which a pooled upstream connection is closed.', '4s'),
  pipelining: Type.Integer({ minimum: 1, maximum: 100, default: 1, description: 'Requests in flight on one upstream connection (HTTP/1.1 pipelining; 1 disables).' }),
}, { description: 'A named pool of targets with keep-alive connections, a balancer, health checking, retries and overload protection.' });
