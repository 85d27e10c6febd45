// Micro-benchmark of tracing's per-request work, in process: what the handler and the proxy do for one request
// while `tracing.enabled` (start the request's trace, write the upstream's trace headers, end the trace), for
// requests that are not sampled and for sampled ones (spans made and handed to the batch processor, whose export to
// a closed port fails in the background). The cost the macro benchmark (bench/observability.ts) can't resolve on a
// noisy machine.
//
//   npx node bench/tracing-record.ts [--n 200000]
//
// See docs/benchmarks.md, "Tracing".

import { parseArgs } from 'node:util';
import { RequestContext, type GatewayRequest } from '../src/core/context.ts';
import { silentLogger } from '../src/core/logger.ts';
import type { TracingConfigT } from '../src/config/schema/tracing.ts';
import { GatewayTracing, tracingSettings } from '../src/observability/tracing/gateway-tracing.ts';

const { values } = parseArgs({ options: { n: { type: 'string', default: '200000' } } });
const N = Number(values.n);

/** The header list buildUpstreamHeaders makes for a plain GET from wrk. */
const HEADERS = ['host', 'bench', 'user-agent', 'wrk', 'x-forwarded-for', '127.0.0.1', 'x-forwarded-proto', 'http', 'x-forwarded-host', 'bench', 'forwarded', 'for=127.0.0.1;host="bench";proto=http'];

function measure(label: string, sampleRate: number, incoming: Record<string, string>): void {
  // Port 9 (discard) on loopback: nothing listens, so exports fail fast and are dropped (logged once, silently here).
  const config = { enabled: true, sampleRate, otlp: { endpoint: 'http://127.0.0.1:9/v1/traces' } };
  const tracing = new GatewayTracing(tracingSettings(config as TracingConfigT), silentLogger);
  const req = { headers: { host: 'bench', 'user-agent': 'wrk', ...incoming }, httpVersion: '1.1', httpVersionMajor: 1 } as unknown as GatewayRequest;
  const route = { name: 'items' } as RequestContext['route'];
  const one = () => {
    const ctx = new RequestContext(req, 'GET', 'bench', '/items/1', 'id=1', 'http', '127.0.0.1', performance.now());
    ctx.route = route;
    const trace = tracing.startRequest(ctx);
    ctx.trace = trace;
    const span = trace.startAttempt(ctx, HEADERS.slice(), 'http://127.0.0.1:8000', 'bench', 1);
    span?.end();
    ctx.status = 200;
    trace.end(ctx);
  };
  const baseline = () => new RequestContext(req, 'GET', 'bench', '/items/1', 'id=1', 'http', '127.0.0.1', performance.now()) && HEADERS.slice();
  const results: number[] = [];
  for (let round = 0; round < 7; round++) {
    let start = performance.now();
    for (let i = 0; i < N; i++) baseline();
    const base = performance.now() - start;
    start = performance.now();
    for (let i = 0; i < N; i++) one();
    results.push(((performance.now() - start - base) * 1e6) / N);
  }
  results.sort((a, b) => a - b);
  process.stdout.write(`${label}: median ${results[3]!.toFixed(0)} ns/request (min ${results[0]!.toFixed(0)}, max ${results[6]!.toFixed(0)}) over 7 × ${N}\n`);
  void tracing.shutdown().catch(() => {});
}

const CLIENT = { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00' };
measure('not sampled, new trace', 0, {});
measure('not sampled, client traceparent', 0, CLIENT);
measure('sampled (1.0), new trace', 1, {});
