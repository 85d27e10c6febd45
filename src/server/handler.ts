import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { isIPv4 } from 'node:net';
import { RequestContext, type GatewayRequest } from '../core/context.ts';
import { GatewayError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import { problem, type Reply } from '../core/reply.ts';
import type { CompiledChain, GatewayResponse } from '../core/route.ts';
import { runChainPhases, runLogPhase, sendRawReply, sendReply } from '../core/pipeline.ts';
import { normalizeTarget } from '../router/normalize.ts';
import { normalizeHost } from '../router/route-table.ts';
import type { Runtime } from '../runtime/build.ts';
import type { GatewayMetrics } from '../observability/gateway-metrics.ts';
import type { GatewayAnalytics } from '../observability/analytics/analytics.ts';
import type { GatewayTracing } from '../observability/tracing/gateway-tracing.ts';
import { checkRequest, closeConnection, normalizeIp } from './hygiene.ts';

export interface HandlerHost {
  /** The live runtime; read once per request, which then runs on it to the end. */
  readonly runtime: Runtime;
  readonly logger: Logger;
  readonly draining: boolean;
  /** Counts every finished exchange for `GET /metrics` while `metrics.enabled`. */
  readonly metrics: GatewayMetrics;
  /** Rolls every finished exchange up per minute for `GET /analytics` while `analytics.enabled`. */
  readonly analytics: GatewayAnalytics;
  /** Traces requests while `tracing.enabled`; undefined otherwise. */
  readonly tracing: GatewayTracing | undefined;
}

const kState = Symbol('expeditor.state');
const kExpectContinue = Symbol('expeditor.expectContinue');

/** The client sent `Expect: 100-continue` and waits for a 100 before sending its body. */
export function markExpectContinue(req: GatewayRequest): void {
  (req as GatewayRequest & { [kExpectContinue]?: boolean })[kExpectContinue] = true;
}

/** Sends the 100 Continue a waiting client needs, once the gateway has decided to forward its body. */
export function sendContinueIfExpected(req: GatewayRequest, res: GatewayResponse): void {
  const r = req as GatewayRequest & { [kExpectContinue]?: boolean };
  if (r[kExpectContinue] === true) {
    r[kExpectContinue] = false;
    (res as ServerResponse).writeContinue();
  }
}

interface ExchangeState {
  ctx: RequestContext;
  chain: CompiledChain;
  logger: Logger;
  metrics: GatewayMetrics;
  analytics: GatewayAnalytics;
}

/** `miss`: no route took the request; the global plugins still run their request phases before the 404/405. */
type Prepared = { ctx: RequestContext; chain: CompiledChain; reply: Reply | undefined; miss?: boolean };

/**
 * Everything before the backend, shared by plain requests and upgrades: hygiene, normalisation, routing and the
 * context. Returns the reply to send instead when the request can't be routed.
 */
function prepare(host: HandlerHost, rt: Runtime, req: GatewayRequest, scheme: 'http' | 'https', start: number): Prepared {
  const url = req.url ?? '/';
  const peerIp = normalizeIp(req.socket?.remoteAddress);
  const hostName = normalizeHost(req.headers.host ?? (req as { authority?: string }).authority);
  const hygiene = checkRequest(req, url, rt.limits);
  const n = hygiene === undefined ? normalizeTarget(url, rt.paths) : undefined;
  const ok = n !== undefined && n.ok;
  const ctx = new RequestContext(req, req.method ?? 'GET', hostName, ok ? n.path : '/', ok ? n.query : '', scheme, peerIp, start);
  const trusted = rt.trustedProxies;
  if (trusted !== undefined && peerIp !== '' && trusted.check(peerIp, isIPv4(peerIp) ? 'ipv4' : 'ipv6')) {
    ctx.peerTrusted = true;
    ctx.clientIp = clientFromForwardedFor(req.headers['x-forwarded-for'], peerIp, rt);
  }
  if (hygiene !== undefined) return { ctx, chain: rt.globalChain, reply: hygiene };
  if (n !== undefined && !n.ok) return { ctx, chain: rt.globalChain, reply: problem('invalid_path', n.reason) };
  if (host.draining) return { ctx, chain: rt.globalChain, reply: problem('shutting_down', undefined, closeConnection(req) ?? {}) };

  const input = { method: ctx.method, host: hostName, headers: req.headers, query: ctx.query };
  let found = rt.table.lookup(ctx.path, input);
  if (found.kind === 'method' && ctx.method === 'OPTIONS') {
    // A CORS preflight is about the method it announces; route it there and let the route's plugins answer it.
    const acrm = req.headers['access-control-request-method'];
    if (typeof acrm === 'string' && req.headers.origin !== undefined) {
      const pre = rt.table.lookup(ctx.path, { ...input, method: acrm.trim().toUpperCase() });
      if (pre.kind === 'route') {
        ctx.preflight = true;
        found = pre;
      }
    }
  }
  if (found.kind === 'route') {
    const route = found.route;
    ctx.route = route;
    ctx.params = found.params;
    if (route.rewrite !== undefined) ctx.upstreamPath = route.rewrite(ctx);
    const cl = req.headers['content-length'];
    if (cl !== undefined && Number(cl) > route.maxBodyBytes) {
      return { ctx, chain: route.chain, reply: problem('payload_too_large', `body larger than ${route.maxBodyBytes} bytes`, closeConnection(req)) };
    }
    return { ctx, chain: route.chain, reply: undefined };
  }
  if (found.kind === 'method') {
    return { ctx, chain: rt.globalChain, reply: problem('method_not_allowed', `${ctx.method} not allowed`, { allow: found.allow.join(', ') }), miss: true };
  }
  return { ctx, chain: rt.globalChain, reply: problem('route_not_found'), miss: true };
}

/** The rightmost X-Forwarded-For entry that is not a trusted proxy: the nearest address nobody trusted vouches for. */
function clientFromForwardedFor(xff: string | string[] | undefined, peer: string, rt: Runtime): string {
  if (xff === undefined) return peer;
  const list = (Array.isArray(xff) ? xff.join(',') : xff).split(',');
  for (let i = list.length - 1; i >= 0; i--) {
    const ip = normalizeIp(list[i]!.trim());
    if (ip === '') continue;
    const family = isIPv4(ip) ? 'ipv4' : 'ipv6';
    try {
      if (!rt.trustedProxies!.check(ip, family)) return ip;
    } catch {
      return peer;
    }
  }
  return peer;
}

function onResponseClose(this: GatewayResponse & { [kState]?: ExchangeState }): void {
  const state = this[kState];
  if (state === undefined) return;
  this[kState] = undefined;
  const { ctx } = state;
  if (!this.writableFinished) {
    ctx.clientGone = true;
    ctx.abortBackend?.(new GatewayError('bad_request', 'client closed the connection'));
  }
  if (state.metrics.enabled) state.metrics.record(ctx);
  if (state.analytics.enabled) state.analytics.record(ctx);
  if (ctx.trace !== undefined) ctx.trace.end(ctx);
  runLogPhase(ctx, state.chain, state.logger);
}

/** Streams the body through, refusing it past the limit while it flows (for bodies without Content-Length). */
async function* limitBody(ctx: RequestContext, max: number): AsyncGenerator<Buffer> {
  for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
    ctx.bytesIn += chunk.length;
    if (ctx.bytesIn > max) throw new GatewayError('payload_too_large', `body larger than ${max} bytes`);
    yield chunk;
  }
}

export function createRequestHandler(host: HandlerHost, scheme: 'http' | 'https') {
  const proceed = (ctx: RequestContext, res: GatewayResponse, chain: CompiledChain, reply: Reply | undefined) => {
    if (ctx.clientGone) return;
    const logger = host.logger;
    if (reply !== undefined) return sendReply(ctx, res, reply, chain, logger);
    const route = ctx.route!;
    if (ctx.preflight) return sendReply(ctx, res, problem('method_not_allowed', 'preflight not answered by any plugin'), chain, logger);
    if (route.backend === undefined) return sendReply(ctx, res, problem('internal_error', 'route has no backend'), chain, logger);
    if (ctx.body === undefined && ctx.req.headers['content-length'] === undefined && needsBodyLimit(ctx.req)) {
      ctx.body = limitBody(ctx, route.maxBodyBytes);
    }
    sendContinueIfExpected(ctx.req, res);
    route.backend.serve(ctx, res);
  };

  return function onRequest(req: IncomingMessage, res: ServerResponse): void {
    const rt = host.runtime;
    const { ctx, chain, reply, miss } = prepare(host, rt, req, scheme, performance.now());
    const tracing = host.tracing;
    if (tracing !== undefined) ctx.trace = tracing.startRequest(ctx);
    (res as ServerResponse & { [kState]?: ExchangeState })[kState] = { ctx, chain, logger: host.logger, metrics: host.metrics, analytics: host.analytics };
    // A plugin that must read the body before deciding (a signature over it) has to invite it first.
    if ((req as GatewayRequest & { [kExpectContinue]?: boolean })[kExpectContinue] === true) ctx.sendContinue = () => sendContinueIfExpected(req, res);
    res.once('close', onResponseClose);
    // Node announces `Connection: close` on the last request maxRequestsPerSocket allows but leaves the socket
    // open; saying it ourselves makes Node close it once the response is out.
    if ((res as { maxRequestsOnConnectionReached?: boolean }).maxRequestsOnConnectionReached) res.setHeader('connection', 'close');
    if (reply !== undefined && miss !== true) return sendReply(ctx, res, reply, chain, host.logger);
    const r = runChainPhases(ctx, chain, host.logger);
    if (r === undefined || !(r instanceof Promise)) return proceed(ctx, res, chain, r ?? reply);
    r.then((reply2) => proceed(ctx, res, chain, reply2 ?? reply), (err) => {
      host.logger.error('request failed', { requestId: ctx.id, err });
      if (!res.headersSent) sendReply(ctx, res, problem('internal_error'), chain, host.logger);
      else res.destroy();
    });
  };
}

function needsBodyLimit(req: GatewayRequest): boolean {
  if (req.httpVersionMajor === 2) return !(req as { stream?: { endAfterHeaders?: boolean } }).stream?.endAfterHeaders;
  return req.headers['transfer-encoding'] !== undefined;
}

/** Handles an HTTP/1.1 upgrade (WebSocket) through the same routing and request phases as any request. */
export function createUpgradeHandler(host: HandlerHost, scheme: 'http' | 'https') {
  return function onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const rt = host.runtime;
    socket.on('error', () => {});
    const { ctx, chain, reply, miss } = prepare(host, rt, req, scheme, performance.now());
    const tracing = host.tracing;
    if (tracing !== undefined) ctx.trace = tracing.startRequest(ctx);
    socket.once('close', () => {
      if (host.metrics.enabled) host.metrics.record(ctx);
      if (host.analytics.enabled) host.analytics.record(ctx);
      if (ctx.trace !== undefined) ctx.trace.end(ctx);
      runLogPhase(ctx, chain, host.logger);
    });
    const go = (r: Reply | undefined) => {
      if (r !== undefined) return sendRawReply(ctx, socket, r, chain, host.logger);
      const route = ctx.route!;
      if (!route.websocket || route.backend?.upgrade === undefined) {
        return sendRawReply(ctx, socket, problem('bad_request', 'upgrade not allowed on this route'), chain, host.logger);
      }
      route.backend.upgrade(ctx, socket, head);
    };
    if (reply !== undefined && miss !== true) return go(reply);
    const r = runChainPhases(ctx, chain, host.logger);
    if (r instanceof Promise) r.then((r2) => go(r2 ?? reply), () => go(problem('internal_error')));
    else go(r ?? reply);
  };
}
