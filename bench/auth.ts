// Authentication benchmark: what key-auth and JWT (RS256, ES256) cost against the plain proxy path, with nginx
// proxying the same upstream in the same run (ratios, not absolute numbers, are what compare across machines).
//
//   npm run bench:auth
//   npx node bench/auth.ts --reps 5 --duration 5 --connections 50 --json out.json
//   npx node bench/auth.ts --help
//
// ONE Expeditor process (pinned to CPU 0) serves four routes in front of a fixed nginx upstream (CPU 1, with wrk):
// /plain (no plugins), /key (key-auth, 100 consumers), /rs256 and /es256 (jwt with an inline public key, tokens
// mapped to one of 100 consumers), and the same two without the verified-token cache (every request verifies). nginx as a reverse proxy (CPU 0 while it is measured) gives the reference. Each
// variant is checked with one request (200 with the upstream's body), warmed up, then measured N times, the
// variants taking turns in every repetition so that drift on a noisy machine hits them alike; medians are reported.
// See docs/benchmarks.md, "Authentication".

import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { SignJWT, exportSPKI, generateKeyPair } from 'jose';
import { runBench } from './lib/lifecycle.ts';
import { UsageError, positiveInt } from './lib/options.ts';
import { UPSTREAM_BODY, nginxArgs, proxyConf, upstreamConf } from './lib/nginx.ts';
import { commandExists, freePort, makeTempDir, start, stop, type Managed } from './lib/procs.ts';
import { runWrk, type WrkResult } from './lib/wrk.ts';

const REPO = path.resolve(import.meta.dirname, '..');
const CONSUMERS = 100;

const USAGE = `usage: node bench/auth.ts [options]
  --reps N          measured runs per variant (default 3)
  --duration S      seconds per run (default 5)
  --warmup S        seconds of warm-up per variant (default 2)
  --connections N   wrk connections (default 50)
  --proxy-cpu LIST  CPUs for the proxies (default 0)
  --load-cpu LIST   CPUs for wrk and the upstream (default 1)
  --json FILE       also write the results as JSON
`;

interface Variant {
  name: string;
  label: string;
  path: string;
  headers: string[];
  /** nginx instead of Expeditor. */
  nginx?: boolean;
}

interface Options {
  reps: number;
  duration: number;
  warmup: number;
  connections: number;
  proxyCpu: string;
  loadCpu: string;
  json: string | undefined;
}

function options(): Options {
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
    process.stdout.write(USAGE);
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

/** Consumers with one API key each and a `token` credential; returns the config text and one key and two tokens. */
async function credentials() {
  const rs = await generateKeyPair('RS256');
  const es = await generateKeyPair('ES256');
  const keys: string[] = [];
  const consumers: string[] = [];
  for (let i = 0; i < CONSUMERS; i++) {
    const key = `exp_${randomBytes(32).toString('base64url')}`;
    keys.push(key);
    const hash = createHash('sha256').update(key).digest('hex');
    consumers.push(`  app-${i}:\n    groups: [bench]\n    credentials:\n      - { type: key-auth, keyHash: "sha256:${hash}" }\n      - { type: token, subject: "app-${i}" }`);
  }
  const sign = (alg: string, key: Parameters<SignJWT['sign']>[0]) => new SignJWT({ scope: 'read' })
    .setProtectedHeader({ alg, kid: `${alg.toLowerCase()}-1` })
    .setIssuer('https://id.bench.test').setSubject('app-42').setAudience('bench')
    .setIssuedAt().setExpirationTime('2h')
    .sign(key);
  return {
    consumers: consumers.join('\n'),
    key: keys[42]!,
    rsPem: await exportSPKI(rs.publicKey),
    esPem: await exportSPKI(es.publicKey),
    rsToken: await sign('RS256', rs.privateKey),
    esToken: await sign('ES256', es.privateKey),
  };
}

function indent(text: string, spaces: number): string {
  return text.trim().split('\n').map((l) => ' '.repeat(spaces) + l).join('\n');
}

function jwtRoute(name: string, alg: string, pem: string, cache = true): string {
  return `  - name: ${name}
    match: { path: /${name} }
    upstream: bench
    plugins:
      jwt:${cache ? '' : '\n        verifiedCache: { ttl: 0 }'}
        issuers:
          - issuer: https://id.bench.test
            algorithms: [${alg}]
            audiences: [bench]
            keys:
              - publicKey: |
${indent(pem, 18)}`;
}

async function check(url: string, headers: string[]): Promise<string | undefined> {
  const h = Object.fromEntries(headers.map((x) => [x.slice(0, x.indexOf(':')), x.slice(x.indexOf(':') + 1).trim()]));
  try {
    const res = await fetch(url, { headers: h });
    const body = await res.text();
    if (res.status !== 200) return `status ${res.status}: ${body.slice(0, 200)}`;
    if (body !== UPSTREAM_BODY) return `unexpected body: ${body.slice(0, 200)}`;
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

async function waitFor(url: string, headers: string[], proc: Managed): Promise<void> {
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

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

async function main(): Promise<number> {
  let opts: Options;
  try {
    opts = options();
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`${err.message}\n${USAGE}`);
    return 2;
  }
  for (const cmd of ['wrk', 'nginx', 'taskset']) {
    if (!commandExists(cmd)) throw new Error(`${cmd} is not installed (apt-get install -y ${cmd === 'taskset' ? 'util-linux' : cmd})`);
  }
  const dir = makeTempDir('expeditor-bench-auth-');
  const upstreamPort = await freePort();
  writeFileSync(path.join(dir, 'upstream.conf'), upstreamConf(path.join(dir), upstreamPort));
  const upstream = start('upstream', 'nginx', nginxArgs(dir, path.join(dir, 'upstream.conf')), { cpu: opts.loadCpu, logFile: path.join(dir, 'upstream.log') });
  const upstreamUrl = `http://127.0.0.1:${upstreamPort}`;

  const proxyDir = path.join(dir, 'proxy');
  mkdirSync(proxyDir);
  const nginxPort = await freePort();
  writeFileSync(path.join(proxyDir, 'nginx.conf'), proxyConf(proxyDir, nginxPort, upstreamPort));
  const nginx = start('nginx', 'nginx', nginxArgs(proxyDir, path.join(proxyDir, 'nginx.conf')), { cpu: opts.proxyCpu, logFile: path.join(dir, 'nginx.log') });

  const c = await credentials();
  const port = await freePort();
  const configFile = path.join(dir, 'expeditor.yaml');
  writeFileSync(configFile, `listen: { port: ${port}, host: 127.0.0.1 }
admin: { enabled: false }
upstreams:
  bench: { targets: [{ url: "${upstreamUrl}" }] }
consumers:
${c.consumers}
routes:
  - name: plain
    match: { path: /plain }
    upstream: bench
  - name: key
    match: { path: /key }
    upstream: bench
    plugins: { key-auth: {} }
${jwtRoute('rs256', 'RS256', c.rsPem)}
${jwtRoute('es256', 'ES256', c.esPem)}
${jwtRoute('rs256-verify', 'RS256', c.rsPem, false)}
${jwtRoute('es256-verify', 'ES256', c.esPem, false)}
`);
  const expeditor = start('expeditor', process.execPath, [path.join(REPO, 'bin', 'expeditor.js'), 'start', '--config', configFile, '--no-watch'], {
    cpu: opts.proxyCpu, cwd: REPO, logFile: path.join(dir, 'expeditor.log'),
  });
  const base = `http://127.0.0.1:${port}`;
  const variants: Variant[] = [
    { name: 'nginx', label: 'nginx (proxy, no auth)', path: `http://127.0.0.1:${nginxPort}/plain`, headers: [], nginx: true },
    { name: 'plain', label: 'Expeditor, no auth', path: `${base}/plain`, headers: [] },
    { name: 'key-auth', label: 'Expeditor, key-auth', path: `${base}/key`, headers: [`apikey: ${c.key}`] },
    { name: 'jwt-rs256', label: 'Expeditor, jwt RS256', path: `${base}/rs256`, headers: [`Authorization: Bearer ${c.rsToken}`] },
    { name: 'jwt-es256', label: 'Expeditor, jwt ES256', path: `${base}/es256`, headers: [`Authorization: Bearer ${c.esToken}`] },
    // The same without the verified-token cache: every request pays the signature check.
    { name: 'jwt-rs256-verify', label: 'Expeditor, jwt RS256, no cache', path: `${base}/rs256-verify`, headers: [`Authorization: Bearer ${c.rsToken}`] },
    { name: 'jwt-es256-verify', label: 'Expeditor, jwt ES256, no cache', path: `${base}/es256-verify`, headers: [`Authorization: Bearer ${c.esToken}`] },
  ];
  await waitFor(`${upstreamUrl}/`, [], upstream);
  for (const v of variants) await waitFor(v.path, v.headers, v.nginx ? nginx : expeditor);
  // Tokens and keys are checked: a wrong one must be refused, or the numbers would measure nothing.
  for (const v of variants.slice(2)) {
    const res = await fetch(v.path, { headers: { apikey: 'exp_wrong', authorization: 'Bearer x.y.z' } });
    if (res.status !== 401) throw new Error(`${v.name}: a wrong credential got ${res.status}, expected 401`);
  }

  const runs = new Map<string, WrkResult[]>(variants.map((v) => [v.name, []]));
  const load = (v: Variant, seconds: number) => runWrk({ url: v.path, connections: opts.connections, durationS: seconds, threads: 1, cpu: opts.loadCpu, headers: v.headers });
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
  const plain = rows.find((r) => r.name === 'plain')!.rps;
  const nginxRps = rows.find((r) => r.name === 'nginx')!.rps;
  const lines = [
    `| variant | req/s | p50 ms | p99 ms | vs Expeditor plain | vs nginx |`,
    `|---|---:|---:|---:|---:|---:|`,
    ...rows.map((r) => `| ${r.label} | ${Math.round(r.rps)} | ${(r.p50Us / 1000).toFixed(2)} | ${(r.p99Us / 1000).toFixed(2)} | ${(r.rps / plain).toFixed(3)} | ${(r.rps / nginxRps).toFixed(3)} |`),
  ];
  process.stdout.write(`\n${opts.connections} connections, ${opts.reps} × ${opts.duration} s per variant (medians), ${CONSUMERS} consumers\n\n${lines.join('\n')}\n`);
  if (opts.json) writeFileSync(opts.json, JSON.stringify({ options: opts, rows }, null, 2));
  await stop(expeditor);
  await stop(nginx);
  await stop(upstream);
  return 0;
}

runBench(main);
