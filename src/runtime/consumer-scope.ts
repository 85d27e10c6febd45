import type { LogHandler, PhaseHandler, PluginHandlers, ResponseHandler } from '../core/plugin.ts';
import type { RequestContext } from '../core/context.ts';
import type { ConsumerDirectory } from '../identity/consumers.ts';
import type { ResolvedPlugin } from './plugin-scope.ts';

export interface ConsumerDispatchOptions {
  consumers: ConsumerDirectory;
  /** The plugin configs that apply to one consumer on this route (resolvePluginConfigs with all four scopes). */
  resolve(consumer: string): ResolvedPlugin[];
  /** Instance for a consumer or route+consumer config. */
  instantiate(consumer: string, plugin: ResolvedPlugin): PluginHandlers | undefined;
}

type Named = { name: string; h: PluginHandlers };

/** Phases that run once the consumer is known. `rewrite` and `authenticate` run before it is, so they never dispatch. */
const CONSUMER_PHASES = ['authorize', 'throttle', 'cacheLookup'] as const;

/**
 * Turns a route's handler list into one where every plugin that some consumer configures differently dispatches
 * on `ctx.consumer` at run time: the consumer's instance if it has one, otherwise the route's (or global) one.
 * Plugins no consumer overrides are left as they are, so a route without consumer plugins pays nothing.
 */
export function consumerDispatch(base: readonly Named[], options: ConsumerDispatchOptions): Named[] {
  const overrides = new Map<string, Map<string, PluginHandlers>>();
  for (const consumer of options.consumers.all()) {
    for (const p of options.resolve(consumer.name)) {
      if (p.scope !== 'consumer' && p.scope !== 'routeConsumer') continue;
      const h = options.instantiate(consumer.name, p);
      if (h === undefined) continue;
      let byConsumer = overrides.get(p.name);
      if (byConsumer === undefined) overrides.set(p.name, (byConsumer = new Map()));
      byConsumer.set(consumer.id, h);
    }
  }
  if (overrides.size === 0) return [...base];
  const out = base.filter((x) => !overrides.has(x.name));
  for (const [name, byConsumer] of overrides) {
    out.push({ name, h: dispatcher(base.find((x) => x.name === name)?.h, byConsumer) });
  }
  return out;
}

function dispatcher(fallback: PluginHandlers | undefined, byConsumer: ReadonlyMap<string, PluginHandlers>): PluginHandlers {
  const pick = (ctx: RequestContext): PluginHandlers | undefined =>
    (ctx.consumer !== undefined ? byConsumer.get(ctx.consumer.id) : undefined) ?? fallback;
  const all = [fallback, ...byConsumer.values()];
  const has = (k: keyof PluginHandlers) => all.some((h) => h?.[k] !== undefined);
  const out: PluginHandlers = {};
  if (fallback?.rewrite) out.rewrite = fallback.rewrite;
  if (fallback?.authenticator) out.authenticator = fallback.authenticator;
  for (const phase of CONSUMER_PHASES) {
    if (!has(phase)) continue;
    const fn: PhaseHandler = (ctx) => pick(ctx)?.[phase]?.(ctx);
    out[phase] = fn;
  }
  if (has('response')) {
    const fn: ResponseHandler = (ctx, status) => pick(ctx)?.response?.(ctx, status);
    out.response = fn;
  }
  if (has('log')) {
    const fn: LogHandler = (ctx) => pick(ctx as RequestContext)?.log?.(ctx);
    out.log = fn;
  }
  return out;
}
