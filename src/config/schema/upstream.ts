import { Type } from '@sinclair/typebox';
import { Duration, Strict } from './common.ts';

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
}, { description: 'One server of the pool.' });

export const UpstreamConfig = Strict({
  targets: Type.Array(TargetConfig, { minItems: 1, description: 'The servers of this pool.' }),
  timeouts: Type.Optional(TimeoutsConfig),
  connections: Type.Integer({ minimum: 1, maximum: 10000, default: 128, description: 'Most keep-alive connections to each target.' }),
  keepAliveTimeout: Duration('Idle time after which a pooled upstream connection is closed.', '4s'),
  pipelining: Type.Integer({ minimum: 1, maximum: 100, default: 1, description: 'Requests in flight on one upstream connection (HTTP/1.1 pipelining; 1 disables).' }),
}, { description: 'A named pool of targets with keep-alive connections.' });
