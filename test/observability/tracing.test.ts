import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SpanKind } from '@opentelemetry/api';
import { parseTraceParent } from '@opentelemetry/core';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { RequestContext, type GatewayRequest } from '../../src/core/context.ts';
import { ConfigError } from '../../src/config/errors.ts';
import { validateConfig } from '../../src/config/validate.ts';
import { silentLogger } from '../../src/core/logger.ts';
import { runChainPhases } from '../../src/core/pipeline.ts';
import type { CompiledChain } from '../../src/core/route.ts';
import type { PhaseHandler } from '../../src/core/plugin.ts';
import { RequestTrace } from '../../src/observability/tracing/request-trace.ts';
import { IdSource, formatTraceparent, parseTraceparent, setTraceHeaders } from '../../src/observability/tracing/trace-context.ts';
import { reconfigureTracing, tracingSettings } from '../../src/observability/tracing/gateway-tracing.ts';
import { formatXRayTraceHeader } from '../../src/observability/tracing/xray.ts';

const TRACE = '5759e988bd862e3fe1be46a994272793';
const SPAN = '53995c3f42cd8ad8';
const SC = { traceId: TRACE, spanId: SPAN, traceFlags: 1 };

function recorder() {
  const exporter = new InMemorySpanExporter();
  const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
  const tracer = provider.getTracer('test');
  const ctx = new RequestContext({ headers: {}, httpVersion: '1.1', httpVersionMajor: 1 } as unknown as GatewayRequest, 'GET', 'h', '/p', '', 'http', '127.0.0.1', performance.now());
  ctx.trace = RequestTrace.recorded(tracer, tracer.startSpan('GET r', { kind: SpanKind.SERVER }), false);
  /** The spans ended so far (the processor exports them after a turn). */
  const finished = async () => {
    await provider.forceFlush();
    return exporter.getFinishedSpans();
  };
  return { finished, ctx };
}

function chain(phases: Array<[CompiledChain['phases'][number]['name'], PhaseHandler[]]>): CompiledChain {
  const list = phases.map(([name, handlers]) => ({ name, handlers, plugins: handlers.map((_, i) => `${name}-${i}`) }));
  return { request: list.flatMap((p) => p.handlers), response: [], log: [], plugins: [], phases: list };
}

describe('trace headers', () => {
  it('parses traceparent exactly as @opentelemetry/core does', () => {
    const cases = [
      `00-${TRACE}-${SPAN}-01`, `00-${TRACE}-${SPAN}-00`, `00-${TRACE}-${SPAN}-ff`, `00-${TRACE}-${SPAN}-0g`,
      `01-${TRACE}-${SPAN}-01`, `cc-${TRACE}-${SPAN}-01-what-the-future-will-be-like`, `cc-${TRACE}-${SPAN}-01x`,
      `00-${TRACE}-${SPAN}-01-extra`, `ff-${TRACE}-${SPAN}-01`, `0f-${TRACE}-${SPAN}-01`, `0G-${TRACE}-${SPAN}-01`,
      `00-${TRACE.toUpperCase()}-${SPAN}-01`, `00-${'0'.repeat(32)}-${SPAN}-01`, `00-${TRACE}-${'0'.repeat(16)}-01`,
      `00-${TRACE.slice(1)}-${SPAN}-01`, `00-${TRACE}-${SPAN}01`, `00_${TRACE}-${SPAN}-01`, `00-${TRACE}-${SPAN}-1`,
      `00-${TRACE}-${SPAN}-01, 00-${TRACE}-${SPAN}-01`, `00-${TRACE}-${SPAN.slice(0, 15)}x-01`, '', 'garbage',
    ];
    for (const c of cases) {
      const core = parseTraceParent(c);
      const ours = parseTraceparent(c);
      assert.deepEqual(ours === undefined ? null : { traceId: ours.traceId, spanId: ours.spanId, traceFlags: ours.flags }, core, c);
      if (ours !== undefined) assert.equal(ours.sampled, (ours.flags & 1) === 1);
    }
    assert.equal(parseTraceparent([`00-${TRACE}-${SPAN}-01`]), undefined);
    assert.equal(parseTraceparent(undefined), undefined);
  });

  it('formats traceparent with the sampled flag only', () => {
    assert.equal(formatTraceparent(TRACE, SPAN, true), `00-${TRACE}-${SPAN}-01`);
    assert.equal(formatTraceparent(TRACE, SPAN, false), `00-${TRACE}-${SPAN}-00`);
  });

  it('replaces a client\'s trace headers, any case, and keeps the rest in order', () => {
    const tp = `00-${TRACE}-${SPAN}-01`;
    const headers = ['Accept', '*/*', 'TraceParent', 'bogus', 'x-a', '1', 'TRACESTATE', 'k=v', 'x-b', '2'];
    setTraceHeaders(headers, tp, 'gw=1,vendor=abc', true);
    assert.deepEqual(headers, ['Accept', '*/*', 'x-a', '1', 'x-b', '2', 'traceparent', tp, 'tracestate', 'gw=1,vendor=abc']);
    const plain = ['tracestate', 'k=v'];
    setTraceHeaders(plain, tp, undefined, true);
    assert.deepEqual(plain, ['traceparent', tp], 'no tracestate when the trace did not continue one');
    const clean = ['accept', '*/*'];
    setTraceHeaders(clean, tp, undefined, false);
    assert.deepEqual(clean, ['accept', '*/*', 'traceparent', tp], 'nothing to take out when the client sent none');
  });

  it('makes valid random ids, and hands a chosen trace id to the next root span only', () => {
    const ids = new IdSource();
    const seen = new Set<string>();
    for (let i = 0; i < 1000; i++) {
      const t = ids.traceId();
      const s = ids.spanId();
      assert.match(t, /^[0-9a-f]{32}$/);
      assert.match(s, /^[0-9a-f]{16}$/);
      seen.add(t);
    }
    assert.equal(seen.size, 1000);
    ids.nextTraceId = TRACE;
    assert.equal(ids.generateTraceId(), TRACE);
    assert.notEqual(ids.generateTraceId(), TRACE);
  });

  it('formats the X-Ray trace header of _X_AMZN_TRACE_ID from a span context', () => {
    assert.equal(formatXRayTraceHeader(SC), 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1');
    assert.equal(formatXRayTraceHeader({ ...SC, traceFlags: 0 }), 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0');
    assert.equal(formatXRayTraceHeader({ ...SC, traceId: '0'.repeat(32) }), undefined);
  });
});

describe('tracing config', () => {
  it('defaults: off, 1% sampling, parent-based, protobuf to localhost:4318', () => {
    const s = tracingSettings(undefined);
    assert.equal(s.enabled, false);
    assert.equal(s.sampleRate, 0.01);
    assert.equal(s.parentBased, true);
    assert.equal(s.serviceName, 'expeditor');
    assert.deepEqual(s.otlp, { endpoint: 'http://localhost:4318/v1/traces', protocol: 'http/protobuf', headers: {}, timeout: '10s', compression: 'none' });
    assert.deepEqual(s.batch, { maxQueueSize: 2048, maxExportBatchSize: 512, exportInterval: '5s' });
    assert.equal(reconfigureTracing(undefined, undefined, silentLogger), undefined, 'disabled: no tracer at all');
  });

  it('refuses a rate outside 0..1, an endpoint that is not http(s), and unknown keys', () => {
    const bad = (tracing: unknown) => assert.throws(() => validateConfig({ routes: [], tracing }), ConfigError, JSON.stringify(tracing));
    bad({ sampleRate: 1.5 });
    bad({ sampleRate: -0.1 });
    bad({ otlp: { endpoint: 'collector:4318' } });
    bad({ otlp: { protocol: 'grpc' } });
    bad({ sampler: 'always' });
    validateConfig({ routes: [], tracing: { enabled: true, sampleRate: 0.5, otlp: { endpoint: 'https://otel.example/v1/traces', headers: { 'api-key': 'x' } } } });
  });
});

describe('phase spans', () => {
  it('one INTERNAL span per phase that ran, children of the request, the answering phase with its status', async () => {
    const { finished, ctx } = recorder();
    const later: PhaseHandler = () => assert.fail('phases after an answer do not run');
    const r = runChainPhases(ctx, chain([
      ['rewrite', [() => undefined, () => undefined]],
      ['authenticate', [async () => undefined]],
      ['throttle', [() => Promise.resolve({ status: 429, code: 'rate_limited' })]],
      ['cacheLookup', [later]],
    ]), silentLogger);
    assert.ok(r instanceof Promise);
    assert.deepEqual(await r, { status: 429, code: 'rate_limited' });
    const spans = await finished();
    assert.deepEqual(spans.map((s) => s.name), ['rewrite', 'authenticate', 'throttle']);
    const server = ctx.trace!.span!.spanContext();
    for (const s of spans) {
      assert.equal(s.kind, SpanKind.INTERNAL);
      assert.equal(s.parentSpanContext?.spanId, server.spanId);
      assert.equal(s.spanContext().traceId, server.traceId);
    }
    assert.deepEqual(spans[0]!.attributes['expeditor.plugins'], ['rewrite-0', 'rewrite-1']);
    assert.equal(spans[2]!.attributes['http.response.status_code'], 429);
    assert.equal(spans[2]!.attributes['error.type'], 'rate_limited');
  });

  it('stays synchronous while the handlers are, and a throwing handler ends its span with the 500', async () => {
    const { finished, ctx } = recorder();
    const r = runChainPhases(ctx, chain([
      ['rewrite', [() => undefined]],
      ['authorize', [() => { throw new Error('bug'); }]],
    ]), silentLogger);
    assert.deepEqual(r, { status: 500, code: 'internal_error' });
    const [, authorize] = await finished();
    assert.equal(authorize!.name, 'authorize');
    assert.equal(authorize!.attributes['error.type'], 'internal_error');
    assert.equal(authorize!.status.code, 2);
  });

  it('an unsampled request runs the phases without spans', async () => {
    const { finished, ctx } = recorder();
    ctx.trace = RequestTrace.unsampled(`00-${TRACE}-${SPAN}-00`, undefined, false);
    assert.equal(runChainPhases(ctx, chain([['rewrite', [() => undefined]]]), silentLogger), undefined);
    assert.equal((await finished()).length, 0);
  });
});
