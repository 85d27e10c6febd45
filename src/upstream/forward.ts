import type { ServerResponse } from 'node:http';
import { errors, type Dispatcher } from 'undici';
import type { RequestContext } from '../core/context.ts';
import type { Backend, GatewayResponse } from '../core/route.ts';
import type { Logger } from '../core/logger.ts';
import { GatewayError, type ErrorCode } from '../core/errors.ts';
import { runResponsePhase, sendReply, problemReply } from '../core/pipeline.ts';
import { buildClientHeaders, buildUpstreamHeaders } from './headers.ts';
import { closeConnection } from '../server/hygiene.ts';
import type { Upstream, UpstreamTimeouts } from './pool.ts';
import { proxyUpgrade } from './websocket.ts';
import type { Duplex } from 'node:stream';

export interface UpstreamRouteOptions {
  /** Host header to send; undefined: the target's host. */
  host: 'preserve' | string | undefined;
  timeouts: UpstreamTimeouts;
}

/** Maps a failure of the upstream exchange to the code the client sees; internals never leave the gateway. */
export function upstreamErrorCode(err: unknown): ErrorCode {
  if (err instanceof GatewayError) return err.code;
  // undici 7's parser errors carry no code: a response that is not HTTP is the upstream's fault, not its absence.
  if (err instanceof errors.HTTPParserError) return 'upstream_error';
  const code = (err as { code?: string }).code;
  switch (code) {
    case 'UND_ERR_CONNECT_TIMEOUT':
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_BODY_TIMEOUT':
    case 'ETIMEDOUT':
      return 'upstream_timeout';
    case 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH':
      return 'bad_request';
    case 'HPE_INVALID_CONSTANT':
    case 'UND_ERR_INFO':
    case 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH':
    case 'UND_ERR_RES_EXCEEDED_MAX_SIZE':
    case 'HPE_INVALID_HEADER_TOKEN':
      return 'upstream_error';
    default:
      return 'upstream_unavailable';
  }
}

/** Whether the request carries a body to stream upstream. */
export function requestHasBody(ctx: RequestContext): boolean {
  const h = ctx.req.headers;
  if (ctx.req.httpVersionMajor === 2) return !(ctx.req as { stream?: { endAfterHeaders?: boolean } }).stream?.endAfterHeaders;
  if (h['transfer-encoding'] !== undefined) return true;
  const cl = h['content-length'];
  return cl !== undefined && cl !== '0';
}

/**
 * The streaming proxy: one undici dispatch per request, with a handler that writes the upstream's response
 * straight to the client socket (no intermediate stream objects), applying backpressure both ways.
 */
export class UpstreamBackend implements Backend {
  readonly kind = 'upstream';
  readonly upstream: Upstream;
  readonly #options: UpstreamRouteOptions;
  readonly #logger: Logger;

  constructor(upstream: Upstream, options: UpstreamRouteOptions, logger: Logger) {
    this.upstream = upstream;
    this.#options = options;
    this.#logger = logger;
  }

  serve(ctx: RequestContext, res: GatewayResponse): void {
    const target = this.upstream.pick();
    if (target === undefined) {
      sendReply(ctx, res, problemReply('upstream_unavailable', 'no target available'), ctx.route?.chain, this.#logger);
      return;
    }
    ctx.target = target.origin;
    const host = this.#options.host === 'preserve' ? clientHost(ctx) : this.#options.host;
    const headers = buildUpstreamHeaders(ctx, ctx.req.rawHeaders, { host });
    const t = this.#options.timeouts;
    const handler = new ProxyHandler(ctx, res as ServerResponse, this.#logger, t);
    ctx.upstreamStart = performance.now();
    target.pool.dispatch({
      path: ctx.query === '' ? ctx.upstreamPath : `${ctx.upstreamPath}?${ctx.query}`,
      method: ctx.method as Dispatcher.HttpMethod,
      headers,
      // undici accepts async iterables as bodies; its typings only list streams.
      body: (ctx.body ?? (requestHasBody(ctx) ? ctx.req : null)) as Dispatcher.DispatchOptions['body'],
      // The handler times the response and the body itself, exactly; undici's timers tick every half second. Its
      // headers timeout stays as the guard for what the handler cannot see: an upstream that stops reading a
      // request body it is still being sent.
      headersTimeout: t.response,
      bodyTimeout: 0,
    }, handler);
  }

  upgrade(ctx: RequestContext, socket: Duplex, head: Buffer): void {
    const target = this.upstream.pick();
    const host = this.#options.host === 'preserve' ? clientHost(ctx) : this.#options.host;
    proxyUpgrade(ctx, socket, head, target, host, this.#options.timeouts, this.#logger);
  }
}

/** The Host the client asked for, port included: Host on HTTP/1.1, :authority on HTTP/2. */
function clientHost(ctx: RequestContext): string {
  return ctx.req.headers.host ?? (ctx.req as { authority?: string }).authority ?? ctx.host;
}

/**
 * undici's dispatch handler (its native callback interface, which it calls without adapting). One per request:
 * the fields are the per-request state, the methods the events of the exchange.
 *
 * Timing: `timer` is the response timeout from the moment the request is sent, then the idle timeout between body
 * chunks (not counting time the gateway itself is paused on a slow client); `totalTimer` runs from dispatch.
 * Both are native timers, so they fire on time.
 */
class ProxyHandler implements Dispatcher.DispatchHandler {
  readonly ctx: RequestContext;
  readonly res: ServerResponse;
  readonly logger: Logger;
  readonly timeouts: UpstreamTimeouts;
  abort: ((err: Error) => void) | undefined = undefined;
  resume: (() => void) | undefined = undefined;
  timer: NodeJS.Timeout | undefined = undefined;
  totalTimer: NodeJS.Timeout | undefined = undefined;
  /** Created on the first backpressure only: resumes the upstream and restarts the idle clock. */
  drained: (() => void) | undefined = undefined;
  done = false;

  constructor(ctx: RequestContext, res: ServerResponse, logger: Logger, timeouts: UpstreamTimeouts) {
    this.ctx = ctx;
    this.res = res;
    this.logger = logger;
    this.timeouts = timeouts;
    if (timeouts.total > 0) this.totalTimer = setTimeout(onTotalTimeout, timeouts.total, this);
  }

  onConnect(abort: (err?: Error) => void): void {
    // The client left, or the total timeout answered, while the request waited for a connection: never send it.
    if (this.done || this.ctx.clientGone) {
      abort(new GatewayError('bad_request', 'exchange already over'));
      return;
    }
    this.abort = abort as (err: Error) => void;
    this.ctx.abortBackend = this.abort;
  }

  onRequestSent(): void {
    // An upstream may answer before it has the whole body; its response then already runs on the idle clock.
    if (this.resume === undefined && this.timeouts.response > 0) this.timer = setTimeout(onTimer, this.timeouts.response, this);
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void): boolean {
    if (statusCode < 200) return true;
    const ctx = this.ctx;
    ctx.upstreamHeaders = performance.now();
    this.resume = resume;
    this.#armIdle();
    runResponsePhase(ctx, ctx.route?.chain, statusCode, this.logger);
    const headers = buildClientHeaders(rawHeaders, ctx.responseHeaders);
    try {
      this.res.writeHead(statusCode, headers);
    } catch (err) {
      this.logger.warn('upstream response rejected', { requestId: ctx.id, err });
      this.abort?.(new GatewayError('upstream_error', 'invalid response headers'));
      return false;
    }
    return true;
  }

  onData(chunk: Buffer): boolean {
    this.timer?.refresh();
    const ok = this.res.write(chunk);
    if (!ok) {
      // A response destroyed under us never drains: stop the upstream rather than wait on it forever.
      if (this.res.destroyed) this.abort?.(new GatewayError('bad_request', 'client closed the connection'));
      else this.res.once('drain', (this.drained ??= () => this.#onDrain()));
    }
    return ok;
  }

  onComplete(): void {
    this.#settle();
    this.res.end();
  }

  onError(err: Error): void {
    if (this.done) return;
    this.#settle();
    const ctx = this.ctx;
    const res = this.res;
    if (res.destroyed || ctx.clientGone) return;
    const code = upstreamErrorCode(err);
    if (!res.headersSent) {
      // A request body cut short leaves unread bytes on the connection: close it after the answer.
      const close = code === 'payload_too_large' || code === 'bad_request' ? closeConnection(ctx.req, res) : undefined;
      sendReply(ctx, res, problemReply(code, undefined, close), ctx.route?.chain, this.logger);
    } else {
      // The status line is out: the only honest signal left is to cut the connection.
      ctx.errorCode = code;
      res.destroy();
    }
  }

  /** The response or idle timer fired. */
  expired(): void {
    if (this.done) return;
    if (this.resume !== undefined && this.res.writableNeedDrain) {
      // Paused on a slow client: the upstream is not the one idling.
      this.timer!.refresh();
      return;
    }
    const what = this.resume === undefined ? 'response timeout' : 'idle timeout';
    this.abort?.(new GatewayError('upstream_timeout', what));
  }

  /** The total timer fired. */
  totalExpired(): void {
    if (this.done) return;
    const err = new GatewayError('upstream_timeout', 'total timeout');
    // Before undici has a connection for the request there is nothing to abort: answer now, and onConnect drops it.
    if (this.abort !== undefined) this.abort(err);
    else this.onError(err);
  }

  #armIdle(): void {
    const idle = this.timeouts.idle;
    if (this.timer !== undefined && idle === this.timeouts.response) {
      this.timer.refresh();
      return;
    }
    clearTimeout(this.timer);
    this.timer = idle > 0 ? setTimeout(onTimer, idle, this) : undefined;
  }

  #onDrain(): void {
    this.timer?.refresh();
    this.resume!();
  }

  #settle() {
    this.done = true;
    this.ctx.abortBackend = undefined;
    if (this.timer !== undefined) clearTimeout(this.timer);
    if (this.totalTimer !== undefined) clearTimeout(this.totalTimer);
  }
}

function onTimer(handler: ProxyHandler): void {
  handler.expired();
}

function onTotalTimeout(handler: ProxyHandler): void {
  handler.totalExpired();
}
