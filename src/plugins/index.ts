import type { PluginDefinition } from '../core/plugin.ts';
import { cors } from './cors/plugin.ts';
import { headers } from './headers/plugin.ts';
import { ipRestriction } from './ip-restriction/plugin.ts';
import { mock } from './mock/plugin.ts';
import { requestId } from './request-id/plugin.ts';

/** Every plugin the gateway ships, by name. The config schema's `plugins` objects are generated from this list. */
export const PLUGINS: readonly PluginDefinition[] = [requestId, cors, headers, ipRestriction, mock];

export const pluginByName: ReadonlyMap<string, PluginDefinition> = new Map(PLUGINS.map((p) => [p.name, p]));
