/**
 * Which config of each plugin applies to a request. The most specific scope that configures a plugin wins, whole
 * (configs are never merged field by field): route+consumer > consumer > route > global. Pure, so it is
 * table-tested; the runtime calls it at build time for route/global and, once identity lands, per consumer.
 */
export interface PluginScopes {
  global?: Record<string, unknown>;
  route?: Record<string, unknown>;
  consumer?: Record<string, unknown>;
  routeConsumer?: Record<string, unknown>;
}

export type ScopeName = 'global' | 'route' | 'consumer' | 'routeConsumer';

export interface ResolvedPlugin {
  name: string;
  config: unknown;
  scope: ScopeName;
}

const ORDER: readonly ScopeName[] = ['routeConsumer', 'consumer', 'route', 'global'];

export function resolvePluginConfigs(scopes: PluginScopes): ResolvedPlugin[] {
  const out = new Map<string, ResolvedPlugin>();
  for (const scope of ORDER) {
    for (const [name, config] of Object.entries(scopes[scope] ?? {})) {
      if (!out.has(name) && config !== undefined) out.set(name, { name, config, scope });
    }
  }
  return [...out.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
