// Proxy benchmark: Expeditor against nginx and the Node gateways people would otherwise pick.
//
//   npm run bench                                  # everything, defaults
//   npm run bench -- --only expeditor,nginx --reps 5 --json out.json
//   npm run bench -- --help
//
// A fixed nginx upstream serves a ~100-byte JSON. Each proxy in turn is started (pinned to
// CPU 0), checked with one request, then loaded with wrk (pinned to CPU 1, with the upstream)
// at each connection count: a warm-up, then N measured runs whose medians are reported, with
// the proxy's CPU time per request read from /proc. See docs/benchmarks.md.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { runBench } from './lib/lifecycle.ts';
import { UsageError, positiveInt } from './lib/options.ts';
import { UPSTREAM_BODY, nginxArgs, proxyConf, upstreamConf } from './lib/nginx.ts';
import { waitReady } from './lib/probe.ts';
import {
  CLK_TCK,
  busyDeltaMicros,
  commandExists,
  cpuBusyTicks,
  cpuDeltaMicros,
  cpuIrqTicks,
  freePort,
  isShuttingDown,
  makeTempDir,
  parseCpuList,
  reapedChildrenTicks,
  start,
  stop,
  tailOf,
  ticksToMicros,
  treeTicks,
  type Managed,
} from './lib/procs.ts';
import { runWrk, type WrkResult } from './lib/wrk.ts';

const REPO = path.resolve(import.meta.dirname, '..');

// ---- the contenders -------------------------------------------------------------------------

const NAMES = ['direct', 'nginx', 'http-proxy', 'fastify', 'fast-gateway', 'minimal', 'expeditor'] as const;
type Name = (typeof NAMES)[number];

const LABELS: Record<Name, string> = {
  direct: 'direct (no proxy)',
  nginx: 'nginx (proxy)',
  'http-proxy': 'http-proxy',
  fastify: '@fastify/http-proxy',
  'fast-gateway': 'fast-gateway',
  minimal: 'minimal node:http+undici (reference)',
  expeditor: 'Expeditor',
};

const ALIASES: Record<string, Name> = {
  upstream: 'direct',
  'nginx-proxy': 'nginx',
  'fastify-http-proxy': 'fastify',
  '@fastify/http-proxy': 'fastify',
  fastgateway: 'fast-gateway',
};

const PEER_SCRIPTS: Partial<Record<Name, string>> = {
  'http-proxy': 'http-proxy.ts',
  fastify: 'fastify-http-proxy.ts',
  'fast-gateway': 'fast-gateway.ts',
  minimal: 'minimal.ts',
};

const PEER_PACKAGES: Partial<Record<Name, string[]>> = {
  'http-proxy': ['http-proxy'],
  fastify: ['@fastify/http-proxy', 'fastify'],
  'fast-gateway': ['fast-gateway'],
  minimal: ['undici'],
};

// ---- options ----------------------------------------------------------------------------------

const HELP = `Usage: npm run bench -- [options]      (or: node bench/proxy.ts [options], Node >= 23.6)

Options (environment variable in brackets; a flag wins over the variable):
  --only LIST          proxies to run, comma-separated, in this order [BENCH_ONLY]
                       names: ${NAMES.join(', ')}   (default: all)
  --skip LIST          proxies to leave out [BENCH_SKIP]
  --connections LIST   keep-alive connection counts [BENCH_CONNECTIONS]   (default: 50,200)
  --duration SECONDS   length of each measured run [BENCH_DURATION]       (default: 5)
  --warmup SECONDS     warm-up before each connection count, 0 = none [BENCH_WARMUP] (default: 2)
  --reps N             measured runs per connection count; medians are reported [BENCH_REPS] (default: 3)
  --threads N          wrk threads [BENCH_THREADS]                          (default: 1: wrk has one core)
  --path PATH          request path [BENCH_PATH]                            (default: /bench/items?id=1)
  --json FILE          also write all results as JSON to FILE [BENCH_JSON]
  --markdown           print the final table as Markdown (for docs/benchmarks.md) [BENCH_MARKDOWN=1]
  --no-pin             do not pin with taskset (proxies on CPU 0; wrk and upstream on CPU 1)
  --proxy-cpu LIST     taskset CPU list for the proxy [BENCH_PROXY_CPU]     (default: 0)
  --load-cpu LIST      taskset CPU list for wrk and the upstream [BENCH_LOAD_CPU] (default: 1)
  --expeditor-bin FILE Expeditor's CLI [BENCH_EXPEDITOR_BIN]               (default: bin/expeditor.js)
  -h, --help           this text
`;

interface Options {
  only: Name[];
  connections: number[];
  durationS: number;
  warmupS: number;
  reps: number;
  threads: number;
  path: string;
  json: string | null;
  markdown: boolean;
  proxyCpu: string | undefined;
  loadCpu: string | undefined;
  expeditorBin: string;
}


function parseNames(list: string, what: string): Name[] {
  const out: Name[] = [];
  for (const raw of list.split(',')) {
    const s = raw.trim().toLowerCase();
    if (!s) continue;
    const name = (NAMES as readonly string[]).includes(s) ? (s as Name) : ALIASES[s];
    if (!name) throw new UsageError(`${what}: unknown proxy "${raw.trim()}" (known: ${NAMES.join(', ')})`);
    if (!out.includes(name)) out.push(name);
  }
  return out;
}


function parseOptions(argv: string[]): Options | null {
  const { values } = parseArgs({
    args: argv,
    options: {
      only: { type: 'string' },
      skip: { type: 'string' },
      connections: { type: 'string' },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      reps: { type: 'string' },
      threads: { type: 'string' },
      path: { type: 'string' },
      json: { type: 'string' },
      markdown: { type: 'boolean' },
      'no-pin': { type: 'boolean' },
      'proxy-cpu': { type: 'string' },
      'load-cpu': { type: 'string' },
      'expeditor-bin': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: false,
    strict: true,
  });
  if (values.help) return null;
  const env = process.env;
  const pick = (flag: string | undefined, name: string, dflt: string): string => flag ?? env[name] ?? dflt;

  let only = parseNames(pick(values.only, 'BENCH_ONLY', NAMES.join(',')), '--only');
  const skip = parseNames(pick(values.skip, 'BENCH_SKIP', ''), '--skip');
  only = only.filter((n) => !skip.includes(n));
  if (only.length === 0) throw new UsageError('nothing to run: --only/--skip leave no proxy');

  const connections = pick(values.connections, 'BENCH_CONNECTIONS', '50,200')
    .split(',')
    .filter((s) => s.trim() !== '')
    .map((s) => positiveInt(s.trim(), '--connections'));
  if (connections.length === 0) throw new UsageError('--connections is empty');

  const threads = positiveInt(pick(values.threads, 'BENCH_THREADS', '1'), '--threads');
  if (connections.some((c) => c < threads)) throw new UsageError('each connection count must be >= --threads');

  const reqPath = pick(values.path, 'BENCH_PATH', '/bench/items?id=1');
  if (!reqPath.startsWith('/')) throw new UsageError('--path must start with /');

  const jsonRaw = values.json ?? env.BENCH_JSON ?? '';
  // `npm run` changes to the package root; resolve a relative path against where npm was run.
  const json = jsonRaw ? path.resolve(env.INIT_CWD ?? process.cwd(), jsonRaw) : null;

  const envFlag = (name: string): boolean => ['1', 'true', 'yes'].includes((env[name] ?? '').toLowerCase());
  const pin = !(values['no-pin'] ?? envFlag('BENCH_NO_PIN'));
  return {
    only,
    connections,
    durationS: positiveInt(pick(values.duration, 'BENCH_DURATION', '5'), '--duration'),
    warmupS: positiveInt(pick(values.warmup, 'BENCH_WARMUP', '2'), '--warmup', 0),
    reps: positiveInt(pick(values.reps, 'BENCH_REPS', '3'), '--reps'),
    threads,
    path: reqPath,
    json,
    markdown: values.markdown ?? envFlag('BENCH_MARKDOWN'),
    proxyCpu: pin ? pick(values['proxy-cpu'], 'BENCH_PROXY_CPU', '0') : undefined,
    loadCpu: pin ? pick(values['load-cpu'], 'BENCH_LOAD_CPU', '1') : undefined,
    expeditorBin: path.resolve(
      env.INIT_CWD ?? process.cwd(),
      pick(values['expeditor-bin'], 'BENCH_EXPEDITOR_BIN', path.join(REPO, 'bin', 'expeditor.js')),
    ),
  };
}

// ---- results ------------------------------------------------------------------------------------

interface Rep {
  rps: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  /** CPU time of the proxy's process tree per completed request (null for "direct"). */
  cpuUsPerReq: number | null;
  /** The same for the upstream nginx (for "direct" this is the only server involved). */
  upstreamCpuUsPerReq: number;
  /** Share of one core the proxy used during the run: near 100% = the proxy was the bottleneck. */
  proxyCorePct: number | null;
  /** wrk's own CPU time per request. */
  wrkCpuUsPerReq: number;
  /**
   * Busy time of the proxy's core(s) not spent by the proxy, and of the load core(s) not spent
   * by wrk or the upstream, in % of one core over the run: other work on the machine (null when
   * not pinned).
   */
  noise: { proxyCorePct: number; loadCorePct: number } | null;
  /**
   * irq + softirq time on the proxy core / load core in % of a core: kernel packet processing that
   * is charged to no process, so it is in neither the CPU µs/req nor the noise figures.
   */
  irq: { proxyCorePct: number; loadCorePct: number } | null;
  badStatus: number;
  socketErrors: number;
  wrk: WrkResult;
}

interface Level {
  connections: number;
  reps: Rep[];
  median: {
    rps: number;
    p50Ms: number;
    p99Ms: number;
    cpuUsPerReq: number | null;
    upstreamCpuUsPerReq: number;
    proxyCorePct: number | null;
    noise: { proxyCorePct: number; loadCorePct: number } | null;
  };
  /** (max - min) / median of req/s across reps. */
  rpsSpread: number;
  badStatus: number;
  socketErrors: number;
  ratioToNginx: number | null;
}

interface ProxyResult {
  name: Name;
  label: string;
  status: 'ok' | 'skipped' | 'failed';
  reason?: string;
  readiness?: { status: number; contentType: string; body: string; ms: number };
  levels: Level[];
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

// ---- launching each proxy ---------------------------------------------------------------------

class SkipError extends Error {}

interface Launched {
  url: string;
  proc: Managed | null;
  readyTimeoutMs: number;
}

interface Ctx {
  opts: Options;
  root: string;
  upstreamUrl: string;
}

async function launch(name: Name, ctx: Ctx): Promise<Launched> {
  const { opts, root, upstreamUrl } = ctx;
  if (name === 'direct') return { url: upstreamUrl, proc: null, readyTimeoutMs: 5000 };

  const dir = path.join(root, name);
  mkdirSync(dir);
  const logFile = path.join(dir, 'output.log');
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;

  if (name === 'nginx') {
    const conf = path.join(dir, 'nginx.conf');
    writeFileSync(conf, proxyConf(dir, port, Number(new URL(upstreamUrl).port)));
    const proc = start(name, 'nginx', nginxArgs(dir, conf), { cpu: opts.proxyCpu, logFile });
    return { url, proc, readyTimeoutMs: 5000 };
  }

  if (name === 'expeditor') {
    const bin = opts.expeditorBin;
    if (!existsSync(bin)) throw new SkipError(`${path.relative(REPO, bin)} does not exist (Expeditor's CLI is not written yet?)`);
    const config = path.join(dir, 'expeditor.yaml');
    writeFileSync(
      config,
      `listen: { port: ${port}, host: 127.0.0.1 }
admin: { enabled: false }
upstreams:
  bench: { targets: [{ url: "${upstreamUrl}" }] }
routes:
  - name: all
    match: { path: /* }
    upstream: bench
`,
    );
    const proc = start(name, process.execPath, [bin, 'start', '--config', config], {
      cpu: opts.proxyCpu,
      cwd: REPO,
      logFile,
    });
    return { url, proc, readyTimeoutMs: 20000 };
  }

  const script = PEER_SCRIPTS[name];
  if (!script) throw new Error(`no launcher for ${name}`);
  for (const pkg of PEER_PACKAGES[name] ?? []) {
    if (!existsSync(path.join(REPO, 'node_modules', pkg, 'package.json'))) {
      throw new SkipError(`package ${pkg} is not installed (run npm ci)`);
    }
  }
  const proc = start(name, process.execPath, [path.join(import.meta.dirname, 'peers', script)], {
    cpu: opts.proxyCpu,
    cwd: REPO,
    logFile,
    env: { ...process.env, BENCH_PORT: String(port), BENCH_UPSTREAM: upstreamUrl },
  });
  return { url, proc, readyTimeoutMs: 15000 };
}

// ---- measuring ----------------------------------------------------------------------------------

const fmtInt = (n: number): string => Math.round(n).toLocaleString('en-US');
const fmtMs = (n: number): string => n.toFixed(2);
const fmtCpu = (n: number | null): string => (n === null ? '-' : n.toFixed(1));
const fmtPct = (n: number | null): string => (n === null ? '-' : `${Math.round(n)}%`);
const fmtNoise = (n: { proxyCorePct: number; loadCorePct: number } | null): string =>
  n === null ? '-' : `${Math.round(n.proxyCorePct)}/${Math.round(n.loadCorePct)}%`;

function cpusAllowed(pid: number): string {
  try {
    return /^Cpus_allowed_list:\s*(.*)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? '?';
  } catch {
    return '?';
  }
}

function log(msg: string): void {
  process.stderr.write(msg + '\n');
}

async function measure(name: Name, ctx: Ctx, upstream: Managed): Promise<ProxyResult> {
  const label = LABELS[name];
  const result: ProxyResult = { name, label, status: 'ok', levels: [] };
  log(`\n== ${label}`);
  let launched: Launched;
  try {
    launched = await launch(name, ctx);
  } catch (err) {
    if (isShuttingDown()) return { ...result, status: 'failed', reason: 'interrupted' };
    result.status = err instanceof SkipError ? 'skipped' : 'failed';
    result.reason = (err as Error).message;
    log(`   ${result.status.toUpperCase()}: ${result.reason}`);
    return result;
  }
  const { proc } = launched;
  const target = launched.url + ctx.opts.path;
  try {
    const ready = await waitReady(target, UPSTREAM_BODY, proc, launched.readyTimeoutMs);
    if (isShuttingDown()) return { ...result, status: 'failed', reason: 'interrupted' };
    if (!ready.ok) {
      const tail = proc ? tailOf(proc.logFile) : '';
      result.status = 'failed';
      result.reason = `readiness check failed: ${ready.reason}`;
      log(`   FAILED ${result.reason}${tail ? `\n   --- output of ${name} ---\n${tail.trimEnd()}\n   ---` : ''}`);
      return result;
    }
    const { ok: _ok, ...readiness } = ready;
    result.readiness = readiness;
    log(`   ready: GET ${target} -> ${ready.status} ${ready.contentType} ${ready.body.trim()} (${ready.ms.toFixed(1)} ms)`);
    if (proc) log(`   pid ${proc.pid}, allowed CPUs ${cpusAllowed(proc.pid)}`);

    for (const connections of ctx.opts.connections) {
      const wrkBase = { url: target, connections, threads: ctx.opts.threads, cpu: ctx.opts.loadCpu };
      if (ctx.opts.warmupS > 0) await runWrk({ ...wrkBase, durationS: ctx.opts.warmupS });
      const reps: Rep[] = [];
      for (let i = 1; i <= ctx.opts.reps; i++) {
        const before = proc ? treeTicks(proc.pid) : null;
        const upBefore = treeTicks(upstream.pid);
        const busyBefore = cpuBusyTicks();
        const irqBefore = cpuIrqTicks();
        const reapedBefore = reapedChildrenTicks();
        const t0 = performance.now();
        const w = await runWrk({ ...wrkBase, durationS: ctx.opts.durationS });
        const wallUs = (performance.now() - t0) * 1000;
        const reapedAfter = reapedChildrenTicks();
        const busyAfter = cpuBusyTicks();
        const irqAfter = cpuIrqTicks();
        const after = proc ? treeTicks(proc.pid) : null;
        const upAfter = treeTicks(upstream.pid);
        const proxyCpuUs = before && after ? cpuDeltaMicros(before, after) : null;
        const upstreamCpuUs = cpuDeltaMicros(upBefore, upAfter);
        const wrkCpuUs = ticksToMicros(reapedAfter - reapedBefore);
        let noise: Rep['noise'] = null;
        let irq: Rep['irq'] = null;
        if (ctx.opts.proxyCpu !== undefined && ctx.opts.loadCpu !== undefined) {
          const pc = parseCpuList(ctx.opts.proxyCpu);
          const lc = parseCpuList(ctx.opts.loadCpu);
          const pct = (us: number, cores: number): number => Math.max(0, (100 * us) / wallUs / Math.max(cores, 1));
          noise = {
            proxyCorePct: pct(busyDeltaMicros(busyBefore, busyAfter, pc) - (proxyCpuUs ?? 0), pc.length),
            loadCorePct: pct(busyDeltaMicros(busyBefore, busyAfter, lc) - upstreamCpuUs - wrkCpuUs, lc.length),
          };
          irq = {
            proxyCorePct: pct(busyDeltaMicros(irqBefore, irqAfter, pc), pc.length),
            loadCorePct: pct(busyDeltaMicros(irqBefore, irqAfter, lc), lc.length),
          };
        }
        if (proc && proc.exitInfo !== null) throw new Error(`${name} ${proc.exitInfo} during the run`);
        if (upstream.exitInfo !== null) throw new Error(`upstream nginx ${upstream.exitInfo} during the run`);
        const n = Math.max(w.requests, 1);
        const rep: Rep = {
          rps: w.rps,
          p50Ms: w.p50Us / 1000,
          p99Ms: w.p99Us / 1000,
          requests: w.requests,
          cpuUsPerReq: proxyCpuUs === null ? null : proxyCpuUs / n,
          upstreamCpuUsPerReq: upstreamCpuUs / n,
          proxyCorePct: proxyCpuUs === null ? null : (100 * proxyCpuUs) / wallUs,
          wrkCpuUsPerReq: wrkCpuUs / n,
          noise,
          irq,
          badStatus: w.badStatus,
          socketErrors: w.socketErrors,
          wrk: w,
        };
        reps.push(rep);
        const errs = rep.badStatus + rep.socketErrors;
        log(
          `   c=${connections} run ${i}/${ctx.opts.reps}: ${fmtInt(rep.rps)} req/s, p50 ${fmtMs(rep.p50Ms)} ms, ` +
            `p99 ${fmtMs(rep.p99Ms)} ms, ` +
            (rep.cpuUsPerReq === null
              ? `upstream ${fmtCpu(rep.upstreamCpuUsPerReq)} µs CPU/req`
              : `${fmtCpu(rep.cpuUsPerReq)} µs CPU/req (${fmtPct(rep.proxyCorePct)} of a core)`) +
            (noise ? `, noise ${fmtNoise(noise)}` : '') +
            (errs ? `  !! ${rep.badStatus} responses >= 400, ${rep.socketErrors} socket errors ${JSON.stringify(w.errors)}` : ''),
        );
      }
      const rpsList = reps.map((r) => r.rps);
      const med = median(rpsList);
      const cpus = reps.map((r) => r.cpuUsPerReq).filter((c): c is number => c !== null);
      const pcts = reps.map((r) => r.proxyCorePct).filter((c): c is number => c !== null);
      result.levels.push({
        connections,
        reps,
        median: {
          rps: med,
          p50Ms: median(reps.map((r) => r.p50Ms)),
          p99Ms: median(reps.map((r) => r.p99Ms)),
          cpuUsPerReq: cpus.length ? median(cpus) : null,
          upstreamCpuUsPerReq: median(reps.map((r) => r.upstreamCpuUsPerReq)),
          proxyCorePct: pcts.length ? median(pcts) : null,
          noise: reps.every((r) => r.noise)
            ? {
                proxyCorePct: median(reps.map((r) => r.noise!.proxyCorePct)),
                loadCorePct: median(reps.map((r) => r.noise!.loadCorePct)),
              }
            : null,
        },
        rpsSpread: med > 0 ? (Math.max(...rpsList) - Math.min(...rpsList)) / med : 0,
        badStatus: reps.reduce((s, r) => s + r.badStatus, 0),
        socketErrors: reps.reduce((s, r) => s + r.socketErrors, 0),
        ratioToNginx: null,
      });
    }
  } catch (err) {
    result.status = 'failed';
    result.reason = (err as Error).message;
    if (isShuttingDown()) return result;
    const tail = proc ? tailOf(proc.logFile) : '';
    log(`   FAILED: ${result.reason}${tail ? `\n   --- output of ${name} ---\n${tail.trimEnd()}\n   ---` : ''}`);
  } finally {
    if (proc) await stop(proc);
  }
  return result;
}

// ---- reporting ----------------------------------------------------------------------------------

function table(results: ProxyResult[], opts: Options): string {
  const head = ['proxy', 'conns', 'req/s', '±', 'p50 ms', 'p99 ms', 'vs nginx', 'CPU µs/req', 'core', 'noise', 'errors'];
  const rows: string[][] = [];
  const notes: string[] = [];
  for (const r of results) {
    if (r.status !== 'ok' && r.levels.length === 0) {
      rows.push([r.label, '-', `${r.status.toUpperCase()}: ${r.reason ?? ''}`]);
      continue;
    }
    for (const l of r.levels) {
      const errs = l.badStatus + l.socketErrors;
      let cpu = fmtCpu(l.median.cpuUsPerReq);
      if (r.name === 'direct') {
        cpu = `(${fmtCpu(l.median.upstreamCpuUsPerReq)})`;
        if (!notes.includes('direct')) notes.push('direct');
      }
      rows.push([
        r.label,
        String(l.connections),
        fmtInt(l.median.rps),
        `${Math.round((l.rpsSpread * 100) / 2)}%`,
        fmtMs(l.median.p50Ms),
        fmtMs(l.median.p99Ms),
        l.ratioToNginx === null ? '-' : `${l.ratioToNginx.toFixed(2)}x`,
        cpu,
        fmtPct(l.median.proxyCorePct),
        fmtNoise(l.median.noise),
        errs ? `!! ${l.badStatus} >=400, ${l.socketErrors} socket` : '0',
      ]);
    }
    if (r.status === 'failed') rows.push([r.label, '-', `FAILED: ${r.reason ?? ''}`]);
  }
  const widths = head.map((h, i) => Math.max(h.length, ...rows.filter((row) => row.length === head.length).map((row) => row[i]!.length)));
  const fmtRow = (row: string[]): string => {
    if (opts.markdown) {
      const cells = row.length === head.length ? row : [row[0]!, row[1]!, row.slice(2).join(' '), ...head.slice(3).map(() => '')];
      return `| ${cells.map((c) => c.replaceAll('|', '\\|')).join(' | ')} |`;
    }
    if (row.length !== head.length) return `${row[0]!.padEnd(widths[0]!)}  ${row.slice(2).join(' ')}`;
    return row.map((c, i) => (i === 0 || i === head.length - 1 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  };
  const rule = opts.markdown
    ? `|${head.map((_, i) => (i === 0 || i === head.length - 1 ? ' --- |' : ' ---: |')).join('')}`
    : widths.map((w) => '-'.repeat(w)).join('  ');
  const lines = [fmtRow(head), rule, ...rows.map(fmtRow)];
  lines.push('');
  lines.push(
    `Medians of ${opts.reps} run(s) of ${opts.durationS} s each (after a ${opts.warmupS} s warm-up) per connection count; ` +
      `± is half the req/s range across runs.`,
  );
  lines.push('"vs nginx" = req/s divided by nginx-as-proxy req/s at the same connection count.');
  lines.push(
    `CPU µs/req = utime+stime of the proxy's process tree over a run / requests completed (clock tick ${1e6 / CLK_TCK} µs).`,
  );
  lines.push('core = share of one core the proxy used: well under 100% means something else (wrk, upstream, noise) limited req/s.');
  lines.push(
    'noise = other work on the proxy core / on the load core (wrk + upstream), in % of a core: high values disturb req/s and latency.',
  );
  if (notes.includes('direct')) lines.push('(…) on the direct row: CPU of the upstream nginx itself, for reference.');
  return lines.join('\n');
}

function firstLine(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return `${r.stdout ?? ''}${r.stderr ?? ''}`.split('\n').find((l) => l.trim() !== '')?.trim() ?? 'unknown';
}

function pkgVersion(name: string | null): string | null {
  const file = name === null ? path.join(REPO, 'package.json') : path.join(REPO, 'node_modules', name, 'package.json');
  try {
    return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
  } catch {
    return null;
  }
}

/** The commit of the repo that holds Expeditor's CLI, with "+dirty" if src/ or bin/ has local changes. */
function expeditorCommit(bin: string): string | null {
  const root = path.dirname(path.dirname(bin));
  const sha = spawnSync('git', ['-C', root, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' });
  if (sha.status !== 0) return null;
  const dirty = spawnSync('git', ['-C', root, 'status', '--porcelain', '--', 'src', 'bin'], { encoding: 'utf8' });
  return sha.stdout.trim() + (dirty.stdout.trim() ? '+dirty' : '');
}

function describeMachine(expeditorBin: string): Record<string, unknown> {
  const cpus = os.cpus();
  return {
    date: new Date().toISOString(),
    host: { cpus: cpus.length, model: cpus[0]?.model ?? 'unknown', kernel: os.release(), loadavg: os.loadavg() },
    versions: {
      node: process.version,
      nginx: firstLine('nginx', ['-v']).replace(/^nginx version:\s*/, ''),
      wrk: firstLine('wrk', ['-v']).split(' [')[0],
      'http-proxy': pkgVersion('http-proxy'),
      '@fastify/http-proxy': pkgVersion('@fastify/http-proxy'),
      fastify: pkgVersion('fastify'),
      'fast-gateway': pkgVersion('fast-gateway'),
      expeditor: pkgVersion(null),
      expeditorCommit: expeditorCommit(expeditorBin),
    },
  };
}

// ---- main ---------------------------------------------------------------------------------------

async function main(): Promise<number> {
  let opts: Options | null;
  try {
    opts = parseOptions(process.argv.slice(2));
  } catch (err) {
    log(`error: ${(err as Error).message}\n\n${HELP}`);
    return 2;
  }
  if (!opts) {
    process.stdout.write(HELP);
    return 0;
  }
  const missing = ['nginx', 'wrk', ...(opts.proxyCpu !== undefined ? ['taskset'] : [])].filter((c) => !commandExists(c));
  if (missing.length) {
    log(`error: missing ${missing.join(', ')} (Debian: apt-get install ${missing.map((m) => (m === 'taskset' ? 'util-linux' : m)).join(' ')})`);
    return 2;
  }
  if (opts.proxyCpu !== undefined && os.availableParallelism() < 2) {
    log('error: fewer than 2 CPUs: the proxy and the load generator cannot get a core each; use --no-pin');
    return 2;
  }

  const machine = describeMachine(opts.expeditorBin);
  log(
    `Expeditor proxy benchmark — ${machine.date as string}\n` +
      `machine: ${JSON.stringify(machine.host)}\nversions: ${JSON.stringify(machine.versions)}\n` +
      `proxies: ${opts.only.join(', ')}; connections ${opts.connections.join(', ')}; ` +
      `${opts.reps} x ${opts.durationS} s (+${opts.warmupS} s warm-up); wrk -t${opts.threads}; path ${opts.path}; ` +
      (opts.proxyCpu !== undefined ? `proxy on CPU ${opts.proxyCpu}, wrk + upstream on CPU ${opts.loadCpu}` : 'not pinned'),
  );

  const root = makeTempDir('expeditor-bench-');
  const upDir = path.join(root, 'upstream');
  mkdirSync(upDir);
  const upstreamPort = await freePort();
  const upConf = path.join(upDir, 'nginx.conf');
  writeFileSync(upConf, upstreamConf(upDir, upstreamPort));
  const upstream = start('upstream', 'nginx', nginxArgs(upDir, upConf), {
    cpu: opts.loadCpu,
    logFile: path.join(upDir, 'output.log'),
  });
  const upstreamUrl = `http://127.0.0.1:${upstreamPort}`;
  const upReady = await waitReady(upstreamUrl + opts.path, UPSTREAM_BODY, upstream, 5000);
  if (!upReady.ok) {
    log(`error: upstream nginx did not start: ${upReady.reason}\n${tailOf(upstream.logFile)}${tailOf(path.join(upDir, 'error.log'))}`);
    return 1;
  }
  log(`upstream: nginx on ${upstreamUrl}, ${Buffer.byteLength(UPSTREAM_BODY)}-byte JSON, pid ${upstream.pid}, allowed CPUs ${cpusAllowed(upstream.pid)}`);

  const ctx: Ctx = { opts, root, upstreamUrl };
  const results: ProxyResult[] = [];
  for (const name of opts.only) {
    if (isShuttingDown()) return 130;
    results.push(await measure(name, ctx, upstream));
  }
  if (isShuttingDown()) return 130;

  const nginx = results.find((r) => r.name === 'nginx');
  for (const r of results) {
    for (const l of r.levels) {
      const base = nginx?.levels.find((b) => b.connections === l.connections)?.median.rps;
      l.ratioToNginx = base ? l.median.rps / base : null;
    }
  }

  const text = table(results, opts);
  process.stdout.write(`\n${text}\n`);
  const flagged = results.filter((r) => r.levels.some((l) => l.badStatus + l.socketErrors > 0));
  if (flagged.length) {
    log(`\n!! errors during measurement (results not comparable): ${flagged.map((r) => r.label).join(', ')}`);
  }
  const failed = results.filter((r) => r.status === 'failed');
  for (const r of results.filter((x) => x.status !== 'ok')) log(`${r.status}: ${r.label}: ${r.reason ?? ''}`);

  if (opts.json) {
    const { json: _json, ...optsOut } = opts;
    writeFileSync(
      opts.json,
      JSON.stringify({ ...machine, options: optsOut, upstream: { body: UPSTREAM_BODY }, results }, null, 2) + '\n',
    );
    log(`results written to ${opts.json}`);
  }
  return failed.length ? 1 : 0;
}

runBench(main);
