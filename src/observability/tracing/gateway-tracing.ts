import { ROOT_CONTEXT, SpanKind, createTraceState, trace, type Tracer } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AlwaysOnSampler, BatchSpanProcessor, SamplingDecision, TraceIdRatioBasedSampler, TracerProvider,
  type ReadableSpan, type SpanExporter,
} from '@opentelemetry/sdk-trace';
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtobufExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import { Value } from '@sinclair/typebox/value';
import { TracingConfig, type TracingConfigT } from '../../config/schema/tracing.ts';
import { parseDuration } from '../../config/units.ts';
import type { RequestContext } from '../../core/context.ts';
import type { Logger } from '../../core/logger.ts';
import { VERSION } from '../../version.ts';
import { RequestTrace, serverSpanName } from './request-trace.ts';
import { IdSource, formatTraceparent, parseTraceparent } from './trace-context.ts';

/** The config's `tracing` section with its defaults. */
export function tracingSettings(config: TracingConfigT | undefined): TracingConfigT {
  return Value.Default(TracingConfig, structuredClone(config ?? {})) as TracingConfigT;
}

/** Export failures are logged at most this often: a collector that is down must not flood the log. */
const EXPORT_WARN_INTERVAL_MS = 60_000;

/**
 * A gateway's tracer while `tracing.enabled`: its own TracerProvider (nothing is registered globally, so several
 * gateways in one process, as tests run them, never mix their spans) with a batching OTLP/HTTP exporter. The gateway
 * makes one per distinct `tracing` section and shuts the old one down when a reload changes it.
 *
 * The sampling decision is made here, before any OpenTelemetry call: most requests are not sampled, and for them
 * the SDK's span machinery (contexts, a non-recording span, the W3C propagator's regular expression) cost several
 * times the few string operations that carry the trace on. A caller's decision is followed (parentBased), or made
 * again from its trace id with the SDK's TraceIdRatioBased sampler, so services agree; a trace the gateway starts
 * is sampled with probability sampleRate (no one else has decided on its id yet, and a random number costs less
 * than reading the id back). Sampled requests get SDK spans, whose provider then samples everything it is given.
 */
export class GatewayTracing {
  readonly settings: TracingConfigT;
  readonly #provider: TracerProvider;
  readonly #tracer: Tracer;
  readonly #ids = new IdSource();
  readonly #ratio: TraceIdRatioBasedSampler;
  readonly #rate: number;
  readonly #parentBased: boolean;

  constructor(settings: TracingConfigT, logger: Logger) {
    this.settings = settings;
    const { otlp, batch } = settings;
    this.#ratio = new TraceIdRatioBasedSampler(settings.sampleRate);
    this.#rate = settings.sampleRate;
    this.#parentBased = settings.parentBased;
    const exporterOptions = {
      url: otlp.endpoint,
      headers: otlp.headers,
      timeoutMillis: parseDuration(otlp.timeout),
      compression: otlp.compression as never,
    };
    const exporter = otlp.protocol === 'http/json' ? new JsonExporter(exporterOptions) : new ProtobufExporter(exporterOptions);
    this.#provider = new TracerProvider({
      sampler: new AlwaysOnSampler(),
      idGenerator: this.#ids,
      resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: settings.serviceName, [ATTR_SERVICE_VERSION]: VERSION }),
      spanProcessors: [new BatchSpanProcessor({
        exporter: new LoggingExporter(exporter, logger, otlp.endpoint),
        maxQueueSize: batch.maxQueueSize,
        maxExportBatchSize: Math.min(batch.maxExportBatchSize, batch.maxQueueSize),
        scheduledDelayMillis: parseDuration(batch.exportInterval),
        exportTimeoutMillis: parseDuration(otlp.timeout),
      })],
    });
    this.#tracer = this.#provider.getTracer('expeditor', VERSION);
  }

  /**
   * Starts the trace of a request, continuing the client's when it sent a valid `traceparent`. A sampled request
   * gets its SERVER span. An unsampled one passes the client's trace on as it came, flagged not sampled (the
   * gateway makes no span the upstream could point to), or a new trace id with a random parent id.
   */
  startRequest(ctx: RequestContext): RequestTrace {
    const headers = ctx.req.headers;
    const parent = parseTraceparent(headers.traceparent);
    const traceId = parent === undefined ? this.#ids.traceId() : parent.traceId;
    const sampled = parent === undefined
      ? Math.random() < this.#rate
      : this.#parentBased ? parent.sampled : this.#ratio.shouldSample(ROOT_CONTEXT, traceId).decision === SamplingDecision.RECORD_AND_SAMPLED;
    // A tracestate belongs to the traceparent it came with: dropped with an invalid one (W3C Trace Context §3.3).
    const rawState = parent === undefined ? undefined : headers.tracestate;
    const state = Array.isArray(rawState) ? rawState.join(',') : rawState;
    const strip = headers.traceparent !== undefined || headers.tracestate !== undefined;
    if (!sampled) return RequestTrace.unsampled(formatTraceparent(traceId, parent?.spanId ?? unsampledParentId(traceId, this.#ids), false), state, strip);
    let context = ROOT_CONTEXT;
    if (parent !== undefined) {
      context = trace.setSpanContext(ROOT_CONTEXT, {
        traceId, spanId: parent.spanId, traceFlags: parent.flags, isRemote: true,
        traceState: state === undefined ? undefined : createTraceState(state),
      });
    } else this.#ids.nextTraceId = traceId;
    const span = this.#tracer.startSpan(serverSpanName(ctx), { kind: SpanKind.SERVER, startTime: ctx.startTime }, context);
    return RequestTrace.recorded(this.#tracer, span, strip);
  }

  /** Exports every span that has ended so far. */
  flush(): Promise<void> {
    return this.#provider.forceFlush();
  }

  /** Exports what has ended, then stops: spans that end later (requests still in flight) are dropped. */
  shutdown(): Promise<void> {
    return this.#provider.shutdown();
  }
}

/**
 * The parent id a new, unsampled trace sends upstream. No span of the gateway's has it (none is recorded), so it
 * only has to be a valid id: the random low half of the trace id is one, and saves drawing another.
 */
function unsampledParentId(traceId: string, ids: IdSource): string {
  const low = traceId.slice(16);
  return low === '0000000000000000' ? ids.spanId() : low;
}

/**
 * Applies a (re)loaded config's `tracing` section: an unchanged section keeps the running tracer (and its queue);
 * a changed one starts a new tracer and flushes and shuts down the old one in the background. Returns undefined
 * while tracing is disabled: the request handler's whole cost is then one check for undefined.
 */
export function reconfigureTracing(current: GatewayTracing | undefined, config: TracingConfigT | undefined, logger: Logger): GatewayTracing | undefined {
  const settings = tracingSettings(config);
  if (current !== undefined && JSON.stringify(current.settings) === JSON.stringify(settings)) return current;
  if (current !== undefined) {
    current.shutdown().catch((err: unknown) => logger.warn('tracing: shutting down the previous exporter failed', { err }));
  }
  return settings.enabled ? new GatewayTracing(settings, logger) : undefined;
}

/** The exporter, with its failures logged (the SDK would only report them to OpenTelemetry's silent diag logger). */
class LoggingExporter implements SpanExporter {
  readonly #inner: SpanExporter;
  readonly #logger: Logger;
  readonly #endpoint: string;
  #lastWarning = -Infinity;
  #failedSince = 0;

  constructor(inner: SpanExporter, logger: Logger, endpoint: string) {
    this.#inner = inner;
    this.#logger = logger;
    this.#endpoint = endpoint;
  }

  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    this.#inner.export(spans, (result) => {
      if (result.code !== ExportResultCode.SUCCESS) this.#failed(spans.length, result.error);
      done(result);
    });
  }

  #failed(count: number, err: Error | undefined): void {
    this.#failedSince += count;
    const now = performance.now();
    if (now - this.#lastWarning < EXPORT_WARN_INTERVAL_MS) return;
    this.#lastWarning = now;
    this.#logger.warn('tracing: spans could not be exported; they are dropped', { endpoint: this.#endpoint, spans: this.#failedSince, err });
    this.#failedSince = 0;
  }

  shutdown(): Promise<void> {
    return this.#inner.shutdown();
  }

  forceFlush(): Promise<void> {
    return this.#inner.forceFlush?.() ?? Promise.resolve();
  }
}
