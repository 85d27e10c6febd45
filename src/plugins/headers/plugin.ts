import { definePlugin, PluginConfigError, type PluginHandlers } from '../../core/plugin.ts';
import type { HeaderEdits } from '../../core/headers.ts';
import { checkHeaderName, compileHeaderMap, keyPath, refuseManagedHeader, type HeaderValue } from '../shared/header-rules.ts';
import { HeadersConfig } from './schema.ts';

/** One side's edits, validated and lower-cased, ready to replay on a request's HeaderEdits. */
export interface CompiledHeaderEdits {
  readonly remove: readonly string[];
  readonly set: ReadonlyArray<readonly [string, HeaderValue]>;
  readonly add: ReadonlyArray<readonly [string, string]>;
}

type EditConfig = HeadersConfig['request'];

/**
 * Validates one side's edits. Hop-by-hop headers and content-length are refused everywhere (the gateway owns them per
 * hop); `host` only in `request.set`, which is how the Host sent upstream is rewritten.
 */
export function compileHeaderEdits(side: 'request' | 'response', config: EditConfig): CompiledHeaderEdits {
  const guard = (op: 'set' | 'add' | 'remove') => (lower: string, path: string) => {
    refuseManagedHeader(path, lower);
    if (lower === 'host' && !(side === 'request' && op === 'set')) {
      throw new PluginConfigError(path, side === 'request'
        ? '"host" can only be replaced (request.set), never added or removed'
        : '"host" is a request header');
    }
  };
  const remove: string[] = [];
  config.remove.forEach((name, i) => {
    const path = `${side}.remove[${i}]`;
    const lower = checkHeaderName(path, name);
    guard('remove')(lower, path);
    if (!remove.includes(lower)) remove.push(lower);
  });
  const set = compileHeaderMap(`${side}.set`, config.set, guard('set'));
  for (const [lower] of set) {
    if (remove.includes(lower)) {
      const key = Object.keys(config.set).find((k) => k.toLowerCase() === lower)!;
      throw new PluginConfigError(keyPath(`${side}.set`, key), `"${lower}" is both removed and set: set alone replaces it`);
    }
  }
  const add: Array<readonly [string, string]> = [];
  for (const [lower, value] of compileHeaderMap(`${side}.add`, config.add, guard('add'))) {
    if (typeof value === 'string') add.push([lower, value]);
    else for (const v of value) add.push([lower, v]);
  }
  return { remove, set, add };
}

function isEmpty(e: CompiledHeaderEdits): boolean {
  return e.remove.length === 0 && e.set.length === 0 && e.add.length === 0;
}

/** Replays compiled edits; called per request, so it only loops over arrays built at config time. */
export function applyHeaderEdits(target: HeaderEdits, e: CompiledHeaderEdits): void {
  for (let i = 0; i < e.remove.length; i++) target.removeHeader(e.remove[i]!);
  for (let i = 0; i < e.set.length; i++) target.setHeader(e.set[i]![0], e.set[i]![1]);
  for (let i = 0; i < e.add.length; i++) target.addHeader(e.add[i]![0], e.add[i]![1]);
}

export const headers = definePlugin({
  name: 'headers',
  description: 'Adds, replaces and removes request headers (sent upstream) and response headers (sent to the client).',
  // In `rewrite` after request-id (100000) and cors (2000), before authentication sees the request.
  priority: 800,
  schema: HeadersConfig,
  create(config): PluginHandlers {
    const request = compileHeaderEdits('request', config.request);
    const response = compileHeaderEdits('response', config.response);
    const handlers: PluginHandlers = {};
    if (!isEmpty(request)) handlers.rewrite = (ctx) => applyHeaderEdits(ctx.requestHeaders, request);
    if (!isEmpty(response)) handlers.response = (ctx) => applyHeaderEdits(ctx.responseHeaders, response);
    return handlers;
  },
});
