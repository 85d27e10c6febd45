import type { ServerResponse } from 'node:http';
import type { RequestContext } from '../core/context.ts';
import type { Backend, GatewayResponse } from '../core/route.ts';
import type { Logger } from '../core/logger.ts';
import { GatewayError, type ErrorCode } from '../core/errors.ts';
import { problemReply, runResponsePhase, sendReply } from '../core/pipeline.ts';
import { readBody } from '../identity/body.ts';
import { HOP_BY_HOP } from '../upstream/headers.ts';
import type { RouteFunctionConfigT } from '../config/schema/function.ts';
import { awsErrorAnswer, eventV1, eventV2, responseV1, responseV2, type HttpAnswer, type HttpRequestView } from './events/index.ts';
import { InvokeError, type FunctionInvoker, type InvokeFailure } from './types.ts';

/** Lambda's limit on a synchronous invocation's event (6 MB): a body base64-encoded in the event grows by a third. */
export const MAX_EVENT_BYTES = 6 * 1024 * 1024;

/** What a failure answers on a `problem` route: the code, and the status for payload 1.0 / 2.0 (API Gateway's). */
const FAILURES: Record<InvokeFailure | 'function_error' | 'malformed', { code: ErrorCode; v1: number; v2: number; aws: Parameters<typeof awsErrorAnswer>[1] }> = {
  function_error: { code: 'function_error', v1: 502, v2: 500, aws: 'function_error' },
  malformed: { code: 'function_error', v1: 502, v2: 500, aws: 'malformed' },
  init_failed: { code: 'function_unavailable', v1: 503, v2: 503, aws: 'unavailable' },
  unavailable: { code: 'function_unavailable', v1: 503, v2: 503, aws: 'unavailable' },
  timeout: { code: 'function_timeout', v1: 504, v2: 504, aws: 'timeout' },
  throttled: { code: 'function_throttled', v1: 429, v2: 429, aws: 'throttled' },
  aborted: { code: 'bad_request', v1: 400, v2: 400, aws: 'unavailable' },
};

/**
 * A route served by a Lambda-compatible function: the request becomes a payload 1.0 or 2.0 event, the function's
 * result becomes the response, field for field as API Gateway maps them (src/functions/events/). Failures answer
 * problem+json with a stable code, or API Gateway's own bodies on routes with `errors: aws`.
 */
export class FunctionBackend implements Backend {
  readonly kind = 'function';
  readonly invoker: FunctionInvoker;
  readonly config: RouteFunctionConfigT;
  /** The route's path pattern, for `resource` / `routeKey`. */
  readonly routePath: string;
  /** The method of `routeKey`: `ANY` for a route of every method, its one method, else the request's. */
  readonly routeMethod: string | undefined;
  readonly logger: Logger;

  constructor(invoker: FunctionInvoker, config: RouteFunctionConfigT, route: { path: string; methods: readonly string[] | undefined }, logger: Logger) {
    this.invoker = invoker;
    this.config = config;
    this.routePath = route.path;
    this.routeMethod = route.methods === undefined ? 'ANY' : route.methods.length === 1 ? route.methods[0] : undefined;
    this.logger = logger;
  }

  serve(ctx: RequestContext, res: GatewayResponse): void {
    void this.#serve(ctx, res as ServerResponse);
  }

  async #serve(ctx: RequestContext, res: ServerResponse): Promise<void> {
    const format = this.config.payloadFormat;
    let body: Buffer | undefined;
    try {
      body = hasBody(ctx) ? await readBody(ctx) : undefined;
    } catch (err) {
      const code = err instanceof GatewayError ? err.code : 'bad_request';
      return sendReply(ctx, res, problemReply(code), ctx.route?.chain, this.logger);
    }
    const view = requestView(ctx, this.routePath, this.routeMethod, body, format);
    const event = format === '1.0' ? eventV1(view, this.config.binaryMediaTypes) : eventV2(view);
    const payload = Buffer.from(JSON.stringify(event));
    if (payload.length > MAX_EVENT_BYTES) {
      return sendReply(ctx, res, problemReply('payload_too_large', `the function's event would be ${payload.length} bytes; Lambda takes at most ${MAX_EVENT_BYTES}`), ctx.route?.chain, this.logger);
    }
    const abort = new AbortController();
    ctx.abortBackend = () => abort.abort();
    ctx.target = `function:${this.invoker.name}`;
    ctx.upstreamStart = ctx.upstreamFirstStart = performance.now();
    try {
      const result = await this.invoker.invoke({
        payload, requestId: ctx.id, traceId: ctx.trace?.xrayHeader(), signal: abort.signal,
      });
      ctx.upstreamHeaders = performance.now();
      ctx.abortBackend = undefined;
      if (ctx.clientGone) return;
      if (result.status === 'error') return this.#fail(ctx, res, 'function_error', 'the function failed; see the gateway log');
      const mapped = format === '1.0' ? responseV1(result.payload, ctx.header('accept'), this.config.binaryMediaTypes) : responseV2(result.payload);
      if (!mapped.ok) return this.#fail(ctx, res, 'malformed', `malformed function response: ${mapped.reason}`);
      this.#send(ctx, res, mapped.answer);
    } catch (err) {
      ctx.abortBackend = undefined;
      if (ctx.clientGone) return;
      if (!(err instanceof InvokeError)) {
        this.logger.error('function invocation failed', { requestId: ctx.id, function: this.invoker.name, err });
        return this.#fail(ctx, res, 'unavailable', undefined);
      }
      this.#fail(ctx, res, err.failure, err.message);
    }
  }

  #fail(ctx: RequestContext, res: ServerResponse, failure: keyof typeof FAILURES, detail: string | undefined): void {
    const f = FAILURES[failure];
    ctx.errorCode = f.code;
    const format = this.config.payloadFormat;
    if (this.config.errors === 'aws') return this.#send(ctx, res, awsErrorAnswer(format, f.aws));
    const status = format === '1.0' ? f.v1 : f.v2;
    sendReply(ctx, res, { status, code: f.code, detail }, ctx.route?.chain, this.logger);
  }

  #send(ctx: RequestContext, res: ServerResponse, answer: HttpAnswer): void {
    runResponsePhase(ctx, ctx.route?.chain, answer.status, this.logger);
    const edits = ctx.responseHeaders;
    const headers: string[] = [];
    for (const [name, value] of answer.headers) {
      const lower = name.toLowerCase();
      if (HOP_BY_HOP.has(lower) || lower === 'content-length' || edits.overrides(lower)) continue;
      headers.push(name, value);
    }
    if (!edits.empty) edits.appendTo(headers);
    const bodyless = answer.status === 204 || answer.status === 304 || answer.status < 200;
    if (!bodyless) headers.push('content-length', String(answer.body.length));
    try {
      res.writeHead(answer.status, headers);
    } catch (err) {
      this.logger.warn('function response rejected', { requestId: ctx.id, function: this.invoker.name, err });
      return this.#fail(ctx, res, 'malformed', 'the function returned invalid headers');
    }
    if (ctx.method === 'HEAD' || bodyless) return void res.end();
    ctx.bytesOut += answer.body.length;
    res.end(answer.body);
  }
}

function hasBody(ctx: RequestContext): boolean {
  const h = ctx.req.headers;
  if (ctx.req.httpVersionMajor === 2) return !(ctx.req as { stream?: { endAfterHeaders?: boolean } }).stream?.endAfterHeaders;
  return h['transfer-encoding'] !== undefined || (h['content-length'] !== undefined && h['content-length'] !== '0');
}

/** The request as the event mapping sees it (also the base of Lambda authorizers' REQUEST events). */
export function requestView(ctx: RequestContext, routePath: string, routeMethod: string | undefined, body: Buffer | undefined, format: '1.0' | '2.0'): HttpRequestView {
  const req = ctx.req;
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const identity = ctx.identity;
  return {
    method: ctx.method,
    rawPath: q === -1 ? url : url.slice(0, q),
    rawQuery: ctx.upstreamQuery,
    rawHeaders: req.rawHeaders,
    body,
    sourceIp: ctx.clientIp,
    userAgent: ctx.header('user-agent'),
    routePath,
    routeMethod: routeMethod ?? ctx.method,
    routeName: ctx.route?.name ?? '-',
    pathParameters: decodedParams(ctx.params),
    stage: '$default',
    requestId: ctx.id,
    requestTimeEpoch: Math.round(performance.timeOrigin + ctx.startTime),
    domainName: ctx.host,
    protocol: req.httpVersionMajor === 2 ? 'HTTP/2.0' : `HTTP/${req.httpVersion}`,
    ...(identity !== undefined ? { authorizer: authorizerOf(ctx, format) } : {}),
  };
}

/** Path parameters as the function sees them: percent-decoded (a value that is not valid UTF-8 stays as sent). */
function decodedParams(params: Record<string, string | undefined>): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || !v.includes('%')) out[k] = v;
    else {
      try {
        out[k] = decodeURIComponent(v);
      } catch {
        out[k] = v;
      }
    }
  }
  return out;
}

/**
 * What authentication established, as API Gateway puts an authorizer's output in `requestContext.authorizer`: a
 * Lambda authorizer's as `{principalId, ...context}` (1.0) or its context alone (2.0, wrapped as `{lambda}`).
 */
function authorizerOf(ctx: RequestContext, format: '1.0' | '2.0'): Record<string, unknown> {
  const id = ctx.identity!;
  if (id.authorizerContext !== undefined) return format === '1.0' ? { principalId: id.subject, ...id.authorizerContext } : { ...id.authorizerContext };
  const out: Record<string, unknown> = { principalId: ctx.consumer?.id ?? id.subject };
  if (ctx.consumer !== undefined) out.consumer = ctx.consumer.name;
  if (id.claims !== undefined) out.claims = id.claims;
  if (id.scopes !== undefined && id.scopes.length > 0) out.scopes = [...id.scopes];
  return out;
}
