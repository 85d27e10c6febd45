import type { Duplex } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { RequestContext } from '../core/context.ts';
import { GatewayError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import { problemReply, runResponsePhase, sendRawReply } from '../core/pipeline.ts';
import { buildUpstreamHeaders } from './headers.ts';
import type { Target, UpstreamTimeouts } from './pool.ts';
import { upstreamErrorCode } from './forward.ts';

/** Headers that make the 101 a WebSocket handshake: relayed from the upstream, never edited by plugins. */
const HANDSHAKE = /^(connection|upgrade|sec-websocket-.*)$/i;

/**
 * Proxies an HTTP/1.1 upgrade (WebSocket): sends the handshake upstream, relays the 101 and its headers (with the
 * route's response-plugin edits), then splices the two sockets. Anything but a 101 from the upstream is answered
 * 502 `upstream_error`; no answer within the response timeout, 504 `upstream_timeout`.
 */
export function proxyUpgrade(
  ctx: RequestContext, client: Duplex, head: Buffer, target: Target | undefined, host: string | undefined,
  timeouts: UpstreamTimeouts, logger: Logger,
): void {
  if (target === undefined) {
    sendRawReply(ctx, client, problemReply('upstream_unavailable', 'no target available'), ctx.route?.chain, logger);
    return;
  }
  ctx.target = target.origin;
  const headers = buildUpstreamHeaders(ctx, ctx.req.rawHeaders, { host });
  if (ctx.trace !== undefined) ctx.trace.propagate(headers);
  client.on('error', () => {});
  ctx.upstreamStart = performance.now();
  target.pool.dispatch({
    path: ctx.upstreamQuery === '' ? ctx.upstreamPath : `${ctx.upstreamPath}?${ctx.upstreamQuery}`,
    method: 'GET',
    headers,
    upgrade: String(ctx.req.headers.upgrade ?? 'websocket'),
    // Timed exactly by the handler; undici's coarse timer is only the fallback.
    headersTimeout: timeouts.response,
  }, new UpgradeHandler(ctx, client, head, timeouts.response, logger));
}

/** One per upgrade; until the 101, the client socket is only written to by this handler's replies. */
class UpgradeHandler implements Dispatcher.DispatchHandler {
  readonly ctx: RequestContext;
  readonly client: Duplex;
  readonly head: Buffer;
  readonly response: number;
  readonly logger: Logger;
  abort: ((err: Error) => void) | undefined = undefined;
  timer: NodeJS.Timeout | undefined = undefined;
  /** The exchange is answered (refused, timed out, failed) or handed over to the spliced sockets. */
  done = false;
  readonly onClientGone: () => void;

  constructor(ctx: RequestContext, client: Duplex, head: Buffer, response: number, logger: Logger) {
    this.ctx = ctx;
    this.client = client;
    this.head = head;
    this.response = response;
    this.logger = logger;
    this.onClientGone = () => this.abort?.(new GatewayError('bad_request', 'client closed'));
    client.once('close', this.onClientGone);
  }

  onConnect(abort: (err?: Error) => void): void {
    if (this.done || this.client.destroyed) {
      abort(new GatewayError('bad_request', 'client closed'));
      return;
    }
    this.abort = abort as (err: Error) => void;
  }

  onRequestSent(): void {
    if (this.response > 0) {
      this.timer = setTimeout(() => this.abort?.(new GatewayError('upstream_timeout', 'upgrade response timeout')), this.response);
    }
  }

  onHeaders(statusCode: number): boolean {
    if (statusCode < 200) return true;
    // The upstream answered the handshake with an ordinary response: it refused the upgrade.
    this.#reply('upstream_error', `upgrade refused (status ${statusCode})`);
    this.abort?.(new GatewayError('upstream_error', 'upgrade refused'));
    return false;
  }

  onData(): boolean {
    return true;
  }

  onComplete(): void {
    this.#reply('upstream_error', 'upgrade refused');
  }

  onUpgrade(statusCode: number, rawHeaders: Buffer[] | string[] | null, upstream: Duplex): void {
    const { ctx, client } = this;
    this.#settle();
    ctx.upstreamHeaders = performance.now();
    if (client.destroyed) {
      upstream.destroy();
      return;
    }
    // The route's response plugins (request-id, headers, cors) apply to the 101 as to any response; the handshake
    // headers themselves are the upstream's and are never edited away.
    runResponsePhase(ctx, ctx.route?.chain, statusCode, this.logger);
    const edits = ctx.responseHeaders;
    let response = `HTTP/1.1 ${statusCode} Switching Protocols\r\n`;
    const raw = (rawHeaders ?? []) as Buffer[];
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i]!.toString('latin1');
      if (!edits.empty && edits.overrides(name.toLowerCase()) && !HANDSHAKE.test(name)) continue;
      response += `${name}: ${raw[i + 1]!.toString('latin1')}\r\n`;
    }
    if (!edits.empty) {
      const added: string[] = [];
      edits.appendTo(added);
      for (let i = 0; i < added.length; i += 2) if (!HANDSHAKE.test(added[i]!)) response += `${added[i]}: ${added[i + 1]}\r\n`;
    }
    client.write(response + '\r\n');
    if (this.head.length > 0) upstream.write(this.head);
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
    upstream.once('close', () => client.destroy());
    client.once('close', () => upstream.destroy());
    upstream.pipe(client);
    client.pipe(upstream);
  }

  onError(err: Error): void {
    if (this.done || this.client.destroyed) {
      this.#settle();
      return;
    }
    this.logger.warn('upgrade failed', { requestId: this.ctx.id, route: this.ctx.route?.name, code: (err as { code?: string }).code });
    this.#reply(upstreamErrorCode(err));
  }

  #reply(code: Parameters<typeof problemReply>[0], detail?: string): void {
    if (this.done) return;
    this.#settle();
    sendRawReply(this.ctx, this.client, problemReply(code, detail), this.ctx.route?.chain, this.logger);
  }

  #settle(): void {
    this.done = true;
    this.client.off('close', this.onClientGone);
    clearTimeout(this.timer);
  }
}
