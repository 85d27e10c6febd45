import { ROOT_CONTEXT, SpanKind, SpanStatusCode, TraceFlags, trace, type Attributes, type Context, type Span, type SpanContext, type Tracer } from '@opentelemetry/api';
import { formatTraceparent, parseTraceparent, setTraceHeaders } from './trace-context.ts';
import { formatXRayTraceHeader } from './xray.ts';
import {
  ATTR_CLIENT_ADDRESS, ATTR_ERROR_TYPE, ATTR_HTTP_REQUEST_METHOD, ATTR_HTTP_REQUEST_METHOD_ORIGINAL,
  ATTR_HTTP_REQUEST_RESEND_COUNT, ATTR_HTTP_RESPONSE_STATUS_CODE, ATTR_HTTP_ROUTE, ATTR_NETWORK_PROTOCOL_VERSION,
  ATTR_SERVER_ADDRESS, ATTR_SERVER_PORT, ATTR_URL_FULL, ATTR_URL_PATH, ATTR_URL_SCHEME, ATTR_USER_AGENT_ORIGINAL,
} from '@opentelemetry/semantic-conventions';
import type { RequestContext } from '../../core/context.ts';
import type { ErrorCode } from '../../core/errors.ts';
import type { RequestPhase } from '../../core/plugin.ts';
import type { Reply } from '../../core/reply.ts';

/** Methods the HTTP semantic conventions know; any other is reported as `_OTHER` (bounded span names). */
const KNOWN_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE', 'CONNECT']);

function methodOf(method: string): string {
  return KNOWN_METHODS.has(method) ? method : '_OTHER';
}

const targets = new Map<string, { address: string; port: number }>();

/** A target origin's address and port, parsed once (a URL parse costs more than the rest of an attempt's span). */
function targetOf(origin: string): { address: string; port: number } {
  let t = targets.get(origin);
  if (t === undefined) {
    const url = new URL(origin);
    t = { address: url.hostname.replace(/^\[(.*)\]$/, '$1'), port: url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port) };
    // Origins come from the config and DNS discovery; a bound keeps a long run of changing addresses from piling up.
    if (targets.size >= 1000) targets.clear();
    targets.set(origin, t);
  }
  return t;
}

/** `{method} {route}` (the route's name), or `{method}` for a request no route took. */
export function serverSpanName(ctx: RequestContext): string {
  const m = methodOf(ctx.method);
  return ctx.route === undefined ? m : `${m} ${ctx.route.name}`;
}

/** The `traceparent` and `tracestate` values for a span's context. */
function headersOf(sc: SpanContext): [string, string | undefined] {
  return [formatTraceparent(sc.traceId, sc.spanId, (sc.traceFlags & TraceFlags.SAMPLED) === TraceFlags.SAMPLED), sc.traceState?.serialize()];
}

/**
 * The trace of one request, on `RequestContext.trace` while tracing is enabled. A sampled request has its SERVER
 * span (`span`, `recording`), with children for its phases and upstream attempts. An unsampled one has no span and
 * costs no OpenTelemetry call: it only carries the trace on, in the `traceparent` (flag 00) and `tracestate` given.
 * Spans end exactly once: phases when they return, attempts when they settle, the request when the exchange is over
 * (response finished or connection closed).
 */
export class RequestTrace {
  /** The SERVER span of a sampled request; undefined for the rest. */
  readonly span: Span | undefined;
  readonly recording: boolean;
  readonly #tracer: Tracer | undefined;
  /** Unsampled: what the upstream gets. */
  readonly #traceparent: string;
  readonly #tracestate: string | undefined;
  /** The client sent trace headers of its own, which must be taken out of what is forwarded. */
  readonly #strip: boolean;
  /** The context whose active span is the request's: the parent of phase and attempt spans (made on first use). */
  #parent: Context | undefined = undefined;

  /** A sampled request's trace, `span` its SERVER span; `strip`: the client sent trace headers. */
  static recorded(tracer: Tracer, span: Span, strip: boolean): RequestTrace {
    return new RequestTrace(tracer, span, '', undefined, strip);
  }

  /** An unsampled request's trace: only the headers that carry it on. */
  static unsampled(traceparent: string, tracestate: string | undefined, strip: boolean): RequestTrace {
    return new RequestTrace(undefined, undefined, traceparent, tracestate, strip);
  }

  private constructor(tracer: Tracer | undefined, span: Span | undefined, traceparent: string, tracestate: string | undefined, strip: boolean) {
    this.#tracer = tracer;
    this.span = span;
    this.recording = span !== undefined && span.isRecording();
    this.#traceparent = traceparent;
    this.#tracestate = tracestate;
    this.#strip = strip;
  }

  #child(name: string, kind: SpanKind, attributes: Attributes): Span {
    this.#parent ??= trace.setSpan(ROOT_CONTEXT, this.span!);
    return this.#tracer!.startSpan(name, { kind, attributes }, this.#parent);
  }

  /** An INTERNAL span for one request phase with handlers (recording traces only). */
  startPhase(phase: RequestPhase, plugins: readonly string[]): Span {
    return this.#child(phase, SpanKind.INTERNAL, { 'expeditor.phase': phase, 'expeditor.plugins': [...plugins] });
  }

  /** Ends a phase span; a reply means the phase answered the request itself (401, 429, a cache hit…). */
  endPhase(span: Span, reply: Reply | undefined): void {
    if (reply !== undefined) {
      span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, reply.status);
      if (reply.code !== undefined) span.setAttribute(ATTR_ERROR_TYPE, reply.code);
      if (reply.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    }
    span.end();
  }

  /**
   * One attempt upstream: a CLIENT span when recording, and the trace headers of `headers` set to the context the
   * upstream should continue (the attempt's span, or the request's when not recording). `attempt` counts from 1.
   */
  startAttempt(ctx: RequestContext, headers: string[], origin: string, upstream: string, attempt: number): Span | undefined {
    if (!this.recording) {
      this.propagate(headers);
      return undefined;
    }
    const target = targetOf(origin);
    const attributes: Attributes = {
      [ATTR_HTTP_REQUEST_METHOD]: methodOf(ctx.method),
      [ATTR_SERVER_ADDRESS]: target.address,
      [ATTR_SERVER_PORT]: target.port,
      // No query: it may carry credentials (an API key parameter), and the access log redacts them per route.
      [ATTR_URL_FULL]: `${origin}${ctx.upstreamPath}`,
      'expeditor.upstream': upstream,
    };
    if (attempt > 1) attributes[ATTR_HTTP_REQUEST_RESEND_COUNT] = attempt - 1;
    const span = this.#child(methodOf(ctx.method), SpanKind.CLIENT, attributes);
    setTraceHeaders(headers, ...headersOf(span.spanContext()), this.#strip);
    return span;
  }

  /**
   * The request's trace as an X-Ray trace header, for a function's `_X_AMZN_TRACE_ID` and
   * `Lambda-Runtime-Trace-Id`: the SERVER span when recording, else the context carried on.
   */
  xrayHeader(): string | undefined {
    if (this.span !== undefined) return formatXRayTraceHeader(this.span.spanContext());
    const tp = parseTraceparent(this.#traceparent);
    if (tp === undefined) return undefined;
    return formatXRayTraceHeader({ traceId: tp.traceId, spanId: tp.spanId, traceFlags: tp.sampled ? TraceFlags.SAMPLED : TraceFlags.NONE });
  }

  /** Propagates the request's own context (unsampled requests, and WebSocket handshakes, which get no attempt span). */
  propagate(headers: string[]): void {
    if (this.span === undefined) setTraceHeaders(headers, this.#traceparent, this.#tracestate, this.#strip);
    else setTraceHeaders(headers, ...headersOf(this.span.spanContext()), this.#strip);
  }

  /** Ends the SERVER span with what the exchange came to. */
  end(ctx: RequestContext): void {
    const span = this.span;
    if (span === undefined || !this.recording) return;
    const req = ctx.req;
    const method = methodOf(ctx.method);
    const attributes: Attributes = {
      [ATTR_HTTP_REQUEST_METHOD]: method,
      [ATTR_URL_PATH]: ctx.path,
      [ATTR_URL_SCHEME]: ctx.scheme,
      [ATTR_SERVER_ADDRESS]: ctx.host,
      [ATTR_CLIENT_ADDRESS]: ctx.clientIp,
      [ATTR_NETWORK_PROTOCOL_VERSION]: req.httpVersionMajor === 2 ? '2' : req.httpVersion,
      'expeditor.request_id': ctx.id,
    };
    if (method === '_OTHER') attributes[ATTR_HTTP_REQUEST_METHOD_ORIGINAL] = ctx.method;
    const ua = req.headers['user-agent'];
    if (ua !== undefined) attributes[ATTR_USER_AGENT_ORIGINAL] = ua;
    if (ctx.route !== undefined) attributes[ATTR_HTTP_ROUTE] = ctx.route.name;
    if (ctx.consumer !== undefined) attributes['expeditor.consumer'] = ctx.consumer.name;
    if (ctx.target !== undefined) attributes['expeditor.upstream.target'] = ctx.target;
    if (ctx.status > 0) attributes[ATTR_HTTP_RESPONSE_STATUS_CODE] = ctx.status;
    if (ctx.errorCode !== undefined) attributes[ATTR_ERROR_TYPE] = ctx.errorCode;
    else if (ctx.status >= 500) attributes[ATTR_ERROR_TYPE] = String(ctx.status);
    if (ctx.clientGone) attributes['expeditor.client_gone'] = true;
    span.setAttributes(attributes);
    // A server span is an error for 5xx only (4xx are the client's): HTTP semantic conventions.
    if (ctx.status >= 500 || (ctx.status === 0 && ctx.errorCode !== undefined)) span.setStatus({ code: SpanStatusCode.ERROR });
    span.end();
  }
}

/** Ends an attempt's CLIENT span: `status` is the upstream's (0: none), `code` the failure's, if it failed. */
export function endAttempt(span: Span, status: number, code: ErrorCode | undefined): void {
  if (status > 0) span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, status);
  if (code !== undefined) span.setAttribute(ATTR_ERROR_TYPE, code);
  else if (status >= 400) span.setAttribute(ATTR_ERROR_TYPE, String(status));
  // A client span is an error for 4xx and 5xx alike, and for every failure without a response.
  if (code !== undefined || status >= 400) span.setStatus({ code: SpanStatusCode.ERROR });
  span.end();
}
