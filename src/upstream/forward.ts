import type { ServerResponse } from 'node:http';
import { errors, type Dispatcher } from 'undici';
import type { RequestContext } from '../core/context.ts';
import type { Backend, GatewayResponse } from '../core/route.ts';
import type { Logger } from '../core/logger.ts';
import { GatewayError, type ErrorCode } from '../core/errors.ts';
import type { Reply } from '../core/reply.ts';
import type { FetchedResponse } from '../core/tap.ts';
import { runResponsePhase, sendReply, problemReply } from '../core/pipeline.ts';
import { buildClientHeaders, buildUpstreamHeaders } from './headers.ts';
import { closeConnection } from '../server/hygiene.ts';
import type { Upstream, UpstreamTimeouts } from './pool.ts';
import type { Target, BalanceInput } from './target.ts';
import type { Waiter } from './limiter.ts';
import { RetryPolicy, backoffDelay, isIdempotent } from './retry.ts';
import { proxyUpgrade } from './websocket.ts';
import { endAttempt } from '../observability/tracing/request-trace.ts';
import type { Span } from '@opentelemetry/api';
import type { Duplex } from 'node:stream';

export interface UpstreamRouteOptions {
  /** Host header to send; undefined: the target's host. */
  host: 'preserve' | string | undefined;
  timeouts: UpstreamTimeouts;
  /** The route's retry policy, or the upstream's; undefined: no retries. */
  retry: RetryPolicy | undefined;
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
 * The streaming proxy. Per request an Exchange: it waits for a slot when the upstream has a concurrency limit,
 * picks a target, and runs attempts (one, or more under a retry policy) until one answers. Each attempt is one
 * undici dispatch with a ProxyHandler that writes the upstream's response straight to the client socket (no
 * intermediate stream objects), with backpressure both ways. Once a response has been committed to the client,
 * nothing is retried.
 */
export class UpstreamBackend implements Backend {
  readonly kind = 'upstream';
  readonly upstream: Upstream;
  readonly options: UpstreamRouteOptions;
  readonly logger: Logger;

  constructor(upstream: Upstream, options: UpstreamRouteOptions, logger: Logger) {
    this.upstream = upstream;
    this.options = options;
    this.logger = logger;
  }

  serve(ctx: RequestContext, res: GatewayResponse): void {
    new Exchange(this, ctx, res as ServerResponse).begin();
  }

  upgrade(ctx: RequestContext, socket: Duplex, head: Buffer): void {
    const target = this.upstream.pick(new HashInput(ctx, this.upstream));
    const host = this.options.host === 'preserve' ? clientHost(ctx) : this.options.host;
    proxyUpgrade(ctx, socket, head, target, host, this.options.timeouts, this.logger);
  }

  async fetch(ctx: RequestContext, extra: Record<string, string>): Promise<FetchedResponse> {
    const upstream = this.upstream;
    const target = upstream.pick(new HashInput(ctx, upstream));
    if (target === undefined) throw new GatewayError('no_healthy_upstream');
    const host = this.options.host === 'preserve' ? clientHost(ctx) : this.options.host;
    const headers = withoutBodyHeaders(buildUpstreamHeaders(ctx, ctx.req.rawHeaders, { host }), extra);
    const { response, idle, total } = this.options.timeouts;
    const requestTime = Date.now();
    const started = performance.now();
    target.inflight++;
    try {
      const r = await target.pool.request({
        path: ctx.upstreamQuery === '' ? ctx.upstreamPath : `${ctx.upstreamPath}?${ctx.upstreamQuery}`,
        method: 'GET',
        headers,
        headersTimeout: response,
        bodyTimeout: idle,
        ...(total > 0 ? { signal: AbortSignal.timeout(total) } : {}),
      });
      const responseTime = Date.now();
      upstream.report(target, { ok: true, status: r.statusCode, latencyMs: performance.now() - started });
      const body = Buffer.from(await r.body.arrayBuffer());
      return { status: r.statusCode, headers: r.headers, body, requestTime, responseTime };
    } catch (err) {
      const code = upstreamErrorCode(err);
      upstream.report(target, { ok: false, timeout: code === 'upstream_timeout' });
      throw new GatewayError(code, 'background fetch failed');
    } finally {
      target.inflight--;
    }
  }
}

/** The header list without request-body framing (a fetch sends no body) and with `extra` replacing its names. */
function withoutBodyHeaders(list: string[], extra: Record<string, string>): string[] {
  const drop = new Set(['content-length', 'transfer-encoding', 'expect', ...Object.keys(extra)]);
  const out: string[] = [];
  for (let i = 0; i < list.length; i += 2) if (!drop.has(list[i]!.toLowerCase())) out.push(list[i]!, list[i + 1]!);
  for (const [k, v] of Object.entries(extra)) out.push(k, v);
  return out;
}

/** The consistent-hash key of a request, computed only when the balancer asks. */
class HashInput implements BalanceInput {
  readonly ctx: RequestContext;
  readonly upstream: Upstream;
  constructor(ctx: RequestContext, upstream: Upstream) {
    this.ctx = ctx;
    this.upstream = upstream;
  }
  hashKey(): string | undefined {
    const on = this.upstream.hashOn;
    if (on === undefined) return undefined;
    const ctx = this.ctx;
    switch (on.source) {
      case 'header': return ctx.header(on.name!);
      case 'cookie': return cookieValue(ctx.header('cookie'), on.name!);
      case 'ip': return ctx.clientIp;
      case 'path': return ctx.path;
      case 'consumer': return ctx.consumer?.id;
    }
  }
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq !== -1 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** One client request through the upstream: the limiter slot, the attempts, the retry budget and the total timer. */
class Exchange extends HashInput implements Waiter {
  readonly backend: UpstreamBackend;
  readonly res: ServerResponse;
  readonly logger: Logger;
  readonly timeouts: UpstreamTimeouts;
  readonly retry: RetryPolicy | undefined;
  attempts = 0;
  tried: Target[] | undefined = undefined;
  /** The request body: the client stream, a size-checked iterable, or a buffer that can be sent again. */
  body: unknown = null;
  replayable = true;
  holdsSlot = false;
  counted = false;
  /** Retries this request holds in the upstream's retry budget. */
  retriesHeld = 0;
  /** The total timeout fired: no retry after that. */
  expired = false;
  done = false;
  totalTimer: NodeJS.Timeout | undefined = undefined;
  current: ProxyHandler | undefined = undefined;
  lastError: ErrorCode = 'upstream_unavailable';
  startedAt = 0;
  /** What the adaptive limiter learns from this request: set when a response or a failure is known. */
  outcome: { latencyMs: number; ok: boolean } | undefined = undefined;

  constructor(backend: UpstreamBackend, ctx: RequestContext, res: ServerResponse) {
    super(ctx, backend.upstream);
    this.backend = backend;
    this.res = res;
    this.logger = backend.logger;
    this.timeouts = backend.options.timeouts;
    this.retry = backend.options.retry;
  }

  begin(): void {
    const limiter = this.upstream.limiter;
    if (limiter === undefined) return this.#prepare();
    const r = limiter.acquire(this);
    if (r === 'now') {
      this.holdsSlot = true;
      return this.#prepare();
    }
    if (r === 'full') return this.#overloaded('queue full');
    // Queued: a client that leaves gives its place up.
    this.ctx.abortBackend = () => {
      limiter.cancel(this);
      this.done = true;
    };
  }

  /** The limiter grants a slot (Waiter). */
  grant(): void {
    this.ctx.abortBackend = undefined;
    this.holdsSlot = true;
    if (this.ctx.clientGone) return this.#end();
    this.#prepare();
  }

  /** The queue wait timed out (Waiter). */
  reject(): void {
    this.ctx.abortBackend = undefined;
    this.#overloaded('queue timeout');
  }

  #overloaded(detail: string): void {
    this.done = true;
    const after = String(this.upstream.limiter?.retryAfterSeconds() ?? 1);
    this.#reply(problemReply('upstream_overloaded', detail, { 'retry-after': after }));
  }

  /** Decides how the body travels: buffered when a retry may need to send it again, otherwise streamed. */
  #prepare(): void {
    const ctx = this.ctx;
    if (!requestHasBody(ctx)) return this.#start();
    const retry = this.retry;
    const cl = ctx.req.headers['content-length'];
    if (retry === undefined || retry.attempts <= 1 || cl === undefined || Number(cl) > retry.maxBufferedBody || !retry.mayRetryMethod(ctx.method)) {
      this.body = ctx.body ?? ctx.req;
      this.replayable = false;
      return this.#start();
    }
    const chunks: Buffer[] = [];
    ctx.req.on('data', (c: Buffer) => chunks.push(c));
    ctx.req.once('end', () => {
      this.body = Buffer.concat(chunks);
      this.#start();
    });
    ctx.req.once('error', () => this.#end());
  }

  #start(): void {
    if (this.ctx.clientGone) return this.#end();
    // Only requests that may retry take part in the retry budget: the rest cost nothing here.
    if (this.retry !== undefined && this.retry.attempts > 1) {
      this.upstream.budget.requestStarted();
      this.counted = true;
    }
    this.startedAt = performance.now();
    if (this.timeouts.total > 0) this.totalTimer = setTimeout(onTotalTimeout, this.timeouts.total, this);
    this.next();
  }

  /** Sends the next attempt, to a target this request has not tried when there is one. */
  next(): void {
    if (this.done) return;
    const upstream = this.upstream;
    let target = upstream.pick(this, this.tried);
    if (target === undefined && this.tried !== undefined) target = upstream.pick(this);
    if (target === undefined) {
      if (this.attempts === 0) {
        this.done = true;
        return this.#reply(problemReply('no_healthy_upstream', 'no target available', { 'retry-after': String(upstream.retryAfterSeconds()) }));
      }
      return this.fail(this.lastError);
    }
    this.attempts++;
    if (this.retry !== undefined && this.retry.attempts > 1) (this.tried ??= []).push(target);
    const ctx = this.ctx;
    ctx.target = target.origin;
    target.inflight++;
    const host = this.backend.options.host === 'preserve' ? clientHost(ctx) : this.backend.options.host;
    const handler = new ProxyHandler(this, target);
    this.current = handler;
    const headers = buildUpstreamHeaders(ctx, ctx.req.rawHeaders, { host });
    if (ctx.trace !== undefined) handler.span = ctx.trace.startAttempt(ctx, headers, target.origin, upstream.name, this.attempts);
    ctx.upstreamStart = performance.now();
    if (this.attempts === 1) ctx.upstreamFirstStart = ctx.upstreamStart;
    target.pool.dispatch({
      path: ctx.upstreamQuery === '' ? ctx.upstreamPath : `${ctx.upstreamPath}?${ctx.upstreamQuery}`,
      method: ctx.method as Dispatcher.HttpMethod,
      headers,
      // undici accepts async iterables and buffers as bodies; its typings only list streams.
      body: this.body as Dispatcher.DispatchOptions['body'],
      // The handler times the response and the body itself, exactly; undici's timers tick every half second. Its
      // headers timeout stays as the guard for what the handler cannot see: an upstream that stops reading a
      // request body it is still being sent.
      headersTimeout: this.timeouts.response,
      bodyTimeout: 0,
    }, handler);
  }

  /**
   * Whether an attempt that failed before anything reached the client may be retried: the policy allows this
   * failure, method and attempt count, the body can be sent again, and the retry budget has room.
   */
  mayRetry(kind: 'connect-failure' | 'reset' | 'timeout' | undefined, status?: number): boolean {
    const retry = this.retry;
    if (retry === undefined || this.attempts >= retry.attempts || this.done || this.expired || this.ctx.clientGone || !this.replayable) return false;
    if (status !== undefined ? !retry.retryableStatus(status) : kind === undefined || !retry.retryableError(kind)) return false;
    if (!retry.mayRetryMethod(this.ctx.method)) return false;
    if (!this.upstream.budget.tryStartRetry()) return false;
    this.retriesHeld++;
    return true;
  }

  /** Schedules the next attempt after the back-off. */
  retryLater(): void {
    const retry = this.retry!;
    const delay = backoffDelay(this.attempts, retry.backoffBase, retry.backoffMax);
    const t = setTimeout(onRetry, delay, this);
    this.ctx.abortBackend = () => {
      clearTimeout(t);
      this.#end();
    };
  }

  /** The exchange is over: the response was relayed, or the client went away. */
  finished(): void {
    this.#end();
  }

  /** No (more) attempts: answer the client with the failure, unless a response already started. */
  fail(code: ErrorCode): void {
    if (this.done) return;
    const ctx = this.ctx;
    const res = this.res;
    this.#end();
    if (res.destroyed || ctx.clientGone) return;
    if (!res.headersSent) {
      const instead = ctx.responseTap?.failed(code);
      if (instead !== undefined) return sendReply(ctx, res, instead, ctx.route?.chain, this.logger);
      // A request body cut short leaves unread bytes on the connection: close it after the answer.
      const close = code === 'payload_too_large' || code === 'bad_request' ? closeConnection(ctx.req, res) : undefined;
      sendReply(ctx, res, problemReply(code, undefined, close), ctx.route?.chain, this.logger);
    } else {
      // The status line is out: the only honest signal left is to cut the connection.
      ctx.errorCode = code;
      res.destroy();
    }
  }

  /** The total timer fired. */
  totalExpired(): void {
    if (this.done) return;
    this.expired = true;
    const err = new GatewayError('upstream_timeout', 'total timeout');
    const h = this.current;
    // Before undici has a connection for the request there is nothing to abort: answer now, and onConnect drops it.
    if (h !== undefined && h.abort !== undefined && !h.settled) h.abort(err);
    else this.fail('upstream_timeout');
  }

  #reply(reply: ReturnType<typeof problemReply>): void {
    this.#end();
    if (this.ctx.clientGone || this.res.headersSent) return;
    const instead = this.ctx.responseTap?.failed(reply.code!);
    sendReply(this.ctx, this.res, instead ?? reply, this.ctx.route?.chain, this.logger);
  }

  /** A tap diverted the exchange: the upstream's answer was read and dropped; send the tap's reply instead. */
  divert(reply: Reply): void {
    this.#end();
    if (!this.ctx.clientGone && !this.res.headersSent) sendReply(this.ctx, this.res, reply, this.ctx.route?.chain, this.logger);
  }

  #end(): void {
    if (this.holdsSlot) {
      this.holdsSlot = false;
      // A request that never reached the upstream (client gone, no target) teaches the limiter nothing.
      this.upstream.limiter!.release(this.outcome);
    }
    if (this.counted) {
      this.counted = false;
      this.upstream.budget.requestFinished();
    }
    for (; this.retriesHeld > 0; this.retriesHeld--) this.upstream.budget.retryFinished();
    this.done = true;
    this.ctx.abortBackend = undefined;
    if (this.totalTimer !== undefined) clearTimeout(this.totalTimer);
  }
}

function onRetry(ex: Exchange): void {
  ex.ctx.abortBackend = undefined;
  ex.next();
}

function onTotalTimeout(ex: Exchange): void {
  ex.totalExpired();
}

/** The Host the client asked for, port included: Host on HTTP/1.1, :authority on HTTP/2. */
function clientHost(ctx: RequestContext): string {
  return ctx.req.headers.host ?? (ctx.req as { authority?: string }).authority ?? ctx.host;
}

/**
 * undici's dispatch handler (its native callback interface, which it calls without adapting), one per attempt.
 *
 * Timing: `timer` is the response timeout from the moment the request is sent, then the idle timeout between body
 * chunks (not counting time the gateway itself is paused on a slow client). Native timers, so they fire on time.
 */
class ProxyHandler implements Dispatcher.DispatchHandler {
  readonly ex: Exchange;
  readonly target: Target;
  abort: ((err: Error) => void) | undefined = undefined;
  resume: (() => void) | undefined = undefined;
  timer: NodeJS.Timeout | undefined = undefined;
  /** Created on the first backpressure only: resumes the upstream and restarts the idle clock. */
  drained: (() => void) | undefined = undefined;
  /** This attempt is over (completed, failed, or given up for a retry). */
  settled = false;
  /** The upstream's answer is being thrown away because a retry follows. */
  discarding = false;
  /** The attempt's CLIENT span, when the request's trace records; its status code, once headers came. */
  span: Span | undefined = undefined;
  status = 0;
  /** What the response tap sends instead of the upstream's answer (whose body is read and dropped). */
  diverted: Reply | undefined = undefined;

  constructor(ex: Exchange, target: Target) {
    this.ex = ex;
    this.target = target;
  }

  onConnect(abort: (err?: Error) => void): void {
    const ex = this.ex;
    // The client left, or the total timeout answered, while the request waited for a connection: never send it.
    if (ex.done || ex.ctx.clientGone) {
      abort(new GatewayError('bad_request', 'exchange already over'));
      return;
    }
    this.abort = abort as (err: Error) => void;
    ex.ctx.abortBackend = this.abort;
  }

  onRequestSent(): void {
    // An upstream may answer before it has the whole body; its response then already runs on the idle clock.
    const response = this.ex.timeouts.response;
    if (this.resume === undefined && response > 0) this.timer = setTimeout(onTimer, response, this);
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void): boolean {
    if (statusCode < 200) return true;
    this.status = statusCode;
    const ex = this.ex;
    const ctx = ex.ctx;
    ctx.upstreamHeaders = performance.now();
    const latencyMs = ctx.upstreamHeaders - ctx.upstreamStart;
    if (ex.mayRetry(undefined, statusCode)) {
      this.#settle();
      ex.upstream.report(this.target, { ok: false, status: statusCode, latencyMs });
      this.discarding = true;
      this.abort?.(new GatewayError('upstream_error', 'retrying'));
      ex.retryLater();
      return false;
    }
    this.resume = resume;
    this.#armIdle();
    ex.upstream.report(this.target, { ok: true, status: statusCode, latencyMs });
    // Time to response headers: a slow client reading the body must not look like a slow upstream.
    ex.outcome = { latencyMs, ok: statusCode < 500 };
    const tap = ctx.responseTap;
    if (tap !== undefined && (this.diverted = tap.headers(statusCode, rawHeaders)) !== undefined) return true;
    runResponsePhase(ctx, ctx.route?.chain, statusCode, ex.logger);
    const headers = buildClientHeaders(rawHeaders, ctx.responseHeaders);
    try {
      ex.res.writeHead(statusCode, headers);
    } catch (err) {
      ex.logger.warn('upstream response rejected', { requestId: ctx.id, err });
      this.abort?.(new GatewayError('upstream_error', 'invalid response headers'));
      return false;
    }
    return true;
  }

  onData(chunk: Buffer): boolean {
    this.timer?.refresh();
    if (this.diverted !== undefined) return true;
    const ex = this.ex;
    ex.ctx.bytesOut += chunk.length;
    ex.ctx.responseTap?.data(chunk);
    const res = ex.res;
    const ok = res.write(chunk);
    if (!ok) {
      // A response destroyed under us never drains: stop the upstream rather than wait on it forever.
      if (res.destroyed) this.abort?.(new GatewayError('bad_request', 'client closed the connection'));
      else res.once('drain', (this.drained ??= () => this.#onDrain()));
    }
    return ok;
  }

  onComplete(): void {
    this.#settle();
    if (this.diverted !== undefined) return this.ex.divert(this.diverted);
    this.ex.ctx.responseTap?.end();
    this.ex.finished();
    this.ex.res.end();
  }

  onError(err: Error): void {
    if (this.discarding) return;
    const wasSettled = this.settled;
    this.#settle(err);
    const ex = this.ex;
    if (this.diverted !== undefined) return wasSettled ? undefined : ex.divert(this.diverted);
    if (this.resume !== undefined && !wasSettled) ex.ctx.responseTap?.aborted();
    if (wasSettled || ex.done) return;
    const code = upstreamErrorCode(err);
    const beforeResponse = this.resume === undefined;
    if (beforeResponse && code !== 'bad_request' && code !== 'payload_too_large') {
      const kind = RetryPolicy.classify(err);
      ex.upstream.report(this.target, { ok: false, timeout: code === 'upstream_timeout' });
      ex.outcome = { latencyMs: performance.now() - ex.ctx.upstreamStart, ok: false };
      ex.lastError = code;
      if (ex.mayRetry(kind)) return ex.retryLater();
    }
    ex.fail(code);
  }

  /** The response or idle timer fired. */
  expired(): void {
    if (this.settled) return;
    if (this.resume !== undefined && this.ex.res.writableNeedDrain) {
      // Paused on a slow client: the upstream is not the one idling.
      this.timer!.refresh();
      return;
    }
    const what = this.resume === undefined ? 'response timeout' : 'idle timeout';
    this.abort?.(new GatewayError('upstream_timeout', what));
  }

  #armIdle(): void {
    const { idle, response } = this.ex.timeouts;
    if (this.timer !== undefined && idle === response) {
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

  #settle(err?: Error): void {
    if (this.settled) return;
    this.settled = true;
    if (this.span !== undefined) endAttempt(this.span, this.status, err === undefined ? undefined : upstreamErrorCode(err));
    this.target.inflight--;
    const ctx = this.ex.ctx;
    if (ctx.abortBackend === this.abort) ctx.abortBackend = undefined;
    if (this.timer !== undefined) clearTimeout(this.timer);
  }
}

function onTimer(handler: ProxyHandler): void {
  handler.expired();
}
