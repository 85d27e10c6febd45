import { Type } from '@sinclair/typebox';
import { Duration, Name, PathString, Size, Strict } from './common.ts';
import { RetryConfig } from './upstream.ts';

const ValueMatch = Type.Union([
  Type.String({ description: 'Exact value.' }),
  Strict({ regex: Type.String({ description: 'Regular expression the value must match.' }) }),
  Strict({ present: Type.Boolean({ description: 'true: must be present, with any value; false: must be absent.' }) }),
], { errorMessage: 'must be a string, { regex: "…" } or { present: true|false }' });

const Method = Type.String({ pattern: '^[A-Z]+$', description: 'HTTP method in upper case.', errorMessage: 'must be an HTTP method in upper case, such as "GET"' });

export const MatchConfig = Strict({
  path: Type.Union([PathString(), Type.Array(PathString(), { minItems: 1 })], {
    description: 'Path pattern(s): static (`/menu`), parameters (`/orders/:id`) and a trailing wildcard (`/static/*`).',
    errorMessage: 'must be a path starting with "/" or a list of them',
  }),
  host: Type.Optional(Type.Union([Type.String(), Type.Array(Type.String(), { minItems: 1 })], {
    description: 'Host name(s), exact (`api.example.com`) or with a leading wildcard label (`*.example.com`). Omit to match any host.',
    errorMessage: 'must be a host name or a list of them',
  })),
  methods: Type.Optional(Type.Array(Method, { minItems: 1, description: 'Methods this route answers; omit for all. A path that matches with another method answers 405 with `Allow`.' })),
  headers: Type.Optional(Type.Record(Type.String(), ValueMatch, { description: 'Request headers that must match (names are case-insensitive).' })),
  query: Type.Optional(Type.Record(Type.String(), ValueMatch, { description: 'Query parameters that must match.' })),
}, { description: 'What requests this route takes.' });

export const RewriteConfig = Strict({
  stripPrefix: Type.Optional(PathString({ description: 'Remove this literal prefix from the path before forwarding (`/api` turns `/api/users` into `/users`).' })),
  replace: Type.Optional(PathString({ description: 'Replace the whole path with this template; `:name` inserts a path parameter and `*` the wildcard tail (`/v2/orders/:id`).' })),
  regex: Type.Optional(Strict({
    pattern: Type.String({ description: 'Regular expression matched against the normalised path.' }),
    replacement: Type.String({ description: 'Replacement, with `$1`… or `$<name>` for captures.' }),
  }, { description: 'Rewrite the path with a regular expression.' })),
  addPrefix: Type.Optional(PathString({ description: 'Prepend this prefix after the other rewrites.' })),
}, { description: 'Path rewrite before forwarding, applied in the order stripPrefix, replace, regex, addPrefix. The query string is kept.' });

/** Per-route overrides of the upstream's timeouts; a field left out keeps the upstream's value. */
export const RouteTimeoutsConfig = Strict({
  response: Type.Optional(Duration('Time from sending the request to receiving the response headers.')),
  idle: Type.Optional(Duration('Longest gap between two chunks of the response body.')),
  total: Type.Optional(Duration('Whole exchange, from dispatch to the last byte of the response. 0 disables.')),
}, { description: 'Timeouts for this route, overriding the upstream\'s field by field (`connect` belongs to the upstream\'s connection pool).' });

export const routeFields = {
  name: Name('Unique name of the route, as logs, metrics and the admin API show it.'),
  match: MatchConfig,
  priority: Type.Integer({ default: 0, description: 'Higher priority routes are tried first, before any path specificity.' }),
  upstream: Type.Optional(Type.String({ description: 'Name of the upstream that serves this route.' })),
  rewrite: Type.Optional(RewriteConfig),
  preserveHost: Type.Boolean({ default: false, description: 'Forward the client\'s Host header instead of the target\'s host.' }),
  hostHeader: Type.Optional(Type.String({ description: 'Send this Host header upstream (overrides `preserveHost`).' })),
  timeouts: Type.Optional(RouteTimeoutsConfig),
  retries: Type.Optional(RetryConfig),
  maxBodyBytes: Type.Optional(Size('Largest request body for this route (overrides `server.maxBodyBytes`).')),
  websocket: Type.Boolean({ default: true, description: 'Proxy WebSocket upgrades on this route.' }),
};
