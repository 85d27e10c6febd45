import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import type { Static, TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { RequestContext } from '../../src/core/context.ts';
import { PluginConfigError, type PluginDefinition, type PluginHandlers, type PluginScope } from '../../src/core/plugin.ts';
import { ConsumerDirectory } from '../../src/identity/consumers.ts';
import { validateConfig } from '../../src/config/validate.ts';
import { AuthSettings, type AuthSettingsT } from '../../src/config/schema/consumer.ts';
import type { Config } from '../../src/config/schema/index.ts';
import { silentLogger } from '../../src/core/logger.ts';
import { InvokeError, type FunctionInvoker } from '../../src/functions/types.ts';

/** Applies the schema's defaults to a copy of `input` and checks it, as the config loader does; throws listing schema errors. */
export function configure<S extends TSchema>(def: PluginDefinition<S>, input: unknown): Static<S> {
  const config = Value.Default(def.schema, structuredClone(input ?? {}));
  if (!Value.Check(def.schema, config)) {
    const errors = [...Value.Errors(def.schema, config)].map((e) => `${e.path || '/'}: ${e.message}`);
    throw new TypeError(`schema: ${errors.join('; ')}`);
  }
  return config as Static<S>;
}

/** The scope a plugin instance gets: the consumers and `auth` settings of a config (none by default). */
export function scope(config: { consumers?: Record<string, unknown>; auth?: Record<string, unknown> } = {}, route?: string): PluginScope {
  return {
    route,
    consumers: new ConsumerDirectory(validateConfig({ routes: [], ...config }) as Config),
    auth: Value.Default(AuthSettings, structuredClone(config.auth ?? {})) as AuthSettingsT,
    logger: silentLogger,
    redis: undefined,
    functions: (name) => stubInvoker(name),
  };
}

/** Any function name resolves (so plugins that call functions can be created); invoking one is refused. */
function stubInvoker(name: string): FunctionInvoker {
  return {
    name,
    invoke: () => Promise.reject(new InvokeError('unavailable', 'stub function')),
    stats: () => ({ name, kind: 'local', invocations: 0, errors: 0, throttles: 0, timeouts: 0, coldStarts: 0, sandboxes: { warm: 0, busy: 0, starting: 0 }, queued: 0, durationMsTotal: 0, initDurationMsTotal: 0 }),
    close: () => Promise.resolve(),
  };
}

export function create<S extends TSchema>(def: PluginDefinition<S>, input: unknown, pluginScope: PluginScope = scope()): PluginHandlers {
  return def.create(configure(def, input), pluginScope);
}

/** Whether the schema alone refuses `input` (so the loader reports it before `create` runs). */
export function schemaRefuses(def: PluginDefinition, input: unknown): boolean {
  return !Value.Check(def.schema, Value.Default(def.schema, structuredClone(input)));
}

export function assertConfigError(def: PluginDefinition, input: unknown, path: string, message: RegExp): void {
  assert.throws(() => create(def, input), (err: unknown) => {
    assert.ok(err instanceof PluginConfigError, `expected PluginConfigError, got ${String(err)}`);
    assert.equal(err.path, path);
    assert.match(err.message, message);
    return true;
  });
}

export interface FakeRequest {
  method?: string;
  headers?: Record<string, string>;
  clientIp?: string;
}

/** A real RequestContext over a stand-in request that only has headers (all a plugin reads from it). */
export function context({ method = 'GET', headers = {}, clientIp = '127.0.0.1' }: FakeRequest = {}): RequestContext {
  const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  const req = { headers: lower } as unknown as IncomingMessage;
  const ctx = new RequestContext(req, method, 'gateway.test', '/things', '', 'http', clientIp, performance.now());
  ctx.clientIp = clientIp;
  return ctx;
}

/** The header edits as plain data, for comparing. */
export function edits(ctx: RequestContext, side: 'requestHeaders' | 'responseHeaders') {
  const e = ctx[side];
  return {
    remove: e.remove === undefined ? [] : [...e.remove],
    set: e.set === undefined ? {} : Object.fromEntries(e.set),
    add: e.add === undefined ? [] : e.add.map(([n, v]) => `${n}: ${v}`),
  };
}
