import type { IncomingMessage } from 'node:http';
import type { Http2ServerRequest } from 'node:http2';
import { randomUUID } from 'node:crypto';
import { HeaderEdits } from './headers.ts';
import type { ErrorCode } from './errors.ts';
import type { CompiledRoute } from './route.ts';
import type { Consumer, Identity } from '../identity/types.ts';
import type { ResponseTap } from './tap.ts';
import type { RequestTrace } from '../observability/tracing/request-trace.ts';

export type GatewayRequest = IncomingMessage | Http2ServerRequest;

/**
 * One per request, created once after normalisation and routing and passed to every phase. Fields that plugins
 * may change are the header edits, `upstreamPath`, `id` and `vars`; the rest describes the request as received.
 * In the `log` phase the context is read-only.
 */
export class RequestContext {
  /** Request id: generated lazily (most requests never need one), or set by the `request-id` plugin. */
  #id: string | undefined = undefined;
  readonly startTime: number;
  readonly req: GatewayRequest;
  readonly method: string;
  /** Lower-cased host without port, from Host or :authority. */
  readonly host: string;
  /** The normalised path: what routing used, what plugins see, and what is forwarded unless rewritten. */
  readonly path: string;
  /** The raw query string without `?` ('' when absent). */
  readonly query: string;
  readonly scheme: 'http' | 'https';
  /** Address of the TCP peer. */
  readonly peerIp: string;
  /** The client's address: the peer, or, behind trusted proxies, the nearest untrusted X-Forwarded-For entry. */
  clientIp: string;
  /** Whether the peer is a trusted proxy, so its X-Forwarded-* / Forwarded headers are kept. */
  peerTrusted: boolean;
  route: CompiledRoute | undefined = undefined;
  params: Record<string, string | undefined> = EMPTY_PARAMS;
  /** Path sent upstream (after rewrites), without the query. */
  upstreamPath: string;
  /** Query string sent upstream, without `?` (a plugin may remove a credential from it). */
  upstreamQuery: string;
  /** Who the request is, once the authenticate phase accepted it (undefined before, and on routes without auth). */
  identity: Identity | undefined = undefined;
  /** The identity's consumer, when it maps to one: what rate limits, cache keys, balancers and logs key on. */
  consumer: Consumer | undefined = undefined;
  /** A CORS preflight routed by its Access-Control-Request-Method. */
  preflight = false;
  readonly requestHeaders = new HeaderEdits();
  readonly responseHeaders = new HeaderEdits();
  /** Status sent to the client (0 until a response starts). */
  status = 0;
  errorCode: ErrorCode | undefined = undefined;
  /** Origin of the upstream target that served the request. */
  target: string | undefined = undefined;
  /** performance.now() when the upstream request was sent (the last attempt), and when its headers arrived. */
  upstreamStart = 0;
  upstreamHeaders = 0;
  /** performance.now() when the first attempt was sent (0: the request never went upstream). */
  upstreamFirstStart = 0;
  /**
   * Request body bytes counted as they streamed through the gateway: bodies without Content-Length (whose size
   * the gateway meters). 0 for the rest, where Content-Length is exact.
   */
  bytesIn = 0;
  /** Response body bytes written to the client (the upstream's body, or the gateway's own reply). */
  bytesOut = 0;
  /** The request body to send on, when the gateway must watch it (size limit on a body without Content-Length). */
  body: AsyncIterable<Buffer> | undefined = undefined;
  /** Aborts the backend exchange in flight (set by the backend while one is). */
  abortBackend: ((err: Error) => void) | undefined = undefined;
  /** Watches the backend's answer (the response cache); set in the request phases, at most one per request. */
  responseTap: ResponseTap | undefined = undefined;
  /** Invites a client waiting on `Expect: 100-continue` to send its body; set only for such requests. */
  sendContinue: (() => void) | undefined = undefined;
  /** The client went away before the response finished. */
  clientGone = false;
  /** The request's trace while `tracing.enabled` (undefined otherwise: no tracing work at all). */
  trace: RequestTrace | undefined = undefined;
  /** Plugin-owned values, keyed by plugin name. */
  readonly vars: Record<string, unknown> = {};

  constructor(
    req: GatewayRequest, method: string, host: string, path: string, query: string,
    scheme: 'http' | 'https', peerIp: string, startTime: number,
  ) {
    this.req = req;
    this.method = method;
    this.host = host;
    this.path = path;
    this.upstreamPath = path;
    this.query = query;
    this.upstreamQuery = query;
    this.scheme = scheme;
    this.peerIp = peerIp;
    this.clientIp = peerIp;
    this.peerTrusted = false;
    this.startTime = startTime;
  }

  get id(): string {
    return (this.#id ??= randomUUID());
  }

  set id(value: string) {
    this.#id = value;
  }

  /** A request header (lower-case name), first value. */
  header(name: string): string | undefined {
    const v = this.req.headers[name];
    return Array.isArray(v) ? v[0] : v;
  }
}

const EMPTY_PARAMS: Record<string, string | undefined> = Object.freeze({}) as Record<string, string | undefined>;
