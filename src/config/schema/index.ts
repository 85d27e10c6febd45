import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { PLUGINS } from '../../plugins/index.ts';
import { NAME_RULE, Strict } from './common.ts';
import { AdminConfig, ListenConfig, ServerConfig } from './server.ts';
import { UpstreamConfig } from './upstream.ts';
import { routeFields } from './route.ts';
import { AuthSettings, RouteAuthConfig, consumerFields } from './consumer.ts';
import { RedisConfig } from './redis.ts';
import { StoreConfig } from './store.ts';
import { MetricsConfig } from './observability.ts';
import { TracingConfig } from './tracing.ts';
import { AnalyticsConfig } from './analytics.ts';
import { PlanConfig } from './plan.ts';
import { CacheSettings } from './cache.ts';
import { FunctionConfig, RouteFunctionConfig } from './function.ts';
import { FunctionsApiConfig } from './functions-api.ts';

/** `plugins:` object: one optional key per shipped plugin, so a misspelt plugin name is an unknown-key error. */
function pluginsSchema(description: string) {
  const props: Record<string, TSchema> = {};
  for (const p of PLUGINS) props[p.name] = Type.Optional(Type.Unsafe({ ...p.schema, description: p.description }));
  return Strict(props, { description });
}

export const PluginsConfig = pluginsSchema('Plugins and their config, keyed by plugin name. See docs/plugins.md.');

export const RouteConfig = Strict({
  ...routeFields,
  function: Type.Optional(RouteFunctionConfig),
  auth: Type.Optional(RouteAuthConfig),
  plugins: Type.Optional(pluginsSchema('Plugins for this route; a plugin configured here replaces its global config for this route.')),
  consumerPlugins: Type.Optional(Type.Record(Type.String(), pluginsSchema('Plugins for one consumer on this route.'), {
    description: 'Plugins for particular consumers on this route, keyed by consumer name: the most specific scope (route+consumer > consumer > route > global). They apply from the authorize phase on, once the consumer is known; authentication plugins cannot be set here.',
  })),
}, { description: 'A route: which requests it takes, what serves them, and the plugins that run.' });

export const ConsumerConfig = Strict({
  ...consumerFields,
  plugins: Type.Optional(pluginsSchema('Plugins for this consumer on every route (rate limits, say); they replace the route\'s and global config of the same plugin for its requests, from the authorize phase on.')),
}, { description: 'A consumer: a named identity (an app, a partner, a user) with groups, metadata and credentials.' });

export const ConfigSchema = Strict({
  $schema: Type.Optional(Type.String({ description: 'Path or URL of the JSON Schema, for editors.' })),
  listen: Type.Optional(ListenConfig),
  admin: Type.Optional(AdminConfig),
  functionsApi: Type.Optional(FunctionsApiConfig),
  server: Type.Optional(ServerConfig),
  redis: Type.Optional(RedisConfig),
  store: Type.Optional(StoreConfig),
  upstreams: Type.Optional(Type.Record(Type.String(), UpstreamConfig, { description: `Upstream pools by name. A name has ${NAME_RULE}.` })),
  functions: Type.Optional(Type.Record(Type.String(), FunctionConfig, { description: `Lambda-compatible functions by name (see docs/functions.md). A name has ${NAME_RULE}.` })),
  auth: Type.Optional(AuthSettings),
  consumers: Type.Optional(Type.Record(Type.String(), ConsumerConfig, { description: `Consumers by name. A name has ${NAME_RULE}.` })),
  plans: Type.Optional(Type.Record(Type.String(), PlanConfig, { description: `Usage plans by name (see docs/rate-limiting.md). A name has ${NAME_RULE}.` })),
  routes: Type.Array(RouteConfig, { default: [], description: 'Routes. Order does not matter: precedence is by host, priority, then path specificity (see docs/routing.md).' }),
  plugins: Type.Optional(PluginsConfig),
  metrics: Type.Optional(MetricsConfig),
  tracing: Type.Optional(TracingConfig),
  analytics: Type.Optional(AnalyticsConfig),
  cache: Type.Optional(CacheSettings),
}, {
  $id: 'https://expeditor.dev/schema/expeditor.schema.json',
  title: 'Expeditor configuration',
  description: 'Expeditor API gateway configuration file (YAML or JSON).',
});

export type Config = Static<typeof ConfigSchema>;
export type RouteConfigT = Static<typeof RouteConfig>;
export type UpstreamConfigT = Static<typeof UpstreamConfig>;
export type { FunctionConfigT, RouteFunctionConfigT } from './function.ts';
export type ConsumerConfigT = Static<typeof ConsumerConfig>;
export type { PlanConfigT } from './plan.ts';
