import type { Static, TSchema } from '@sinclair/typebox';
import type { RequestContext } from './context.ts';
import type { Reply } from './reply.ts';
import type { Authenticator } from '../identity/types.ts';
import type { ConsumerDirectory } from '../identity/consumers.ts';
import type { AuthSettingsT } from '../config/schema/consumer.ts';
import type { RedisConfigT } from '../config/schema/redis.ts';
import type { CacheSettingsT } from '../config/schema/cache.ts';
import type { Logger } from './logger.ts';
import type { FunctionInvoker } from '../functions/types.ts';

/**
 * Request phases, in the order they run. Each handler returns nothing to continue, or a Reply to answer the request
 * there (later phases and the backend are skipped; `response` and `log` still run). A handler that throws is a bug:
 * the client gets 500 `internal_error` and the error is logged with the request id.
 */
export const REQUEST_PHASES = ['rewrite', 'authenticate', 'authorize', 'throttle', 'cacheLookup'] as const;
export type RequestPhase = (typeof REQUEST_PHASES)[number];

export type PhaseResult = Reply | undefined | void;
export type PhaseHandler = (ctx: RequestContext) => PhaseResult | Promise<PhaseResult>;
/** Runs just before response headers are sent, for upstream responses and gateway replies alike; edits ctx.responseHeaders. */
export type ResponseHandler = (ctx: RequestContext, status: number) => void;
/** Runs after the response is finished or the connection closed. It cannot affect the request, and must not throw. */
export type LogHandler = (ctx: Readonly<RequestContext>) => void;

export interface PluginHandlers {
  rewrite?: PhaseHandler;
  authenticate?: PhaseHandler;
  authorize?: PhaseHandler;
  throttle?: PhaseHandler;
  cacheLookup?: PhaseHandler;
  response?: ResponseHandler;
  log?: LogHandler;
  /**
   * An authentication method (authentication plugins only). It takes no phase of its own: the route's
   * authenticate phase runs its methods in `auth.order` and combines them (`auth.mode`, `auth.anonymous`).
   */
  authenticator?: Authenticator;
  /**
   * Where this instance reads secrets from the request (API key parameter, a signature header…), so the access
   * log redacts them on its route. Authorization, Proxy-Authorization and Cookie are always redacted.
   */
  secrets?: RequestSecrets;
  /**
   * Releases what the instance holds (files, connections) when the gateway stops. Instances replaced by a reload
   * are not closed (requests in flight may still use them); they must let go of what they hold when collected.
   */
  close?(): void | Promise<void>;
}

export interface RequestSecrets {
  /** Query parameter names (case-sensitive). */
  query?: readonly string[];
  /** Header names (any case). */
  headers?: readonly string[];
  /** Cookie names. */
  cookies?: readonly string[];
}

export interface PluginScope {
  /** The route this instance serves; undefined for a global or consumer-wide instance. */
  route?: string;
  /** The consumer this instance serves (consumer and route+consumer scopes). */
  consumer?: string;
  /** The consumers of the config being built. */
  consumers: ConsumerDirectory;
  /** The `auth` settings of the config being built (defaults applied). */
  auth: AuthSettingsT;
  /** The gateway's operational log (never for per-request lines: that is the access log's job). */
  logger: Logger;
  /** The `redis` settings (static: the ones the gateway started with), when configured. */
  redis: RedisConfigT | undefined;
  /** The root `cache` settings (response cache storage), when configured. */
  cache?: CacheSettingsT | undefined;
  /** The invoker of a function of the config being built (a key of `functions`, local or remote), for plugins that call functions. */
  functions?: (name: string) => FunctionInvoker | undefined;
}

/**
 * A plugin: its config schema (every field described, defaults given) and a factory that turns a validated config
 * into handlers. `create` runs once per scope when a config is built, never per request: do the parsing,
 * compiling and allocating there.
 */
export interface PluginDefinition<S extends TSchema = TSchema> {
  readonly name: string;
  readonly description: string;
  /** Higher runs first within a phase; ties break by name. For authentication plugins, the default `auth.order`. */
  readonly priority: number;
  /** `authentication` plugins provide an `authenticator` and can't be configured per consumer. */
  readonly kind?: 'authentication';
  readonly schema: S;
  create(config: Static<S>, scope: PluginScope): PluginHandlers;
}

/** Thrown by `create` for a config that is valid by schema but wrong in meaning; `path` is relative to the plugin config. */
export class PluginConfigError extends Error {
  readonly path: string;
  constructor(path: string, message: string) {
    super(message);
    this.path = path;
  }
}

/** Helper that keeps the schema's static type attached to `create`. */
export function definePlugin<S extends TSchema>(def: PluginDefinition<S>): PluginDefinition<S> {
  return def;
}
