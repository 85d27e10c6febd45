// A harness for "what does this feature cost" benchmarks: one Expeditor process with a route per variant, in front
// of a fixed nginx upstream, with nginx as a plain reverse proxy measured in the same run as the reference. Each
// variant is checked, warmed up, then measured N times with the variants taking turns in every repetition (drift on
// a noisy machine hits them alike); medians are reported as ratios to a baseline variant and to nginx.
// Used by bench/auth.ts and bench/limits.ts.

import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { UsageError, positiveInt } from './options.ts';
import { UPSTREAM_BODY, nginxArgs, proxyConf, upstreamConf } from './nginx.ts';
import { commandExists, freePort, makeTempDir, start, stop, type Managed } from './procs.ts';
import { runWrk, type WrkResult } from './wrk.ts';

const REPO = path.resolve(import.meta.dirname, '..', '..');

export const VARIANT_USAGE = `  --reps N          measured runs per variant (default 3)
  --duration S      seconds per run (default 5)
  --warmup S        seconds of warm-up per variant (default 2)
  --connections N   wrk connections (default 50)
  --proxy-cpu LIST  CPUs for the proxies (default 0)
  --load-cpu LIST   CPUs for wrk and the upstream (default 1)
  --json FILE       also write the results as JSON
`;

export interface VariantOptions {
  reps: number;
  duration: number;
  warmup: number;
  connections: number;
  proxyCpu: string;
  loadCpu: string;
  json: string | undefined;
}

/** Parses the common options; prints `usage` and exits on --help; throws UsageError on a bad value. */
export function variantOptions(usage: string): VariantOptions {
  const { values } = parseArgs({
    options: {
      reps: { type: 'string', default: '3' },
      duration: { type: 'string', default: '5' },
      warmup: { type: 'string', default: '2' },
      connections: { type: 'string', default: '50' },
      'proxy-cpu': { type: 'string', default: '0' },
      'load-cpu': { type: 'string', default: '1' },
      json: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(usage);
    process.exit(0);
  }
  return {
    reps: positiveInt(values.reps, '--reps'),
    duration: positiveInt(values.duration, '--duration'),
    warmup: positiveInt(values.warmup, '--warmup', 0),
    connections: positiveInt(values.connections, '--connections'),
    proxyCpu: values['proxy-cpu'],
    loadCpu: values['load-cpu'],
    json: values.json,
  };
}

export interface Variant {
  name: string;
  label: string;
  url: string;
  /** Request headers, as `Name: value`. */
  headers: string[];
  proc: Managed;
}

export interface Bed {
  dir: string;
  upstreamUrl: string;
  nginx: Variant;
  /** Starts Expeditor with this config text (its `listen` is added) and returns its base URL. */
  expeditor(config: string): Promise<{ base: string; proc: Managed }>;
}

/** The fixed upstream (load CPU) and nginx as a proxy in front of it (proxy CPU), plus a way to start Expeditor. */
export async function testBed(name: string, opts: VariantOptions): Promise<Bed> {
  for (const cmd of ['wrk', 'nginx', 'taskset']) {
    if (!commandExists(cmd)) throw new Error(`${cmd} is not installed (apt-get install -y ${cmd === 'taskset' ? 'util-linux' : cmd})`);
  }
  const dir = makeTempDir(`expeditor-bench-${name}-`);
  const upstreamPort = await freePort();
  writeFileSync(path.join(dir, 'upstream.conf'), upstreamConf(dir, upstreamPort));
  const upstream = start('upstream', 'nginx', nginxArgs(dir, path.join(dir, 'upstream.conf')), { cpu: opts.loadCpu, logFile: path.join(dir, 'upstream.log') });
  const upstreamUrl = `http://127.0.0.1:${upstreamPort}`;
  await waitFor(`${upstreamUrl}/`, [], upstream);

  const proxyDir = path.join(dir, 'reference-proxy');
  mkdirSync(proxyDir);
  const nginxPort = await freePort();
  writeFileSync(path.join(proxyDir, 'nginx.conf'), proxyConf(proxyDir, nginxPort, upstreamPort));
  const nginx = start('nginx', 'nginx', nginxArgs(proxyDir, path.join(proxyDir, 'nginx.conf')), { cpu: opts.proxyCpu, logFile: path.join(dir, 'nginx.log') });
  return {
    dir,
    upstreamUrl,
    nginx: { name: 'nginx', label: 'nginx (proxy)', url: `http://127.0.0.1:${nginxPort}/`, headers: [], proc: nginx },
    async expeditor(config: string) {
      const port = await freePort();
      const file = path.join(dir, 'expeditor.yaml');
      writeFileSync(file, `listen: { port: ${port}, host: 127.0.0.1 }\nadmin: { enabled: false }\n${config}`);
      const proc = start('expeditor', process.execPath, [path.join(REPO, 'bin', 'expeditor.js'), 'start', '--config', file, '--no-watch'], {
        cpu: opts.proxyCpu, cwd: REPO, logFile: path.join(dir, 'expeditor.log'),
      });
      return { base: `http://127.0.0.1:${port}`, proc };
    },
  };
}

/** A redis-server for the benchmark (no persistence) on the load CPU; returns its URL. */
export async function benchRedis(bed: Bed, opts: VariantOptions): Promise<string> {
  if (!commandExists('redis-server')) throw new Error('redis-server is not installed (apt-get install -y redis-server)');
  const port = await freePort();
  start('redis', 'redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    cpu: opts.loadCpu, logFile: path.join(bed.dir, 'redis.log'),
  });
  return `redis://127.0.0.1:${port}`;
}

function headerObject(headers: readonly string[]): Record<string, string> {
  return Object.fromEntries(headers.map((x) => [x.slice(0, x.indexOf(':')), x.slice(x.indexOf(':') + 1).trim()]));
}

/** One request: undefined when it answers 200 with the upstream's body, else what was wrong. */
async function check(url: string, headers: readonly string[]): Promise<string | undefined> {
  try {
    const res = await fetch(url, { headers: headerObject(headers) });
    const body = await res.text();
    if (res.status !== 200) return `status ${res.status}: ${body.slice(0, 200)}`;
    if (body !== UPSTREAM_BODY) return `unexpected body: ${body.slice(0, 200)}`;
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

export async function waitFor(url: string, headers: readonly string[], proc: Managed): Promise<void> {
  const deadline = Date.now() + 20_000;
  let last: string | undefined = 'no attempt';
  while (Date.now() < deadline) {
    if (proc.exitInfo !== null) throw new Error(`${proc.name} ${proc.exitInfo}; see ${proc.logFile}`);
    last = await check(url, headers);
    if (last === undefined) return;
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new Error(`${url} not ready: ${last}`);
}

/** The status one request gets (for checks that a variant really enforces something). */
export async function statusOf(url: string, headers: readonly string[]): Promise<number> {
  const res = await fetch(url, { headers: headerObject(headers) });
  await res.arrayBuffer();
  return res.status;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

export interface Row {
  name: string;
  label: string;
  rps: number;
  p50Us: number;
  p99Us: number;
}

/**
 * Checks every variant, warms each up, measures them in turns, and prints a table with each variant's ratio to
 * `baseline` and to nginx. A run with a non-2xx answer or a socket error fails: the numbers would measure nothing.
 */
export async function measure(variants: readonly Variant[], opts: VariantOptions, baseline: string, title: string): Promise<Row[]> {
  for (const v of variants) await waitFor(v.url, v.headers, v.proc);
  const runs = new Map<string, WrkResult[]>(variants.map((v) => [v.name, []]));
  const load = (v: Variant, seconds: number) => runWrk({ url: v.url, connections: opts.connections, durationS: seconds, threads: 1, cpu: opts.loadCpu, headers: v.headers });
  if (opts.warmup > 0) for (const v of variants) await load(v, opts.warmup);
  for (let rep = 0; rep < opts.reps; rep++) {
    for (const v of variants) {
      const r = await load(v, opts.duration);
      if (r.badStatus > 0 || r.socketErrors > 0) throw new Error(`${v.name}: ${r.badStatus} bad statuses, ${r.socketErrors} socket errors`);
      runs.get(v.name)!.push(r);
      process.stderr.write(`  rep ${rep + 1}/${opts.reps} ${v.name}: ${Math.round(r.rps)} req/s\n`);
    }
  }
  const rows = variants.map((v) => {
    const rs = runs.get(v.name)!;
    return { name: v.name, label: v.label, rps: median(rs.map((r) => r.rps)), p50Us: median(rs.map((r) => r.p50Us)), p99Us: median(rs.map((r) => r.p99Us)) };
  });
  const base = rows.find((r) => r.name === baseline)!.rps;
  const nginx = rows.find((r) => r.name === 'nginx')?.rps;
  const lines = [
    `| variant | req/s | p50 ms | p99 ms | vs ${baseline} |${nginx === undefined ? '' : ' vs nginx |'}`,
    `|---|---:|---:|---:|---:|${nginx === undefined ? '' : '---:|'}`,
    ...rows.map((r) => `| ${r.label} | ${Math.round(r.rps)} | ${(r.p50Us / 1000).toFixed(2)} | ${(r.p99Us / 1000).toFixed(2)} | ${(r.rps / base).toFixed(3)} |${nginx === undefined ? '' : ` ${(r.rps / nginx).toFixed(3)} |`}`),
  ];
  process.stdout.write(`\n${title}\n${opts.connections} connections, ${opts.reps} × ${opts.duration} s per variant (medians)\n\n${lines.join('\n')}\n`);
  if (opts.json) writeFileSync(opts.json, JSON.stringify({ title, options: opts, rows }, null, 2));
  for (const p of new Set(variants.map((v) => v.proc))) await stop(p);
  return rows;
}

/** Runs `main` with usage errors printed and exit code 2, the way every bench does. */
export async function withUsage(usage: string, main: (opts: VariantOptions) => Promise<number>): Promise<number> {
  let opts: VariantOptions;
  try {
    opts = variantOptions(usage);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`${err.message}\n${usage}`);
    return 2;
  }
  return main(opts);
}
