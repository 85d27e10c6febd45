import { STATUS_CODES, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { RequestContext } from './context.ts';
import type { CompiledChain, GatewayResponse } from './route.ts';
import type { PhaseHandler, PhaseResult } from './plugin.ts';
import type { Reply } from './reply.ts';
import type { Logger } from './logger.ts';
import type { RequestTrace } from '../observability/tracing/request-trace.ts';
import { ERRORS, GatewayError, problemBody, type ErrorCode } from './errors.ts';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

function isPromise(v: unknown): v is Promise<PhaseResult> {
  return v !== null && typeof v === 'object' && typeof (v as Promise<unknown>).then === 'function';
}

/**
 * Runs the request phases of a chain. Synchronous while every handler is (the common case costs no promise);
 * switches to async at the first handler that returns a promise. Resolves to the Reply that short-circuited, or
 * undefined to go on to the backend. A throwing handler becomes a 500 `internal_error` reply.
 */
export function runRequestPhases(
  ctx: RequestContext, handlers: readonly PhaseHandler[], logger: Logger,
): Reply | undefined | Promise<Reply | undefined> {
  for (let i = 0; i < handlers.length; i++) {
    let r: ReturnType<PhaseHandler>;
    try {
      r = handlers[i]!(ctx);
    } catch (err) {
      return pluginFailed(ctx, err, logger);
    }
    if (r === undefined) continue;
    if (isPromise(r)) return continueAsync(ctx, handlers, i, r, logger);
    return r;
  }
  return undefined;
}

/**
 * Runs the request phases of a chain, as `runRequestPhases` does; for a request whose trace records, each phase
 * with handlers runs inside a span of its own (one check for the rest).
 */
export function runChainPhases(ctx: RequestContext, chain: CompiledChain, logger: Logger): Reply | undefined | Promise<Reply | undefined> {
  const trace = ctx.trace;
  if (trace === undefined || !trace.recording) return runRequestPhases(ctx, chain.request, logger);
  return runTracedPhases(ctx, chain.phases, 0, trace, logger);
}

function runTracedPhases(
  ctx: RequestContext, phases: CompiledChain['phases'], from: number, trace: RequestTrace, logger: Logger,
): Reply | undefined | Promise<Reply | undefined> {
  for (let p = from; p < phases.length; p++) {
    const phase = phases[p]!;
    const span = trace.startPhase(phase.name, phase.plugins);
    const r = runRequestPhases(ctx, phase.handlers, logger);
    if (isPromise(r)) {
      return r.then((reply) => {
        trace.endPhase(span, reply);
        return reply ?? runTracedPhases(ctx, phases, p + 1, trace, logger);
      });
    }
    trace.endPhase(span, r);
    if (r !== undefined) return r;
  }
  return undefined;
}

async function continueAsync(
  ctx: RequestContext, handlers: readonly PhaseHandler[], index: number, pending: Promise<PhaseResult>, logger: Logger,
): Promise<Reply | undefined> {
  try {
    const first = await pending;
    if (first) return first;
    for (let i = index + 1; i < handlers.length; i++) {
      const r = await handlers[i]!(ctx);
      if (r) return r;
    }
    return undefined;
  } catch (err) {
    return pluginFailed(ctx, err, logger);
  }
}

function pluginFailed(ctx: RequestContext, err: unknown, logger: Logger): Reply {
  // A GatewayError is a deliberate answer (a body over the limit while a plugin reads it, say), not a bug.
  if (err instanceof GatewayError) return { status: ERRORS[err.code].status, code: err.code, detail: err.message };
  logger.error('plugin failed', { requestId: ctx.id, route: ctx.route?.name, err });
  return { status: 500, code: 'internal_error' };
}

/** Runs the response handlers (header edits); a throwing one is logged and skipped, never fails the response. */
export function runResponsePhase(ctx: RequestContext, chain: CompiledChain | undefined, status: number, logger: Logger): void {
  ctx.status = status;
  if (chain === undefined) return;
  const handlers = chain.response;
  for (let i = 0; i < handlers.length; i++) {
    try {
      handlers[i]!(ctx, status);
    } catch (err) {
      logger.error('plugin response handler failed', { requestId: ctx.id, route: ctx.route?.name, err });
    }
  }
}

/** Runs the log handlers once the exchange is over. They can never affect the request, so errors are only logged. */
export function runLogPhase(ctx: RequestContext, chain: CompiledChain | undefined, logger: Logger): void {
  if (chain === undefined) return;
  const handlers = chain.log;
  for (let i = 0; i < handlers.length; i++) {
    try {
      handlers[i]!(ctx);
    } catch (err) {
      logger.error('plugin log handler failed', { requestId: ctx.id, err });
    }
  }
}

/** Renders a reply's headers and body: problem replies get their problem+json body with the request id. */
export function renderReply(ctx: RequestContext, reply: Reply): { headers: string[]; body: Buffer | string | undefined } {
  const headers: string[] = [];
  let body = reply.body;
  if (reply.code !== undefined) {
    body = problemBody(reply.code, reply.detail, ctx.id, reply.status);
    headers.push('content-type', PROBLEM_CONTENT_TYPE);
  }
  if (reply.headers !== undefined) {
    for (const [k, v] of Object.entries(reply.headers)) {
      const lower = k.toLowerCase();
      if (ctx.responseHeaders.overrides(lower) || (reply.code !== undefined && lower === 'content-type')) continue;
      if (typeof v === 'string') headers.push(k, v);
      else for (const x of v) headers.push(k, x);
    }
  }
  if (!ctx.responseHeaders.empty) ctx.responseHeaders.appendTo(headers);
  // RFC 9110 §8.6: no Content-Length on 1xx and 204 (nor a body); 304 carries no body either.
  if (reply.status === 204 || reply.status === 304 || reply.status < 200) return { headers, body: undefined };
  headers.push('content-length', body === undefined ? '0' : String(Buffer.byteLength(body)));
  return { headers, body };
}

/** Sends a gateway reply on a response that has not started. */
export function sendReply(
  ctx: RequestContext, res: GatewayResponse, reply: Reply, chain: CompiledChain | undefined, logger: Logger,
): void {
  if (reply.code !== undefined) ctx.errorCode = reply.code;
  runResponsePhase(ctx, chain, reply.status, logger);
  const { headers, body } = renderReply(ctx, reply);
  const r = res as ServerResponse;
  try {
    r.writeHead(reply.status, headers);
  } catch (err) {
    logger.error('invalid reply headers', { requestId: ctx.id, err });
    const fallback = problemBody('internal_error', undefined, ctx.id);
    r.writeHead(500, ['content-type', PROBLEM_CONTENT_TYPE, 'content-length', String(fallback.length)]);
    if (ctx.method === 'HEAD') r.end();
    else r.end(fallback);
    return;
  }
  if (ctx.method === 'HEAD' || body === undefined) r.end();
  else {
    ctx.bytesOut += typeof body === 'string' ? Buffer.byteLength(body) : body.length;
    r.end(body);
  }
}

export function problemReply(code: ErrorCode, detail?: string, headers?: Record<string, string>): Reply {
  return { status: ERRORS[code].status, code, detail, headers };
}

/** Writes a reply straight onto a socket: for requests that have no ServerResponse (upgrades, CONNECT, parse errors). */
export function writeRawReply(socket: Duplex, status: number, title: string, headers: readonly string[], body: string | Buffer | undefined): void {
  if (socket.destroyed) return;
  let head = `HTTP/1.1 ${status} ${title}\r\n`;
  for (let i = 0; i < headers.length; i += 2) head += `${headers[i]}: ${headers[i + 1]}\r\n`;
  head += 'connection: close\r\n\r\n';
  socket.end(body === undefined ? head : Buffer.concat([Buffer.from(head, 'latin1'), Buffer.from(body)]));
}

/** A gateway reply on a raw socket, with the response phase run as for any reply. */
export function sendRawReply(ctx: RequestContext, socket: Duplex, reply: Reply, chain: CompiledChain | undefined, logger: Logger): void {
  if (reply.code !== undefined) ctx.errorCode = reply.code;
  runResponsePhase(ctx, chain, reply.status, logger);
  const { headers, body } = renderReply(ctx, reply);
  writeRawReply(socket, reply.status, STATUS_CODES[reply.status] ?? 'Unknown', headers, body);
}
