// Micro-benchmark of the local function runtime (src/functions/local/): what an invocation costs on top of the
// handler, and how long a cold start takes, for a trivial handler (examples/functions/hello.mjs) on the built-in
// Node.js runtime. In process, no gateway in front: the route and event mapping are measured elsewhere.
//
//   npx node bench/function-invoke.ts [--warm 5000] [--cold 20] [--concurrency 4]
//
// warm: sequential invocations on one warm sandbox (latency = dispatch → Runtime API → handler → answer), then the
// same with --concurrency invocations in flight on as many sandboxes (throughput). cold: a new function each time,
// first invocation timed from the invoke() call (spawn + Node start + handler load + the invocation), and the init
// duration the runtime reports (spawn → first `next`). Issue 7's targets: warm overhead < 1 ms p50, cold < 150 ms.

import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { silentLogger } from '../src/core/logger.ts';
import { LocalFunction } from '../src/functions/local/index.ts';
import type { FunctionConfigT } from '../src/config/schema/function.ts';

const { values } = parseArgs({
  options: {
    warm: { type: 'string', default: '5000' },
    cold: { type: 'string', default: '20' },
    concurrency: { type: 'string', default: '4' },
  },
});
const WARM = Number(values.warm);
const COLD = Number(values.cold);
const CONCURRENCY = Number(values.concurrency);
const baseDir = fileURLToPath(new URL('../examples/functions/', import.meta.url));
const payload = Buffer.from('{"bench":true}');

function config(reservedConcurrency: number): FunctionConfigT {
  return {
    handler: 'hello.handler', runtime: 'nodejs', timeout: '3s', memorySize: 128, environment: {},
    reservedConcurrency, queue: { maxSize: 1000, timeout: '10s' }, idleTimeout: '5m',
  };
}

const invoke = (fn: LocalFunction) => fn.invoke({ payload, requestId: randomUUID() });

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function summary(what: string, samples: number[]): void {
  const s = [...samples].sort((a, b) => a - b);
  const mean = s.reduce((a, b) => a + b, 0) / s.length;
  console.log(`${what.padEnd(34)} p50 ${percentile(s, 50).toFixed(3)} ms   p99 ${percentile(s, 99).toFixed(3)} ms   mean ${mean.toFixed(3)} ms   (n=${s.length})`);
}

async function warm(): Promise<void> {
  const fn = new LocalFunction('bench-warm', config(CONCURRENCY), { baseDir, logger: silentLogger });
  await invoke(fn);
  for (let i = 0; i < 500; i++) await invoke(fn); // JIT warm-up on both sides
  const latencies: number[] = [];
  const durations: number[] = [];
  for (let i = 0; i < WARM; i++) {
    const t = performance.now();
    const r = await invoke(fn);
    latencies.push(performance.now() - t);
    durations.push(r.durationMs);
  }
  summary('warm invoke (caller latency)', latencies);
  summary('warm invoke (dispatch → answer)', durations);
  await Promise.all(Array.from({ length: CONCURRENCY }, () => invoke(fn)));
  const start = performance.now();
  let done = 0;
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (done < WARM) {
      done++;
      await invoke(fn);
    }
  }));
  const seconds = (performance.now() - start) / 1000;
  console.log(`${'warm throughput'.padEnd(34)} ${(WARM / seconds).toFixed(0)} invocations/s with ${CONCURRENCY} in flight (${fn.stats().coldStarts} sandboxes)`);
  await fn.close();
}

async function cold(): Promise<void> {
  const totals: number[] = [];
  const inits: number[] = [];
  for (let i = 0; i < COLD; i++) {
    const fn = new LocalFunction(`bench-cold-${i}`, config(1), { baseDir, logger: silentLogger });
    const t = performance.now();
    const r = await invoke(fn);
    totals.push(performance.now() - t);
    inits.push(r.initDurationMs!);
    await fn.close();
  }
  summary('cold start (first invoke, total)', totals);
  summary('cold start (init duration)', inits);
}

console.log(`node ${process.version}, ${process.platform}/${process.arch}`);
await warm();
await cold();
