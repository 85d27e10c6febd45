import type { Duplex } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { RequestContext } from '../core/context.ts';
import type { Logger } from '../core/logger.ts';
import { problemReply, sendRawReply } from '../core/pipeline.ts';
import { buildUpstreamHeaders } from './headers.ts';
import type { Target, UpstreamTimeouts } from './pool.ts';
import { upstreamErrorCode } from './forward.ts';

/**
 * Proxies an HTTP/1.1 upgrade (WebSocket): sends the handshake upstream, relays the 101 and its headers verbatim,
 * then splices the two sockets. Anything but a 101 from the upstream is answered as a gateway error.
 */
export function proxyUpgrade(
  ctx: RequestContext, client: Duplex, head: Buffer, target: Target | undefined, host: string | undefined,
  timeouts: UpstreamTimeouts, logger: Logger,
): void {
  const chain = ctx.route?.chain;
  if (target === undefined) {
    sendRawReply(ctx, client, problemReply('upstream_unavailable', 'no target available'), chain, logger);
    return;
  }
  ctx.target = target.origin;
  const headers = buildUpstreamHeaders(ctx, ctx.req.rawHeaders, { host });
  let abort: ((err: Error) => void) | undefined;
  const onClientGone = () => abort?.(new Error('client closed'));
  client.once('close', onClientGone);
  client.on('error', () => {});
  ctx.upstreamStart = performance.now();
  const handler: Dispatcher.DispatchHandler = {
    onConnect(a) {
      abort = a as (err: Error) => void;
    },
    onHeaders() {
      // A non-101 answer to an upgrade: undici reports it as an error next.
      return true;
    },
    onData() {
      return true;
    },
    onComplete() {},
    onUpgrade(statusCode, rawHeaders, upstream) {
      client.off('close', onClientGone);
      ctx.upstreamHeaders = performance.now();
      ctx.status = statusCode;
      let response = `HTTP/1.1 ${statusCode} Switching Protocols\r\n`;
      const raw = rawHeaders as unknown as Buffer[];
      for (let i = 0; i < raw.length; i += 2) response += `${raw[i]!.toString('latin1')}: ${raw[i + 1]!.toString('latin1')}\r\n`;
      client.write(response + '\r\n');
      if (head.length > 0) upstream.write(head);
      upstream.on('error', () => client.destroy());
      client.on('error', () => upstream.destroy());
      upstream.once('close', () => client.destroy());
      client.once('close', () => upstream.destroy());
      upstream.pipe(client);
      client.pipe(upstream);
    },
    onError(err) {
      client.off('close', onClientGone);
      if (client.destroyed) return;
      logger.warn('upgrade failed', { requestId: ctx.id, route: ctx.route?.name, code: (err as { code?: string }).code });
      sendRawReply(ctx, client, problemReply(upstreamErrorCode(err)), chain, logger);
    },
  };
  target.pool.dispatch({
    path: ctx.query === '' ? ctx.upstreamPath : `${ctx.upstreamPath}?${ctx.query}`,
    method: 'GET',
    headers,
    upgrade: String(ctx.req.headers.upgrade ?? 'websocket'),
    headersTimeout: timeouts.response,
  }, handler);
}
