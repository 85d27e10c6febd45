import { TraceFlags, isSpanContextValid, type SpanContext } from '@opentelemetry/api';

/**
 * The AWS X-Ray trace header for a span context: what a Lambda-compatible function runtime reads from
 * `_X_AMZN_TRACE_ID` (and the `Lambda-Runtime-Trace-Id` header of the Runtime API), so a function's own tracing
 * continues the gateway's trace. The W3C trace id maps onto X-Ray's as AWS's OpenTelemetry propagator maps it: its
 * first 8 hex digits are the "time" part, the other 24 the unique part. Returns undefined for an invalid context.
 *
 * @example
 * formatXRayTraceHeader({ traceId: '5759e988bd862e3fe1be46a994272793', spanId: '53995c3f42cd8ad8', traceFlags: 1 })
 * // 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1'
 */
export function formatXRayTraceHeader(sc: SpanContext): string | undefined {
  if (!isSpanContextValid(sc)) return undefined;
  const sampled = (sc.traceFlags & TraceFlags.SAMPLED) === TraceFlags.SAMPLED ? '1' : '0';
  return `Root=1-${sc.traceId.slice(0, 8)}-${sc.traceId.slice(8)};Parent=${sc.spanId};Sampled=${sampled}`;
}
