import type { RequestContext } from '../core/context.ts';
import type { ErrorCode } from '../core/errors.ts';
import { pluginByName } from '../plugins/index.ts';

/**
 * The per-request side of the metrics: plain numbers in arrays and maps, updated where every exchange ends
 * (`record`), read by the exposition at scrape time. A prom-client `inc()`/`observe()` costs 200–350 ns (it
 * validates and hashes the label object on every call); a request here touches a few array cells found by index,
 * about 0.1 µs for the whole request. Every label value comes from a fixed list or from the config (route and
 * consumer names), never from the request itself, so the number of series is bounded whatever the traffic.
 */

/** Methods that get their own label value; anything else (WebDAV, HTTP/2's free-form methods) is `OTHER`. */
export const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE', 'CONNECT', 'OTHER'] as const;
/** `none`: the client went away before any response started. */
export const STATUS_CLASSES = ['none', '1xx', '2xx', '3xx', '4xx', '5xx'] as const;
/** The route label of requests no route took (404, 405, refused before routing). Route names can't contain `(`. */
export const NO_ROUTE = '(none)';
/** The consumer label past `maxConsumers`, and the auth method label when no method is named. */
export const OTHER = '(other)';
export const NO_METHOD = '(none)';

export function methodIndex(method: string): number {
  switch (method) {
    case 'GET': return 0;
    case 'HEAD': return 1;
    case 'POST': return 2;
    case 'PUT': return 3;
    case 'DELETE': return 4;
    case 'PATCH': return 5;
    case 'OPTIONS': return 6;
    case 'TRACE': return 7;
    case 'CONNECT': return 8;
    default: return 9;
  }
}

export function statusClassIndex(status: number): number {
  return status >= 100 && status < 600 ? (status / 100) | 0 : 0;
}

/** One histogram's cells: a count per bucket (not cumulative; the last one is `+Inf`), the sum and the count. */
export class HistogramCells {
  readonly bounds: Float64Array;
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(bounds: Float64Array) {
    this.bounds = bounds;
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    const b = this.bounds;
    const n = b.length;
    let i = 0;
    while (i < n && value > b[i]!) i++;
    this.counts[i]!++;
    this.sum += value;
    this.count++;
  }
}

/** Everything counted for one route name (or `(none)`). */
export class RouteSeries {
  readonly route: string;
  /** Request counts, `[method * STATUS_CLASSES.length + statusClass]`. */
  readonly requests = new Float64Array(METHODS.length * STATUS_CLASSES.length);
  /** Total duration, by method; created at the method's first request. */
  readonly durations: Array<HistogramCells | undefined> = new Array<HistogramCells | undefined>(METHODS.length).fill(undefined);
  upstream: HistogramCells | undefined = undefined;
  overhead: HistogramCells | undefined = undefined;
  bytesIn = 0;
  bytesOut = 0;
  errors: Map<ErrorCode, number> | undefined = undefined;
  /** Keyed `outcome \0 method`. */
  authFailures: Map<string, number> | undefined = undefined;

  constructor(route: string) {
    this.route = route;
  }
}

export interface SeriesSettings {
  readonly latencyBuckets: readonly number[];
  readonly overheadBuckets: readonly number[];
  readonly consumerLabels: boolean;
  readonly maxConsumers: number;
}

/**
 * The counts of one gateway. They live as long as the gateway, across reloads (a Prometheus counter only restarts
 * with the process); a route that a reload removed keeps its last values.
 */
export class RequestSeries {
  readonly routes = new Map<string, RouteSeries>();
  /** Per consumer name: request counts by status class. At most `maxConsumers` names, then `(other)`. */
  readonly consumers = new Map<string, Float64Array>();
  readonly otherConsumers = new Float64Array(STATUS_CLASSES.length);
  /** Requests the server refused before they became requests (malformed, header timeout…), by code. */
  readonly rejected = new Map<ErrorCode, number>();
  latencyBuckets = new Float64Array(0);
  overheadBuckets = new Float64Array(0);
  consumerLabels = false;
  maxConsumers = 100;

  /** Applies settings. Histograms whose buckets change start again: old counts don't fit the new buckets. */
  configure(s: SeriesSettings): void {
    const latency = Float64Array.from(s.latencyBuckets);
    const overhead = Float64Array.from(s.overheadBuckets);
    const latencyChanged = !sameBuckets(latency, this.latencyBuckets);
    const overheadChanged = !sameBuckets(overhead, this.overheadBuckets);
    if (latencyChanged) this.latencyBuckets = latency;
    if (overheadChanged) this.overheadBuckets = overhead;
    for (const r of this.routes.values()) {
      if (latencyChanged) {
        r.durations.fill(undefined);
        r.upstream = undefined;
      }
      if (overheadChanged) r.overhead = undefined;
    }
    this.consumerLabels = s.consumerLabels;
    this.maxConsumers = s.maxConsumers;
  }

  /** One finished exchange; `now` is performance.now() at its end. */
  record(ctx: RequestContext, now: number): void {
    const name = ctx.route === undefined ? NO_ROUTE : ctx.route.name;
    let s = this.routes.get(name);
    if (s === undefined) this.routes.set(name, (s = new RouteSeries(name)));
    const m = methodIndex(ctx.method);
    const status = ctx.status;
    const sc = statusClassIndex(status);
    s.requests[m * STATUS_CLASSES.length + sc]!++;
    // An upgraded connection lasts as long as the WebSocket: not a request latency.
    if (status !== 101) {
      (s.durations[m] ??= new HistogramCells(this.latencyBuckets)).observe((now - ctx.startTime) / 1000);
      const first = ctx.upstreamFirstStart;
      if (first > 0) {
        (s.overhead ??= new HistogramCells(this.overheadBuckets)).observe((first - ctx.startTime) / 1000);
        // A later attempt that got no response leaves the headers time of an earlier one behind.
        const start = ctx.upstreamStart;
        if (ctx.upstreamHeaders >= start) (s.upstream ??= new HistogramCells(this.latencyBuckets)).observe((ctx.upstreamHeaders - start) / 1000);
      }
    }
    s.bytesIn += ctx.bytesIn > 0 ? ctx.bytesIn : declaredLength(ctx);
    s.bytesOut += ctx.bytesOut;
    const code = ctx.errorCode;
    if (code !== undefined) (s.errors ??= new Map()).set(code, (s.errors.get(code) ?? 0) + 1);
    const auth = ctx.vars.auth;
    if (auth !== undefined) countAuthFailure(s, auth);
    if (this.consumerLabels && ctx.consumer !== undefined) this.#countConsumer(ctx.consumer.name, sc);
  }

  countRejected(code: ErrorCode): void {
    this.rejected.set(code, (this.rejected.get(code) ?? 0) + 1);
  }

  #countConsumer(name: string, sc: number): void {
    let cells = this.consumers.get(name);
    if (cells === undefined) {
      if (this.consumers.size >= this.maxConsumers) {
        this.otherConsumers[sc]!++;
        return;
      }
      this.consumers.set(name, (cells = new Float64Array(STATUS_CLASSES.length)));
    }
    cells[sc]!++;
  }
}

function sameBuckets(a: Float64Array, b: Float64Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Content-Length: exact for a body that has one (the parser holds the body to it). */
function declaredLength(ctx: RequestContext): number {
  const cl = ctx.req.headers['content-length'];
  if (cl === undefined) return 0;
  const n = Number(cl);
  return Number.isSafeInteger(n) && n > 0 ? n : 0;
}

/**
 * `ctx.vars.auth` is set by the authenticate step when it refuses a request: `{ outcome, reasons }`, each reason
 * `"<method>: <why>"`. The label is the first method named that is a known plugin, so it stays bounded.
 */
function countAuthFailure(s: RouteSeries, auth: unknown): void {
  const { outcome, reasons } = auth as { outcome?: unknown; reasons?: unknown };
  if (outcome !== 'absent' && outcome !== 'invalid' && outcome !== 'unavailable') return;
  let method = NO_METHOD;
  if (Array.isArray(reasons)) {
    for (const r of reasons) {
      const at = typeof r === 'string' ? r.indexOf(': ') : -1;
      if (at > 0 && pluginByName.has((r as string).slice(0, at))) {
        method = (r as string).slice(0, at);
        break;
      }
    }
  }
  const key = `${outcome}\u0000${method}`;
  (s.authFailures ??= new Map()).set(key, (s.authFailures.get(key) ?? 0) + 1);
}
