import type { ServerResponse } from 'node:http';
import type { Http2ServerResponse } from 'node:http2';
import type { Duplex } from 'node:stream';
import type { RequestContext } from './context.ts';
import type { LogHandler, PhaseHandler, RequestPhase, ResponseHandler } from './plugin.ts';
import type { FetchedResponse } from './tap.ts';

/** Names of request parts that carry secrets on a route, from its plugins' `secrets` (headers lower case). */
export interface RouteSecrets {
  readonly query: ReadonlySet<string>;
  readonly headers: ReadonlySet<string>;
  readonly cookies: ReadonlySet<string>;
}

export type GatewayResponse = ServerResponse | Http2ServerResponse;

/** Plugin handlers of one route, resolved and ordered once at build time. */
export interface CompiledChain {
  readonly request: readonly PhaseHandler[];
  readonly response: readonly ResponseHandler[];
  readonly log: readonly LogHandler[];
  /** Names of the plugins in this chain, in order (for the admin API and tests). */
  readonly plugins: readonly string[];
  /** `request` cut at the phase boundaries, phases without handlers left out: what tracing makes a span of each. */
  readonly phases: readonly ChainPhase[];
}

/** The request handlers of one phase of a chain, in order, with the names of the plugins they belong to. */
export interface ChainPhase {
  readonly name: RequestPhase;
  readonly handlers: readonly PhaseHandler[];
  readonly plugins: readonly string[];
}

/**
 * A backend kind: answers a request that went through the request phases. It owns the response from here on;
 * the server notices the end of the exchange (finished or cut) on its own and runs the log phase then.
 */
export interface Backend {
  readonly kind: string;
  serve(ctx: RequestContext, res: GatewayResponse): void;
  /** WebSocket and other upgrades; absent when the backend cannot take them. */
  upgrade?(ctx: RequestContext, socket: Duplex, head: Buffer): void;
  /**
   * Fetches a GET for the gateway itself (a background cache refresh): no client response, no retries. `headers`
   * are added to what would be sent for `ctx`. Rejects with a GatewayError when no response comes.
   */
  fetch?(ctx: RequestContext, headers: Record<string, string>): Promise<FetchedResponse>;
}

export interface CompiledRoute {
  readonly name: string;
  readonly chain: CompiledChain;
  readonly backend: Backend | undefined;
  /** Computes the upstream path from the normalised path and params; undefined when there is no rewrite. */
  readonly rewrite: ((ctx: RequestContext) => string) | undefined;
  readonly maxBodyBytes: number;
  readonly websocket: boolean;
  /** Identity header names (lower case) clients may not send, beyond the built-in X-Consumer-* / X-Authenticated-*. */
  readonly ownedHeaders: ReadonlySet<string> | undefined;
  /** What the access log must redact on this route beyond Authorization and cookies. */
  readonly secrets: RouteSecrets;
}
