import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { PLUGINS } from '../../plugins/index.ts';
import { NAME_RULE, Strict } from './common.ts';
import { AdminConfig, ListenConfig, ServerConfig } from './server.ts';
import { UpstreamConfig } from './upstream.ts';
import { routeFields } from './route.ts';

/** `plugins:` object: one optional key per shipped plugin, so a misspelt plugin name is an unknown-key error. */
function pluginsSchema(description: string) {
  const props: Record<string, TSchema> = {};
  for (const p of PLUGINS) props[p.name] = Type.Optional(Type.Unsafe({ ...p.schema, description: p.description }));
  return Strict(props, { description });
}

export const PluginsConfig = pluginsSchema('Plugins and their config, keyed by plugin name. See docs/plugins.md.');

export const RouteConfig = Strict({
  ...routeFields,
  plugins: Type.Optional(pluginsSchema('Plugins for this route; a plugin configured here replaces its global config for this route.')),
}, { description: 'A route: which requests it takes, what serves them, and the plugins that run.' });

export const ConfigSchema = Strict({
  $schema: Type.Optional(Type.String({ description: 'Path or URL of the JSON Schema, for editors.' })),
  listen: Type.Optional(ListenConfig),
  admin: Type.Optional(AdminConfig),
  server: Type.Optional(ServerConfig),
  upstreams: Type.Optional(Type.Record(Type.String(), UpstreamConfig, { description: `Upstream pools by name. A name has ${NAME_RULE}.` })),
  routes: Type.Array(RouteConfig, { default: [], description: 'Routes. Order does not matter: precedence is by host, priority, then path specificity (see docs/routing.md).' }),
  plugins: Type.Optional(PluginsConfig),
}, {
  $id: 'https://expeditor.dev/schema/expeditor.schema.json',
  title: 'Expeditor configuration',
  description: 'Expeditor API gateway configuration file (YAML or JSON).',
});

export type Config = Static<typeof ConfigSchema>;
export type RouteConfigT = Static<typeof RouteConfig>;
export type UpstreamConfigT = Static<typeof UpstreamConfig>;
