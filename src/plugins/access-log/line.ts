import type { RequestContext } from '../../core/context.ts';
import type { FieldFlags } from './fields.ts';
import { REDACTED, SECRET_HEADERS, SECRET_QUERY, redactQuery, redactUrl } from './redact.ts';

/** A request header to log, with what is known about it at config time. */
interface HeaderSpec {
  /** Lower case. */
  readonly name: string;
  /** Always written `[REDACTED]`. */
  readonly secret: boolean;
  /** Holds a URL whose query may carry secrets (Referer). */
  readonly url: boolean;
}

/** Everything the per-request builder needs, compiled once per plugin instance. */
export interface LineFormat {
  readonly fields: FieldFlags;
  /** Secret query names, lower case: the built-in ones and `redact.query`. */
  readonly secretQuery: ReadonlySet<string>;
  /** undefined when no header is logged. */
  readonly headers: readonly HeaderSpec[] | undefined;
}

export function compileFormat(fields: FieldFlags, headers: readonly string[], redactQueryNames: readonly string[], redactHeaders: readonly string[]): LineFormat {
  const secretHeaders = new Set([...SECRET_HEADERS, ...redactHeaders.map((h) => h.toLowerCase())]);
  const specs = headers.map((h) => {
    const name = h.toLowerCase();
    return { name, secret: secretHeaders.has(name), url: name === 'referer' };
  });
  return {
    fields,
    secretQuery: new Set([...SECRET_QUERY, ...redactQueryNames.map((q) => q.toLowerCase())]),
    headers: specs.length === 0 ? undefined : specs,
  };
}

/** Milliseconds to the microsecond. */
function ms(v: number): number {
  return Math.round(v * 1000) / 1000;
}

function contentLength(ctx: Readonly<RequestContext>): number | undefined {
  const cl = ctx.req.headers['content-length'];
  if (cl === undefined) return undefined;
  const n = Number(cl);
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

function headerValues(ctx: Readonly<RequestContext>, specs: readonly HeaderSpec[], format: LineFormat): Record<string, string> | undefined {
  let out: Record<string, string> | undefined;
  const routeSecrets = ctx.route?.secrets;
  for (const spec of specs) {
    const v = ctx.req.headers[spec.name];
    if (v === undefined) continue;
    const value = Array.isArray(v) ? v.join(', ') : String(v);
    (out ??= {})[spec.name] = spec.secret || (routeSecrets !== undefined && routeSecrets.headers.has(spec.name))
      ? REDACTED
      : spec.url ? redactUrl(value, format.secretQuery, routeSecrets) : value;
  }
  return out;
}

/**
 * The line for one finished exchange. One object literal with every field in a fixed order (so it keeps one
 * shape); fields not selected, or without a value, are undefined and left out by the serialiser. `level` says how
 * the request went, for log shippers: `info` below 400, `warn` for 4xx and no response, `error` for 5xx.
 */
export function buildLine(ctx: Readonly<RequestContext>, format: LineFormat): Record<string, unknown> {
  const f = format.fields;
  const latency = performance.now() - ctx.startTime;
  const upStart = ctx.upstreamStart;
  // A later attempt that got no response leaves the headers time of an earlier one behind.
  const upHeaders = ctx.upstreamHeaders >= upStart && upStart > 0 ? ctx.upstreamHeaders : 0;
  const route = ctx.route;
  const identity = ctx.identity;
  const status = ctx.status;
  return {
    level: status >= 500 ? 'error' : status >= 400 || status === 0 ? 'warn' : 'info',
    time: f.time ? new Date(Date.now() - latency).toISOString() : undefined,
    requestId: f.requestId ? ctx.id : undefined,
    method: f.method ? ctx.method : undefined,
    host: f.host && ctx.host !== '' ? ctx.host : undefined,
    path: f.path ? ctx.path : undefined,
    query: f.query && ctx.query !== '' ? redactQuery(ctx.query, format.secretQuery, route?.secrets) : undefined,
    protocol: f.protocol ? `HTTP/${ctx.req.httpVersion}` : undefined,
    status: f.status ? status : undefined,
    route: f.route ? route?.name : undefined,
    consumer: f.consumer ? ctx.consumer?.id : undefined,
    authMethod: f.authMethod ? identity?.method : undefined,
    credentialId: f.credentialId ? identity?.credentialId : undefined,
    clientIp: f.clientIp ? ctx.clientIp : undefined,
    peerIp: f.peerIp ? ctx.peerIp : undefined,
    userAgent: f.userAgent ? ctx.header('user-agent') : undefined,
    target: f.target ? ctx.target : undefined,
    latency: f.latency ? ms(latency) : undefined,
    upstreamLatency: f.upstreamLatency && upHeaders > 0 ? ms(upHeaders - upStart) : undefined,
    gatewayLatency: f.gatewayLatency ? ms(upStart > 0 ? upStart - ctx.startTime : latency) : undefined,
    errorCode: f.errorCode ? ctx.errorCode : undefined,
    authError: f.authError ? authReasons(ctx) : undefined,
    rateLimit: f.rateLimit ? ctx.vars.rateLimit as string | undefined : undefined,
    cache: f.cache ? ctx.vars.cache as string | undefined : undefined,
    bytesIn: f.bytesIn ? contentLength(ctx) ?? (ctx.bytesIn > 0 ? ctx.bytesIn : undefined) : undefined,
    bytesOut: f.bytesOut ? ctx.bytesOut : undefined,
    aborted: f.aborted && ctx.clientGone ? true : undefined,
    headers: format.headers === undefined ? undefined : headerValues(ctx, format.headers, format),
  };
}

/** Why authentication refused the request (set by the route's authenticate step): for operators, never clients. */
function authReasons(ctx: Readonly<RequestContext>): string | undefined {
  const auth = ctx.vars.auth as { reasons?: readonly string[] } | undefined;
  return auth?.reasons !== undefined && auth.reasons.length > 0 ? auth.reasons.join('; ') : undefined;
}
