// Micro-benchmark of the built-in analytics: GatewayAnalytics.record() (what the handler calls once per finished
// exchange while `analytics.enabled`), the memory a full day of rollups takes, and what a query over it costs. In
// process, no network: the cost the macro benchmark (bench/observability.ts) can't resolve on a noisy machine.
//
//   npx node --expose-gc bench/analytics-record.ts [--routes 20] [--consumers 5] [--n 2000000] [--per-cell 60]
//
// Memory: a day (1,440 minutes) of routes × consumers cells, each with --per-cell requests a minute whose latencies
// are log-normal around 40 ms. See docs/benchmarks.md, "Analytics".

import { parseArgs } from 'node:util';
import { RequestContext, type GatewayRequest } from '../src/core/context.ts';
import { silentLogger } from '../src/core/logger.ts';
import { GatewayAnalytics } from '../src/observability/analytics/analytics.ts';
import { MINUTE_MS, RETENTION_MINUTES, RollupRing } from '../src/observability/analytics/rollup.ts';
import { buildReport } from '../src/observability/analytics/report.ts';

const { values } = parseArgs({
  options: {
    routes: { type: 'string', default: '20' }, consumers: { type: 'string', default: '5' },
    n: { type: 'string', default: '2000000' }, 'per-cell': { type: 'string', default: '60' },
  },
});
const ROUTES = Number(values.routes);
const CONSUMERS = Number(values.consumers);
const N = Number(values.n);
const PER_CELL = Number(values['per-cell']);

const analytics = new GatewayAnalytics(undefined, undefined, silentLogger);
const routes = Array.from({ length: ROUTES }, (_, i) => ({ name: `route-${i}` }) as RequestContext['route']);
const consumers = Array.from({ length: CONSUMERS }, (_, i) => ({ name: `app-${i}` }) as RequestContext['consumer']);
const req = { headers: { host: 'bench' } } as unknown as GatewayRequest;
const contexts = Array.from({ length: 1024 }, (_, i) => {
  const ctx = new RequestContext(req, 'GET', 'bench', '/items/1', '', 'http', '127.0.0.1', 0);
  ctx.route = routes[i % ROUTES];
  ctx.consumer = consumers[i % CONSUMERS];
  ctx.status = i % 50 === 0 ? 502 : 200;
  return ctx;
});

const results: number[] = [];
for (let round = 0; round < 7; round++) {
  // Latencies of 1 to 10 ms: the start times are set just before each round.
  const t = performance.now();
  for (let i = 0; i < 1024; i++) (contexts[i] as { startTime: number }).startTime = t - 1 - (i % 10);
  const start = performance.now();
  for (let i = 0; i < N; i++) analytics.record(contexts[i & 1023]!);
  results.push(((performance.now() - start) * 1e6) / N);
}
results.sort((a, b) => a - b);
process.stdout.write(`record(): median ${results[3]!.toFixed(0)} ns/request (min ${results[0]!.toFixed(0)}, max ${results[6]!.toFixed(0)}) over 7 × ${N}\n`);

// A full day.
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) process.stdout.write('(run with --expose-gc for the memory figure)\n');
gc?.();
const used = () => { const u = process.memoryUsage(); return u.heapUsed + u.arrayBuffers; };
const heapBefore = used();
let now = Date.UTC(2025, 0, 31);
const ring = new RollupRing(1000, () => now);
let seed = 1;
const rnd = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
const fillStart = performance.now();
for (let m = 0; m < RETENTION_MINUTES; m++) {
  now = Date.UTC(2025, 0, 31) + m * MINUTE_MS;
  for (let r = 0; r < ROUTES; r++) {
    for (let c = 0; c < CONSUMERS; c++) {
      for (let k = 0; k < PER_CELL; k++) {
        const z = Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd());
        ring.record(`route-${r}`, `app-${c}`, '(none)', k % 50 === 0 ? 502 : 200, 40 * Math.exp(0.6 * z));
      }
    }
  }
}
now += MINUTE_MS;
ring.record('route-0', 'app-0', '(none)', 200, 1);
const fillMs = performance.now() - fillStart;
gc?.();
const heapMb = (used() - heapBefore) / 2 ** 20;
const cells = RETENTION_MINUTES * ROUTES * CONSUMERS;
process.stdout.write(`a day: ${cells} cells of ${PER_CELL} requests (${(fillMs / 1000).toFixed(1)} s to record)`);
process.stdout.write(gc ? `, ${heapMb.toFixed(0)} MB (heap and array buffers), ${((heapMb * 2 ** 20) / cells).toFixed(0)} bytes per cell\n` : '\n');

const nowMinute = Math.floor(now / MINUTE_MS);
for (const [label, minutes] of [['last hour', 60], ['24 hours', RETENTION_MINUTES]] as const) {
  const start = performance.now();
  buildReport(ring.minutes(nowMinute + 1 - minutes, nowMinute + 1), { fromMinute: nowMinute + 1 - minutes, toMinute: nowMinute + 1, top: 10 });
  process.stdout.write(`query, ${label}: ${(performance.now() - start).toFixed(0)} ms\n`);
}
