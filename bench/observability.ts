// Observability benchmark: what metrics, the access log and tracing cost on the proxy path.
//
//   npm run bench:observability
//   npx node bench/observability.ts --reps 5 --duration 5 --connections 50 --json out.json
//   npx node bench/observability.ts --help
//
// `metrics` and `tracing` are settings of the whole gateway, so each variant is an Expeditor process of its own
// (all pinned to CPU 0; only the one being measured is loaded) with the same route in front of the same fixed nginx
// upstream (CPU 1, with wrk): everything off; metrics only; tracing only, sampling 1%; analytics only; the access
// log only; and metrics, the access log (to a file) and tracing at 1% together. Sampled spans are exported over OTLP/HTTP to a sink in
// this process that answers at once. nginx as a plain reverse proxy gives the reference. Each variant is checked
// and warmed up, then the variants take turns in every repetition; medians are reported. Besides req/s, the CPU
// time each proxy used per request (from /proc, its whole process tree) is reported: on a shared machine it moves
// far less than req/s. See docs/benchmarks.md, "Metrics" and "Tracing".

import { writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { runBench } from './lib/lifecycle.ts';
import { cpuDeltaMicros, stop, treeTicks } from './lib/procs.ts';
import { VARIANT_USAGE, testBed, waitFor, withUsage, type Variant } from './lib/variants.ts';
import { runWrk } from './lib/wrk.ts';

const USAGE = `usage: node bench/observability.ts [options]\n${VARIANT_USAGE}`;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

runBench(() => withUsage(USAGE, async (opts) => {
  const bed = await testBed('observability', opts);
  const sink = await otlpSink();
  const tracing = (on: boolean) => on
    ? `{ enabled: true, sampleRate: 0.01, otlp: { endpoint: "${sink.endpoint}" } }`
    : '{ enabled: false }';
  const config = (o: { metrics: boolean; log: boolean; tracing: boolean; analytics?: boolean }) => `upstreams:
  bench: { targets: [{ url: "${bed.upstreamUrl}" }] }
routes:
  - name: items
    match: { path: /items/* }
    upstream: bench
metrics: { enabled: ${o.metrics} }
analytics: { enabled: ${o.analytics === true} }
tracing: ${tracing(o.tracing)}
${o.log ? `plugins:\n  access-log: { destination: { file: "${path.join(bed.dir, 'access.log')}" } }\n` : ''}`;
  const setups = [
    { name: 'off', label: 'Expeditor, all off', metrics: false, log: false, tracing: false },
    { name: 'metrics', label: 'Expeditor, metrics', metrics: true, log: false, tracing: false },
    { name: 'tracing', label: 'Expeditor, tracing 1%', metrics: false, log: false, tracing: true },
    { name: 'analytics', label: 'Expeditor, analytics', metrics: false, log: false, tracing: false, analytics: true },
    { name: 'log', label: 'Expeditor, access log', metrics: false, log: true, tracing: false },
    { name: 'all', label: 'Expeditor, metrics + access log + tracing 1%', metrics: true, log: true, tracing: true },
  ];
  const variants: Variant[] = [{ ...bed.nginx, label: 'nginx (proxy)' }];
  for (const s of setups) {
    // One after the other: they all read the same config file name at start.
    const gw = await bed.expeditor(config(s));
    await waitFor(`${gw.base}/items/1`, [], gw.proc);
    variants.push({ name: s.name, label: s.label, url: `${gw.base}/items/1?id=1`, headers: [], proc: gw.proc });
  }
  for (const v of variants) await waitFor(v.url, v.headers, v.proc);

  const load = (v: Variant, seconds: number) => runWrk({ url: v.url, connections: opts.connections, durationS: seconds, threads: 1, cpu: opts.loadCpu, headers: v.headers });
  if (opts.warmup > 0) for (const v of variants) await load(v, opts.warmup);
  const runs = new Map<string, Array<{ rps: number; p50Us: number; p99Us: number; cpuUsPerReq: number }>>(variants.map((v) => [v.name, []]));
  for (let rep = 0; rep < opts.reps; rep++) {
    for (const v of variants) {
      const before = treeTicks(v.proc.pid);
      const r = await load(v, opts.duration);
      const cpuUsPerReq = cpuDeltaMicros(before, treeTicks(v.proc.pid)) / r.requests;
      if (r.badStatus > 0 || r.socketErrors > 0) throw new Error(`${v.name}: ${r.badStatus} bad statuses, ${r.socketErrors} socket errors`);
      runs.get(v.name)!.push({ rps: r.rps, p50Us: r.p50Us, p99Us: r.p99Us, cpuUsPerReq });
      process.stderr.write(`  rep ${rep + 1}/${opts.reps} ${v.name}: ${Math.round(r.rps)} req/s, ${cpuUsPerReq.toFixed(1)} CPU µs/req\n`);
    }
  }
  const rows = variants.map((v) => {
    const rs = runs.get(v.name)!;
    return {
      name: v.name, label: v.label,
      rps: median(rs.map((r) => r.rps)), p50Us: median(rs.map((r) => r.p50Us)), p99Us: median(rs.map((r) => r.p99Us)),
      cpuUsPerReq: median(rs.map((r) => r.cpuUsPerReq)),
    };
  });
  const base = rows.find((r) => r.name === 'off')!;
  const nginx = rows.find((r) => r.name === 'nginx')!;
  const lines = [
    '| variant | req/s | p50 ms | p99 ms | CPU µs/req | req/s vs off | CPU vs off | req/s vs nginx |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map((r) => `| ${r.label} | ${Math.round(r.rps)} | ${(r.p50Us / 1000).toFixed(2)} | ${(r.p99Us / 1000).toFixed(2)} | ${r.cpuUsPerReq.toFixed(1)} | ${r.name === 'nginx' ? '' : (r.rps / base.rps).toFixed(3)} | ${r.name === 'nginx' ? '' : (r.cpuUsPerReq / base.cpuUsPerReq).toFixed(3)} | ${(r.rps / nginx.rps).toFixed(3)} |`),
  ];
  process.stdout.write(`\nObservability: metrics, access log and tracing off vs on\n${opts.connections} connections, ${opts.reps} × ${opts.duration} s per variant (medians); the OTLP sink took ${sink.requests} export requests, ${Math.round(sink.bytes / 1024)} KiB\n\n${lines.join('\n')}\n`);
  if (opts.json) writeFileSync(opts.json, JSON.stringify({ options: opts, rows, runs: Object.fromEntries(runs), exports: sink.requests }, null, 2));
  for (const p of new Set(variants.map((v) => v.proc))) await stop(p);
  await sink.close();
  return 0;
}));

/** Where the traced variants export: an OTLP/HTTP endpoint that reads each request and answers 200 at once. */
async function otlpSink(): Promise<{ endpoint: string; readonly requests: number; readonly bytes: number; close(): Promise<void> }> {
  const state = { requests: 0, bytes: 0 };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      state.requests++;
      state.bytes += Buffer.concat(chunks).length;
      res.writeHead(200, { 'content-type': 'application/x-protobuf', 'content-length': 0 }).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/traces`,
    get requests() { return state.requests; },
    get bytes() { return state.bytes; },
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
