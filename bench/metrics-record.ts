// Micro-benchmark of the metrics' per-request work: GatewayMetrics.record(), what the handler calls once per
// finished exchange while `metrics.enabled`. In process, no network: the cost the macro benchmark
// (bench/observability.ts) can't resolve on a noisy machine.
//
//   npx node bench/metrics-record.ts [--routes 20] [--n 2000000]
//
// The contexts look like proxied requests: 20 routes, GET and some POST, one in 50 a 502 with an error code, upstream
// timings set, a response body counted. See docs/benchmarks.md, "Metrics".

import { parseArgs } from 'node:util';
import { RequestContext, type GatewayRequest } from '../src/core/context.ts';
import { silentLogger } from '../src/core/logger.ts';
import type { Runtime } from '../src/runtime/build.ts';
import { GatewayMetrics } from '../src/observability/gateway-metrics.ts';

const { values } = parseArgs({ options: { routes: { type: 'string', default: '20' }, n: { type: 'string', default: '2000000' } } });
const ROUTES = Number(values.routes);
const N = Number(values.n);

const metrics = new GatewayMetrics({ runtime: { upstreams: new Map() } as unknown as Runtime, reloads: 0, openConnections: 0, logger: silentLogger }, undefined);
const routes = Array.from({ length: ROUTES }, (_, i) => ({ name: `route-${i}` }) as RequestContext['route']);
const req = { headers: { host: 'bench', 'user-agent': 'wrk' } } as unknown as GatewayRequest;
const contexts = Array.from({ length: 1024 }, (_, i) => {
  const t = performance.now();
  const ctx = new RequestContext(req, i % 7 === 0 ? 'POST' : 'GET', 'bench', '/items/1', '', 'http', '127.0.0.1', t - 2);
  ctx.route = routes[i % ROUTES];
  ctx.status = i % 50 === 0 ? 502 : 200;
  if (ctx.status === 502) ctx.errorCode = 'upstream_unavailable';
  ctx.upstreamFirstStart = ctx.upstreamStart = t - 1.5;
  ctx.upstreamHeaders = t - 0.5;
  ctx.bytesOut = 96;
  return ctx;
});

const results: number[] = [];
for (let round = 0; round < 7; round++) {
  const start = performance.now();
  for (let i = 0; i < N; i++) metrics.record(contexts[i & 1023]!);
  results.push(((performance.now() - start) * 1e6) / N);
}
results.sort((a, b) => a - b);
const scrapeStart = performance.now();
const { body } = await metrics.scrape();
const scrapeMs = performance.now() - scrapeStart;
process.stdout.write(`record(): median ${results[3]!.toFixed(0)} ns/request (min ${results[0]!.toFixed(0)}, max ${results[6]!.toFixed(0)}) over 7 × ${N}\n`);
process.stdout.write(`scrape: ${scrapeMs.toFixed(1)} ms for ${body.split('\n').filter((l) => l !== '' && !l.startsWith('#')).length} samples (first scrape, process metrics included)\n`);
