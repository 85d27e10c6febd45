import { Type, type Static } from '@sinclair/typebox';
import { Duration, Strict } from './common.ts';

export const OtlpConfig = Strict({
  endpoint: Type.String({
    pattern: '^https?://[^\\s]+$',
    default: 'http://localhost:4318/v1/traces',
    description: 'URL of the OTLP/HTTP traces endpoint (an OpenTelemetry Collector, Jaeger, Tempo…), path included: `http://collector:4318/v1/traces`.',
    errorMessage: 'must be an http:// or https:// URL such as "http://collector:4318/v1/traces"',
  }),
  protocol: Type.Union([Type.Literal('http/protobuf'), Type.Literal('http/json')], {
    default: 'http/protobuf',
    description: 'Encoding of the export requests: `http/protobuf` (the OTLP default, `application/x-protobuf`) or `http/json` (`application/json`). Collectors and Jaeger take both.',
  }),
  headers: Type.Record(Type.String(), Type.String(), {
    default: {},
    description: 'Extra headers on every export request (an API key, `authorization`). Use `${env:NAME}` interpolation to keep secrets out of the file.',
  }),
  timeout: Duration('Longest one export request may take; a batch that fails or times out is dropped (the requests it traced are not affected).', '10s'),
  compression: Type.Union([Type.Literal('none'), Type.Literal('gzip')], {
    default: 'none',
    description: 'Compression of the export requests\' bodies.',
  }),
}, { default: {}, description: 'Where and how finished spans are exported: OTLP over HTTP.' });

export const TracingBatchConfig = Strict({
  maxQueueSize: Type.Integer({
    minimum: 1,
    maximum: 1_000_000,
    default: 2048,
    description: 'Most finished spans kept waiting for export; past it new spans are dropped (the collector is too slow or down). A sampled request makes 2 to 7 spans.',
  }),
  maxExportBatchSize: Type.Integer({
    minimum: 1,
    maximum: 100_000,
    default: 512,
    description: 'Most spans in one export request (at most `maxQueueSize`). A full batch is exported at once, without waiting for the interval.',
  }),
  exportInterval: Duration('How long finished spans may wait before they are exported.', '5s'),
}, { default: {}, description: 'Batching of finished spans before export.' });

export const TracingConfig = Strict({
  enabled: Type.Boolean({
    default: false,
    description: 'Trace requests with OpenTelemetry and propagate W3C Trace Context (`traceparent`, `tracestate`) to upstreams. `false`: no per-request work, and a client\'s own trace headers are forwarded untouched.',
  }),
  sampleRate: Type.Number({
    minimum: 0,
    maximum: 1,
    default: 0.01,
    description: 'Share of traces that are recorded and exported (1: all, 0: none; requests still propagate a `traceparent`, marked not sampled). With `parentBased`, a request with a valid `traceparent` follows its sampled flag instead; without, the rate applies to it too, decided from its trace id (TraceIdRatioBased).',
  }),
  parentBased: Type.Boolean({
    default: true,
    description: 'Follow the sampled flag of a valid incoming `traceparent` (record when the caller records, not when it does not), so traces are complete across services. `false`: `sampleRate` decides for every request, from its trace id.',
  }),
  serviceName: Type.String({
    minLength: 1,
    maxLength: 256,
    default: 'expeditor',
    description: 'The `service.name` of the gateway\'s spans.',
  }),
  otlp: OtlpConfig,
  batch: TracingBatchConfig,
}, {
  description: 'Distributed tracing: OpenTelemetry spans for each request, its phases and its upstream attempts, exported over OTLP/HTTP (see docs/observability.md#tracing). Reloads live: a changed section starts a new exporter, after flushing the old one.',
});

export type TracingConfigT = Static<typeof TracingConfig>;
