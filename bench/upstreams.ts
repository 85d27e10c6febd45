// Upstream policy benchmark: what each balancer, health checking, and retries + limits cost in throughput and CPU,
// against plain round-robin, with an upstream of 3 targets.
//
//   npx node bench/upstreams.ts                       # every variant, defaults (~2 minutes)
//   npx node bench/upstreams.ts --only round-robin,ewma --reps 5
//   npx node bench/upstreams.ts --interleave --reps 5  # runs taken in turns across variants (noisy machines)
//   npx node bench/upstreams.ts --help
//
// ONE nginx (one worker, no access log) listens on 3 ports; each port answers with its own ~110-byte JSON (they
// differ only in `"target":N`, same length), so the harness can tell which target answered without logs. For each
// variant, Expeditor is started (pinned to CPU 0; wrk and nginx share CPU 1, as in bench/proxy.ts) with an
// upstream of the 3 ports, checked (one request must answer 200 with one of the 3 bodies), sampled (30 requests:
// every target must answer, but for ewma and the hash variant; the latter must keep each key on one target), then
// loaded with wrk: a warm-up, N measured runs (medians reported), and a short extra run that counts which target
// answered each response under load (by default one variant after another; --interleave starts them all and
// takes the measured runs in turns). Every variant gets the same wrk script, which sends an `x-user` header
// cycling through --keys values, so every variant gets the same request stream.
// See docs/benchmarks.md, "Upstream policies".

import http from 'node:http';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { runBench } from './lib/lifecycle.ts';
import { UsageError, positiveInt } from './lib/options.ts';
import { nginxArgs, nginxConf } from './lib/nginx.ts';
import {
  CLK_TCK,
  busyDeltaMicros,
  commandExists,
  cpuBusyTicks,
  cpuDeltaMicros,
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

const REPO = path.resolve(import.meta.dirname, '..');
const TARGETS = 3;
const REQ_PATH = '/bench/items?id=1';

// ---- the variants -------------------------------------------------------------------------------

interface Variant {
  name: string;
  label: string;
  /** YAML lines of the upstream after `targets`, indented 4 spaces. */
  yaml: string[];
  hash: boolean;
  /**
   * Whether the sequential sample must reach every target. Not for ewma: on an idle pool it sends (almost, see its
   * `probeRate`) everything to the target with the lowest latency so far, by design; its spread is checked under load.
   */
  sampleSpreads: boolean;
}

const VARIANTS: Variant[] = [
  { name: 'round-robin', label: 'round-robin (baseline)', yaml: ['balancer: round-robin'], hash: false, sampleSpreads: true },
  { name: 'least-requests', label: 'least-requests', yaml: ['balancer: least-requests'], hash: false, sampleSpreads: true },
  { name: 'ewma', label: 'ewma', yaml: ['balancer: ewma'], hash: false, sampleSpreads: false },
  {
    name: 'consistent-hash',
    label: 'consistent-hash (header x-user)',
    yaml: ['balancer: consistent-hash', 'hashOn: { source: header, name: x-user }'],
    hash: true,
    sampleSpreads: false,
  },
  {
    name: 'health',
    label: 'round-robin + health (active 1s, passive)',
    yaml: ['balancer: round-robin', 'health: { active: { path: /health, interval: 1s }, passive: {} }'],
    hash: false,
    sampleSpreads: true,
  },
  {
    name: 'retries-limits',
    label: 'round-robin + retries 2 + maxConcurrent 1000',
    yaml: ['balancer: round-robin', 'retries: { attempts: 2 }', 'limits: { maxConcurrent: 1000 }'],
    hash: false,
    sampleSpreads: true,
  },
];

// ---- options ------------------------------------------------------------------------------------

const HELP = `Usage: npx node bench/upstreams.ts [options]

Options:
  --only LIST          variants to run, comma-separated, in this order (default: all)
                       names: ${VARIANTS.map((v) => v.name).join(', ')}
                       (round-robin is the baseline of the ratios; without it they are left out)
  --connections N      keep-alive connections of wrk            (default: 50)
  --duration SECONDS   length of each measured run                (default: 5)
  --warmup SECONDS     warm-up before the measured runs, 0 = none (default: 2)
  --reps N             measured runs per variant; medians are reported (default: 3)
  --spread SECONDS     length of the extra run that counts which target answered, 0 = none (default: 2)
  --keys N             distinct x-user header values wrk cycles through (default: 1000)
  --interleave         start every variant first, then take the measured runs in turns (variant 1 run 1,
                       variant 2 run 1, …; each after its warm-up), so drifting noise hits all variants alike
  --markdown           print the final table as Markdown (for docs/benchmarks.md)
  --json FILE          also write every run's numbers as JSON to FILE
  --no-pin             do not pin with taskset
  --proxy-cpu LIST     taskset CPU list for Expeditor              (default: 0)
  --load-cpu LIST      taskset CPU list for wrk and nginx          (default: 1)
  --expeditor-bin FILE Expeditor's CLI                              (default: bin/expeditor.js)
  -h, --help           this text
`;

interface Options {
  variants: Variant[];
  connections: number;
  durationS: number;
  warmupS: number;
  reps: number;
  spreadS: number;
  keys: number;
  interleave: boolean;
  markdown: boolean;
  json: string | null;
  proxyCpu: string | undefined;
  loadCpu: string | undefined;
  expeditorBin: string;
}



function parseOptions(argv: string[]): Options | null {
  const { values } = parseArgs({
    args: argv,
    options: {
      only: { type: 'string' },
      connections: { type: 'string' },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      reps: { type: 'string' },
      spread: { type: 'string' },
      keys: { type: 'string' },
      interleave: { type: 'boolean' },
      markdown: { type: 'boolean' },
      json: { type: 'string' },
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
  let variants = VARIANTS;
  if (values.only !== undefined) {
    variants = [];
    for (const raw of values.only.split(',')) {
      const s = raw.trim().toLowerCase();
      if (!s) continue;
      const v = VARIANTS.find((x) => x.name === s);
      if (!v) throw new UsageError(`--only: unknown variant "${raw.trim()}" (known: ${VARIANTS.map((x) => x.name).join(', ')})`);
      if (!variants.includes(v)) variants.push(v);
    }
    if (variants.length === 0) throw new UsageError('--only is empty');
  }
  const pin = !values['no-pin'];
  const cwd = process.env.INIT_CWD ?? process.cwd();
  return {
    variants,
    connections: positiveInt(values.connections ?? '50', '--connections', 1),
    durationS: positiveInt(values.duration ?? '5', '--duration', 1),
    warmupS: positiveInt(values.warmup ?? '2', '--warmup', 0),
    reps: positiveInt(values.reps ?? '3', '--reps', 1),
    spreadS: positiveInt(values.spread ?? '2', '--spread', 0),
    keys: positiveInt(values.keys ?? '1000', '--keys', 1),
    interleave: values.interleave ?? false,
    markdown: values.markdown ?? false,
    json: values.json ? path.resolve(cwd, values.json) : null,
    proxyCpu: pin ? (values['proxy-cpu'] ?? '0') : undefined,
    loadCpu: pin ? (values['load-cpu'] ?? '1') : undefined,
    expeditorBin: path.resolve(cwd, values['expeditor-bin'] ?? path.join(REPO, 'bin', 'expeditor.js')),
  };
}

// ---- the upstream: one nginx, one worker, 3 ports -------------------------------------------------

/** The reply of target `i` (1-based): the same document for every target but for `"target":i`. */
function bodyOf(i: number): string {
  return JSON.stringify({
    id: 42,
    name: 'expeditor-bench',
    target: i,
    tags: ['gateway', 'proxy', 'benchmark'],
    price: 12.5,
    ok: true,
  });
}
const BODIES = Array.from({ length: TARGETS }, (_, i) => bodyOf(i + 1));

/** Which target (1-based) sent `body`, or 0 when it is none of them. */
function targetOf(body: string): number {
  return BODIES.indexOf(body) + 1;
}

// Same settings as bench/lib/nginx.ts's upstreamConf (one worker, no access log, keep-alive limits raised), with
// one `server` block per port.
function upstreamConf(dir: string, ports: number[]): string {
  const servers = ports
    .map(
      (port, i) => `  server {
    listen 127.0.0.1:${port};
    location / {
      default_type application/json;
      return 200 '${BODIES[i]!}';
    }
  }
`,
    )
    .join('');
  return nginxConf(dir, servers);
}

function expeditorConf(port: number, targetPorts: number[], v: Variant): string {
  return `listen: { port: ${port}, host: 127.0.0.1 }
admin: { enabled: false }
upstreams:
  pool:
    targets:
${targetPorts.map((p) => `      - { url: "http://127.0.0.1:${p}" }`).join('\n')}
${v.yaml.map((l) => `    ${l}`).join('\n')}
routes:
  - name: all
    match: { path: /* }
    upstream: pool
`;
}

// ---- wrk ----------------------------------------------------------------------------------------

/**
 * The wrk script of every run: requests with `x-user: user-1` … `user-<keys>`, in turn (pre-formatted in init,
 * so request() costs a table lookup). With `count`, response() also counts which target answered (only in the
 * spread run: it makes wrk hand every body to Lua). done() prints the same BENCH_RESULT line as
 * bench/wrk-report.lua, plus a BENCH_SPREAD line when counting.
 */
function wrkScript(keys: number, count: boolean): string {
  return `-- generated by bench/upstreams.ts
local nkeys = ${keys}
local reqs = {}
local i = 0
function init(args)
  for k = 1, nkeys do
    reqs[k] = wrk.format(nil, nil, { ["x-user"] = "user-" .. k })
  end
end
function request()
  i = i + 1
  if i > nkeys then i = 1 end
  return reqs[i]
end
${
  count
    ? `c1, c2, c3, cx = 0, 0, 0, 0
local threads = {}
function setup(thread)
  threads[#threads + 1] = thread
end
function response(status, headers, body)
  if body == nil then cx = cx + 1
  elseif body:find('"target":1,', 1, true) then c1 = c1 + 1
  elseif body:find('"target":2,', 1, true) then c2 = c2 + 1
  elseif body:find('"target":3,', 1, true) then c3 = c3 + 1
  else cx = cx + 1 end
end
`
    : ''
}done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,' ..
    '"mean_us":%.1f,"p50_us":%d,"p90_us":%d,"p99_us":%d,"p999_us":%d,"max_us":%d}\\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency:percentile(99.9), latency.max))
${
  count
    ? `  local t1, t2, t3, tx = 0, 0, 0, 0
  for _, t in ipairs(threads) do
    t1 = t1 + t:get("c1"); t2 = t2 + t:get("c2"); t3 = t3 + t:get("c3"); tx = tx + t:get("cx")
  end
  io.write(string.format('BENCH_SPREAD [%d,%d,%d,%d]\\n', t1, t2, t3, tx))
`
    : ''
}end
`;
}

interface WrkResult {
  requests: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  badStatus: number;
  socketErrors: number;
  /** Responses per target (1..3) and unrecognised, from the counting script. */
  spread: number[] | null;
}

// Minimal copy of bench/lib/wrk.ts's runWrk, with a script of our own and the BENCH_SPREAD line.
async function runWrk(url: string, script: string, connections: number, durationS: number, cpu: string | undefined): Promise<WrkResult> {
  const args = ['-t1', `-c${connections}`, `-d${durationS}s`, '--latency', '-s', script, url];
  const wrk = start('wrk', 'wrk', args, { cpu, captureStdout: true });
  const info = await wrk.exited;
  await stop(wrk);
  const out = wrk.stdout();
  const line = out.split('\n').find((l) => l.startsWith('BENCH_RESULT '));
  if (!line || info !== 'exited with code 0') throw new Error(`wrk ${info}; output:\n${out || tailOf(wrk.logFile)}`);
  const r = JSON.parse(line.slice('BENCH_RESULT '.length)) as Record<string, number>;
  const spreadLine = out.split('\n').find((l) => l.startsWith('BENCH_SPREAD '));
  const n = (k: string): number => r[k] ?? 0;
  return {
    requests: n('requests'),
    rps: n('duration_us') > 0 ? (n('requests') * 1e6) / n('duration_us') : 0,
    p50Ms: n('p50_us') / 1000,
    p99Ms: n('p99_us') / 1000,
    badStatus: n('status'),
    socketErrors: n('connect') + n('read') + n('write') + n('timeout'),
    spread: spreadLine ? (JSON.parse(spreadLine.slice('BENCH_SPREAD '.length)) as number[]) : null,
  };
}

// ---- probing ------------------------------------------------------------------------------------

function getOnce(url: string, user: string, timeoutMs: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false, timeout: timeoutMs, headers: { 'x-user': user } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}

/** Polls until one request answers 200 with one of the targets' bodies (or the process exits, or time runs out). */
async function waitReady(url: string, proc: Managed | null, timeoutMs: number): Promise<string | null> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no attempt';
  while (Date.now() < deadline) {
    if (proc && proc.exitInfo !== null) return `process ${proc.exitInfo} before it was ready`;
    try {
      const r = await getOnce(url, 'user-probe', 2000);
      if (r.status === 200 && targetOf(r.body) > 0) return null;
      last = `status ${r.status}, body ${JSON.stringify(r.body.slice(0, 200))}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
  return `not ready after ${timeoutMs} ms (last: ${last})`;
}

interface Sample {
  /** Responses per target 1..3. */
  counts: number[];
  /** Hash variant: keys whose 3 requests all went to one target / keys sampled. */
  stickyKeys: [number, number] | null;
  problem: string | null;
}

/**
 * 30 sequential requests. Non-hash variants: 30 different keys, and every target must answer at least once (when
 * `mustSpread`; ewma is checked under load instead). Hash variant: 10 keys × 3 requests each; every key must stay
 * on one target (else the header is not used), and more than one target must be hit across the keys.
 */
async function sample(url: string, hash: boolean, mustSpread: boolean): Promise<Sample> {
  const counts = [0, 0, 0];
  const perKey = new Map<string, Set<number>>();
  const users = hash ? Array.from({ length: 30 }, (_, i) => `user-${(i % 10) + 1}`) : Array.from({ length: 30 }, (_, i) => `user-${i + 1}`);
  for (const user of users) {
    const r = await getOnce(url, user, 2000);
    const t = targetOf(r.body);
    if (r.status !== 200 || t === 0) return { counts, stickyKeys: null, problem: `sample: status ${r.status}, body ${r.body.slice(0, 120)}` };
    counts[t - 1]!++;
    if (!perKey.has(user)) perKey.set(user, new Set());
    perKey.get(user)!.add(t);
  }
  if (!hash) {
    const missing = counts.map((c, i) => (c === 0 ? i + 1 : 0)).filter((i) => i > 0);
    return { counts, stickyKeys: null, problem: missing.length && mustSpread ? `target(s) ${missing.join(', ')} got none of 30 requests` : null };
  }
  const sticky = [...perKey.values()].filter((s) => s.size === 1).length;
  const hit = counts.filter((c) => c > 0).length;
  const problem =
    sticky < perKey.size
      ? `${perKey.size - sticky} of ${perKey.size} keys went to more than one target (is the x-user header hashed?)`
      : hit < 2
        ? `all ${perKey.size} keys on one target`
        : null;
  return { counts, stickyKeys: [sticky, perKey.size], problem };
}

// ---- measuring ------------------------------------------------------------------------------------

interface Rep {
  /** Which measured run of the variant this is (1-based); with --interleave, the round. */
  round: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  cpuUsPerReq: number;
  /** Share of one core Expeditor used over the run. */
  corePct: number;
  /** Busy time of the proxy core not spent by Expeditor / of the load core not spent by wrk or nginx, % of a core. */
  noise: { proxyCorePct: number; loadCorePct: number } | null;
  badStatus: number;
  socketErrors: number;
}

interface Result {
  variant: string;
  label: string;
  config: string;
  status: 'ok' | 'failed';
  reason?: string;
  sample?: Sample;
  reps: Rep[];
  median: { rps: number; p50Ms: number; p99Ms: number; cpuUsPerReq: number; corePct: number; noise: Rep['noise'] } | null;
  /** (max - min) / median of req/s across reps. */
  rpsSpread: number;
  /** Responses per target under load (from the counting run), plus unrecognised ones. */
  loadSpread: number[] | null;
  /**
   * req/s and CPU µs/req relative to round-robin. Sequential: ratio of the medians. Interleaved: median over the
   * rounds of the ratio within each round (paired), which cancels noise that drifts from round to round.
   */
  vsRoundRobin: { rps: number; cpu: number; paired: boolean } | null;
  problems: string[];
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

const log = (msg: string): void => void process.stderr.write(msg + '\n');

interface Ctx {
  opts: Options;
  root: string;
  targetPorts: number[];
  upstream: Managed;
  script: string;
  countScript: string;
}

/** One variant in progress: its Expeditor process and what has been measured so far. */
interface Running {
  v: Variant;
  url: string;
  proc: Managed | null;
  result: Result;
}

function fail(run: Running, err: unknown): void {
  run.result.status = 'failed';
  run.result.reason = (err as Error).message;
  if (isShuttingDown()) return;
  const tail = run.proc ? tailOf(run.proc.logFile) : '';
  log(`   FAILED (${run.v.name}): ${run.result.reason}${tail ? `\n   --- output of Expeditor ---\n${tail.trimEnd()}\n   ---` : ''}`);
}

/** Starts Expeditor for `v`, waits until it answers 200, checks with one request, and samples 30 responses. */
async function prepare(v: Variant, ctx: Ctx): Promise<Running> {
  const { opts } = ctx;
  const dir = path.join(ctx.root, v.name);
  mkdirSync(dir);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}${REQ_PATH}`;
  const config = expeditorConf(port, ctx.targetPorts, v);
  const result: Result = { variant: v.name, label: v.label, config, status: 'ok', reps: [], median: null, rpsSpread: 0, loadSpread: null, vsRoundRobin: null, problems: [] };
  const run: Running = { v, url, proc: null, result };
  const confFile = path.join(dir, 'expeditor.yaml');
  writeFileSync(confFile, config);
  log(`\n== ${v.label}`);
  try {
    const proc = start(v.name, process.execPath, [opts.expeditorBin, 'start', '--config', confFile, '--no-watch'], {
      cpu: opts.proxyCpu,
      cwd: REPO,
      logFile: path.join(dir, 'output.log'),
    });
    run.proc = proc;
    const notReady = await waitReady(url, proc, 20000);
    if (notReady) throw new Error(notReady);
    const check = await getOnce(url, 'user-1', 2000);
    if (check.status !== 200 || targetOf(check.body) === 0) throw new Error(`check request: status ${check.status}, body ${check.body.slice(0, 200)}`);
    log(`   ready: GET ${url} -> 200 from target ${targetOf(check.body)}; pid ${proc.pid}`);

    const s = await sample(url, v.hash, v.sampleSpreads);
    result.sample = s;
    log(
      `   sample of 30: ${s.counts.join('/')} per target` +
        (s.stickyKeys ? `, ${s.stickyKeys[0]}/${s.stickyKeys[1]} keys stayed on one target` : '') +
        (!v.hash && !v.sampleSpreads ? ' (informational: idle ewma favours the fastest target; spread checked under load)' : '') +
        (s.problem ? `  !! ${s.problem}` : ''),
    );
    if (s.problem) result.problems.push(s.problem);
  } catch (err) {
    fail(run, err);
  }
  return run;
}

async function warmUp(run: Running, ctx: Ctx): Promise<void> {
  if (run.result.status !== 'ok' || ctx.opts.warmupS === 0) return;
  try {
    await runWrk(run.url, ctx.script, ctx.opts.connections, ctx.opts.warmupS, ctx.opts.loadCpu);
  } catch (err) {
    fail(run, err);
  }
}

/** One measured run: wrk for --duration, with Expeditor's CPU time and the noise on both cores. */
async function measureOnce(run: Running, ctx: Ctx, i: number): Promise<void> {
  const { opts } = ctx;
  const proc = run.proc;
  if (run.result.status !== 'ok' || !proc) return;
  try {
    const pc = opts.proxyCpu !== undefined ? parseCpuList(opts.proxyCpu) : null;
    const lc = opts.loadCpu !== undefined ? parseCpuList(opts.loadCpu) : null;
    const before = treeTicks(proc.pid);
    const upBefore = treeTicks(ctx.upstream.pid);
    const busyBefore = cpuBusyTicks();
    const reapedBefore = reapedChildrenTicks();
    const t0 = performance.now();
    const w = await runWrk(run.url, ctx.script, opts.connections, opts.durationS, opts.loadCpu);
    const wallUs = (performance.now() - t0) * 1000;
    const reapedAfter = reapedChildrenTicks();
    const busyAfter = cpuBusyTicks();
    const upAfter = treeTicks(ctx.upstream.pid);
    const after = treeTicks(proc.pid);
    if (proc.exitInfo !== null) throw new Error(`Expeditor ${proc.exitInfo} during the run`);
    if (ctx.upstream.exitInfo !== null) throw new Error(`upstream nginx ${ctx.upstream.exitInfo} during the run`);
    const cpuUs = cpuDeltaMicros(before, after);
    const upUs = cpuDeltaMicros(upBefore, upAfter);
    const wrkUs = ticksToMicros(reapedAfter - reapedBefore);
    const pct = (us: number, cores: number): number => Math.max(0, (100 * us) / wallUs / Math.max(cores, 1));
    const rep: Rep = {
      round: i,
      rps: w.rps,
      p50Ms: w.p50Ms,
      p99Ms: w.p99Ms,
      requests: w.requests,
      cpuUsPerReq: cpuUs / Math.max(w.requests, 1),
      corePct: (100 * cpuUs) / wallUs,
      noise:
        pc && lc
          ? {
              proxyCorePct: pct(busyDeltaMicros(busyBefore, busyAfter, pc) - cpuUs, pc.length),
              loadCorePct: pct(busyDeltaMicros(busyBefore, busyAfter, lc) - upUs - wrkUs, lc.length),
            }
          : null,
      badStatus: w.badStatus,
      socketErrors: w.socketErrors,
    };
    run.result.reps.push(rep);
    const errs = rep.badStatus + rep.socketErrors;
    log(
      `   ${opts.interleave ? `${run.v.name.padEnd(15)} ` : ''}run ${i}/${opts.reps}: ${fmtInt(rep.rps)} req/s, p50 ${fmtMs(rep.p50Ms)} ms, p99 ${fmtMs(rep.p99Ms)} ms, ` +
        `${rep.cpuUsPerReq.toFixed(1)} µs CPU/req (${rep.corePct.toFixed(0)}% of a core)` +
        (rep.noise ? `, noise ${fmtNoise(rep.noise)}` : '') +
        (errs ? `  !! ${rep.badStatus} responses >= 400, ${rep.socketErrors} socket errors` : ''),
    );
  } catch (err) {
    fail(run, err);
  }
}

/** Medians, the counting run under load, and the end of the process. */
async function conclude(run: Running, ctx: Ctx): Promise<Result> {
  const { opts } = ctx;
  const result = run.result;
  try {
    if (result.status === 'ok' && result.reps.length > 0) {
      const rpsList = result.reps.map((r) => r.rps);
      const med = median(rpsList);
      result.median = {
        rps: med,
        p50Ms: median(result.reps.map((r) => r.p50Ms)),
        p99Ms: median(result.reps.map((r) => r.p99Ms)),
        cpuUsPerReq: median(result.reps.map((r) => r.cpuUsPerReq)),
        corePct: median(result.reps.map((r) => r.corePct)),
        noise: result.reps.every((r) => r.noise)
          ? {
              proxyCorePct: median(result.reps.map((r) => r.noise!.proxyCorePct)),
              loadCorePct: median(result.reps.map((r) => r.noise!.loadCorePct)),
            }
          : null,
      };
      result.rpsSpread = med > 0 ? (Math.max(...rpsList) - Math.min(...rpsList)) / med : 0;
      const errs = result.reps.reduce((n, r) => n + r.badStatus + r.socketErrors, 0);
      if (errs) result.problems.push(`${errs} errors (status >= 400 or socket) during the measured runs`);

      if (opts.spreadS > 0) {
        const w = await runWrk(run.url, ctx.countScript, opts.connections, opts.spreadS, opts.loadCpu);
        result.loadSpread = w.spread;
        const total = (w.spread ?? []).reduce((a, b) => a + b, 0);
        log(`   ${run.v.name}: under load (${opts.spreadS} s, counted by wrk): ${fmtSpread(w.spread)} of ${fmtInt(total)} responses per target`);
        if (!w.spread) result.problems.push('the counting run printed no BENCH_SPREAD line');
        else if (w.spread.slice(0, TARGETS).some((c) => c === 0)) result.problems.push(`a target got no traffic under load (${w.spread.join('/')})`);
        else if (w.spread[TARGETS]! > 0) result.problems.push(`${w.spread[TARGETS]} responses under load came from no known target`);
        if (w.badStatus + w.socketErrors > 0) result.problems.push(`${w.badStatus + w.socketErrors} errors in the counting run`);
      }
    }
  } catch (err) {
    fail(run, err);
  } finally {
    if (run.proc) await stop(run.proc);
  }
  return result;
}

/** The briefed order: each variant in turn, its process stopped before the next one starts. */
async function measureSequential(ctx: Ctx): Promise<Result[]> {
  const results: Result[] = [];
  for (const v of ctx.opts.variants) {
    if (isShuttingDown()) break;
    const run = await prepare(v, ctx);
    await warmUp(run, ctx);
    for (let i = 1; i <= ctx.opts.reps && !isShuttingDown(); i++) await measureOnce(run, ctx, i);
    results.push(await conclude(run, ctx));
  }
  return results;
}

/**
 * --interleave: every variant's Expeditor is started up front (idle ones cost next to nothing), then the measured
 * runs go round-robin over the variants (each preceded by its warm-up; the order rotates each round), so drifting
 * noise on a shared machine is spread over all variants instead of landing on whichever ran at the time.
 */
async function measureInterleaved(ctx: Ctx): Promise<Result[]> {
  const runs: Running[] = [];
  for (const v of ctx.opts.variants) {
    if (isShuttingDown()) break;
    runs.push(await prepare(v, ctx));
  }
  log('\n== measured runs, interleaved (the order rotates by one variant each round)');
  for (let i = 1; i <= ctx.opts.reps && !isShuttingDown(); i++) {
    const shift = (i - 1) % Math.max(runs.length, 1);
    for (const run of [...runs.slice(shift), ...runs.slice(0, shift)]) {
      if (isShuttingDown()) break;
      await warmUp(run, ctx);
      await measureOnce(run, ctx, i);
    }
  }
  const results: Result[] = [];
  for (const run of runs) results.push(await conclude(run, ctx));
  return results;
}

// ---- reporting ----------------------------------------------------------------------------------

function compareToRoundRobin(results: Result[], interleave: boolean): void {
  const base = results.find((r) => r.variant === 'round-robin' && r.status === 'ok' && r.median);
  if (!base) return;
  for (const r of results) {
    if (r.status !== 'ok' || !r.median) continue;
    if (!interleave) {
      r.vsRoundRobin = { rps: r.median.rps / base.median!.rps, cpu: r.median.cpuUsPerReq / base.median!.cpuUsPerReq, paired: false };
      continue;
    }
    const rps: number[] = [];
    const cpu: number[] = [];
    for (const rep of r.reps) {
      const b = base.reps.find((x) => x.round === rep.round);
      if (!b) continue;
      rps.push(rep.rps / b.rps);
      cpu.push(rep.cpuUsPerReq / b.cpuUsPerReq);
    }
    if (rps.length) r.vsRoundRobin = { rps: median(rps), cpu: median(cpu), paired: true };
  }
}

const fmtInt = (n: number): string => Math.round(n).toLocaleString('en-US');
const fmtMs = (n: number): string => n.toFixed(2);
const fmtNoise = (n: Rep['noise']): string => (n ? `${Math.round(n.proxyCorePct)}/${Math.round(n.loadCorePct)}%` : '-');
function fmtSpread(s: number[] | null): string {
  if (!s) return '-';
  const total = s.reduce((a, b) => a + b, 0);
  if (total === 0) return '-';
  return s
    .slice(0, TARGETS)
    .map((c) => `${Math.round((100 * c) / total)}`)
    .join('/') + '%' + (s[TARGETS] ? ` (+${s[TARGETS]} ?)` : '');
}

function table(results: Result[], opts: Options): string {
  const head = ['variant', 'req/s', '±', 'p50 ms', 'p99 ms', 'CPU µs/req', 'req/s vs RR', 'CPU vs RR', 'core', 'noise', 'spread', 'problems'];
  const rows: string[][] = results.map((r) => {
    const m = r.median;
    if (r.status === 'failed' || !m) return [r.label, 'FAILED', '', '', '', '', '', '', '', '', '', `!! ${r.reason ?? 'no measured run'}`];
    return [
      r.label,
      fmtInt(m.rps),
      `${Math.round((r.rpsSpread * 100) / 2)}%`,
      fmtMs(m.p50Ms),
      fmtMs(m.p99Ms),
      m.cpuUsPerReq.toFixed(1),
      r.vsRoundRobin ? `${r.vsRoundRobin.rps.toFixed(2)}x` : '-',
      r.vsRoundRobin ? `${r.vsRoundRobin.cpu.toFixed(2)}x` : '-',
      `${Math.round(m.corePct)}%`,
      fmtNoise(m.noise),
      fmtSpread(r.loadSpread),
      r.problems.length ? `!! ${r.problems.join('; ')}` : '0',
    ];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const fmtRow = (row: string[]): string =>
    opts.markdown
      ? `| ${row.map((c) => c.replaceAll('|', '\\|')).join(' | ')} |`
      : row.map((c, i) => (i === 0 || i >= head.length - 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  const rule = opts.markdown
    ? `|${head.map((_, i) => (i === 0 || i >= head.length - 2 ? ' --- |' : ' ---: |')).join('')}`
    : widths.map((w) => '-'.repeat(w)).join('  ');
  return [
    fmtRow(head),
    rule,
    ...rows.map(fmtRow),
    '',
    `Medians of ${opts.reps} run(s) of ${opts.durationS} s at ${opts.connections} connections, ` +
      (opts.interleave
        ? `interleaved across the variants (each run after a ${opts.warmupS} s warm-up); `
        : `one variant after another (after a ${opts.warmupS} s warm-up); `) +
      '± is half the req/s range across runs.',
    `CPU µs/req = utime+stime of Expeditor's process tree over a run / requests completed (clock tick ${1e6 / CLK_TCK} µs).`,
    opts.interleave
      ? '"vs RR" = median over the rounds of the variant divided by round-robin (baseline) in the same round.'
      : '"vs RR" = the variant\'s median divided by round-robin\'s (baseline) in the same invocation.',
    'core = share of one core Expeditor used; noise = other work on the Expeditor core / the wrk+nginx core, % of a core.',
    ...(opts.spreadS > 0 ? [`spread = share of responses per target (1/2/3) in an extra ${opts.spreadS} s run counted by wrk.`] : []),
  ].join('\n');
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
    log('error: fewer than 2 CPUs: Expeditor and the load generator cannot get a core each; use --no-pin');
    return 2;
  }
  if (!existsSync(opts.expeditorBin)) {
    log(`error: ${opts.expeditorBin} does not exist`);
    return 2;
  }

  const date = new Date().toISOString();
  log(
    `Expeditor upstream policy benchmark — ${date}\n` +
      `machine: ${os.availableParallelism()} CPUs, ${os.cpus()[0]?.model ?? 'unknown'}, loadavg ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}; node ${process.version}\n` +
      `variants: ${opts.variants.map((v) => v.name).join(', ')}; ${TARGETS} targets; ${opts.connections} connections; ` +
      `${opts.reps} x ${opts.durationS} s (+${opts.warmupS} s warm-up${opts.interleave ? ' before each, interleaved' : ''}); ${opts.keys} x-user keys; ` +
      (opts.proxyCpu !== undefined ? `Expeditor on CPU ${opts.proxyCpu}, wrk + nginx on CPU ${opts.loadCpu}` : 'not pinned'),
  );

  const root = makeTempDir('expeditor-bench-upstreams-');
  const upDir = path.join(root, 'upstream');
  mkdirSync(upDir);
  const targetPorts: number[] = [];
  while (targetPorts.length < TARGETS) {
    const p = await freePort();
    if (!targetPorts.includes(p)) targetPorts.push(p);
  }
  const upConf = path.join(upDir, 'nginx.conf');
  writeFileSync(upConf, upstreamConf(upDir, targetPorts));
  const upstream = start('upstream', 'nginx', nginxArgs(upDir, upConf), { cpu: opts.loadCpu, logFile: path.join(upDir, 'output.log') });
  for (let i = 0; i < TARGETS; i++) {
    const notReady = await waitReady(`http://127.0.0.1:${targetPorts[i]}${REQ_PATH}`, upstream, 5000);
    const r = notReady ? null : await getOnce(`http://127.0.0.1:${targetPorts[i]}${REQ_PATH}`, 'x', 2000);
    if (notReady || targetOf(r!.body) !== i + 1) {
      log(`error: upstream nginx port ${targetPorts[i]}: ${notReady ?? `wrong body ${r!.body}`}\n${tailOf(upstream.logFile)}${tailOf(path.join(upDir, 'error.log'))}`);
      return 1;
    }
  }
  log(`upstream: one nginx (pid ${upstream.pid}) on ports ${targetPorts.join(', ')}, ${Buffer.byteLength(BODIES[0]!)}-byte JSON each`);

  const script = path.join(root, 'wrk-keys.lua');
  const countScript = path.join(root, 'wrk-keys-count.lua');
  writeFileSync(script, wrkScript(opts.keys, false));
  writeFileSync(countScript, wrkScript(opts.keys, true));

  const ctx: Ctx = { opts, root, targetPorts, upstream, script, countScript };
  const results = opts.interleave ? await measureInterleaved(ctx) : await measureSequential(ctx);
  if (isShuttingDown()) return 130;
  compareToRoundRobin(results, opts.interleave);

  process.stdout.write(`\n${table(results, opts)}\n`);
  const bad = results.filter((r) => r.status === 'failed' || r.problems.length > 0);
  if (bad.length) log(`\n!! problems: ${bad.map((r) => `${r.variant}: ${r.reason ?? r.problems.join('; ')}`).join(' | ')}`);
  if (opts.json) {
    const { json: _json, variants: _variants, ...optsOut } = opts;
    writeFileSync(
      opts.json,
      JSON.stringify({ date, host: { cpus: os.availableParallelism(), loadavg: os.loadavg() }, node: process.version, options: optsOut, bodies: BODIES, results }, null, 2) + '\n',
    );
    log(`results written to ${opts.json}`);
  }
  return bad.length ? 1 : 0;
}

runBench(main);
