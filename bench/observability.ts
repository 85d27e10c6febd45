// Metrics benchmark: what counting every request for Prometheus costs on the proxy path.
//
//   npm run bench:observability
//   npx node bench/observability.ts --reps 5 --duration 5 --connections 50 --json out.json
//   npx node bench/observability.ts --help
//
// `metrics` is one setting for the whole gateway, so the variants are TWO Expeditor processes (both pinned to
// CPU 0; only the one being measured is loaded) with the same route in front of the same fixed nginx upstream
// (CPU 1, with wrk): one with `metrics: { enabled: false }`, one with the defaults (enabled). nginx as a plain
// reverse proxy gives the reference. Each variant is checked and warmed up, then the variants take turns in every
// repetition; medians are reported. Besides req/s, the CPU time each proxy used per request (from /proc, its whole
// process tree) is reported: on a shared machine it moves far less than req/s. See docs/benchmarks.md, "Metrics".

import { writeFileSync } from 'node:fs';
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
  const config = (metrics: string) => `upstreams:
  bench: { targets: [{ url: "${bed.upstreamUrl}" }] }
routes:
  - name: items
    match: { path: /items/* }
    upstream: bench
metrics: ${metrics}
`;
  // One after the other: both read the same config file name at start.
  const off = await bed.expeditor(config('{ enabled: false }'));
  await waitFor(`${off.base}/items/1`, [], off.proc);
  const on = await bed.expeditor(config('{ enabled: true }'));
  await waitFor(`${on.base}/items/1`, [], on.proc);
  const variants: Variant[] = [
    { ...bed.nginx, label: 'nginx (proxy)' },
    { name: 'off', label: 'Expeditor, metrics off', url: `${off.base}/items/1?id=1`, headers: [], proc: off.proc },
    { name: 'on', label: 'Expeditor, metrics on', url: `${on.base}/items/1?id=1`, headers: [], proc: on.proc },
  ];
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
  const lines = [
    '| variant | req/s | p50 ms | p99 ms | CPU µs/req | req/s vs off | CPU vs off |',
    '|---|---:|---:|---:|---:|---:|---:|',
    ...rows.map((r) => `| ${r.label} | ${Math.round(r.rps)} | ${(r.p50Us / 1000).toFixed(2)} | ${(r.p99Us / 1000).toFixed(2)} | ${r.cpuUsPerReq.toFixed(1)} | ${r.name === 'nginx' ? '' : (r.rps / base.rps).toFixed(3)} | ${r.name === 'nginx' ? '' : (r.cpuUsPerReq / base.cpuUsPerReq).toFixed(3)} |`),
  ];
  process.stdout.write(`\nMetrics: per-request counting off vs on\n${opts.connections} connections, ${opts.reps} × ${opts.duration} s per variant (medians)\n\n${lines.join('\n')}\n`);
  if (opts.json) writeFileSync(opts.json, JSON.stringify({ options: opts, rows, runs: Object.fromEntries(runs) }, null, 2));
  for (const p of new Set(variants.map((v) => v.proc))) await stop(p);
  return 0;
}));
