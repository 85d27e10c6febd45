import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import http from 'node:http';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { startUpstream, type TestUpstream } from '../helpers/gateway.ts';
import { tempDir, within } from './support.ts';

// 50 MB each way through a gateway in its own process, with a consumer slower than the producer, must not grow the
// gateway's resident memory by 30 MB or more: bodies stream with backpressure, they are never buffered.
const SIZE = 50 * 1024 * 1024;
const MAX_GROWTH = 30 * 1024 * 1024;
/** The consumer's pace: slower than loopback, so every buffer between producer and consumer fills up. */
const BYTES_PER_SECOND = 25 * 1024 * 1024;
const REPO = resolve(import.meta.dirname, '../..');
const CHUNK = Buffer.alloc(64 * 1024, 'x');

function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  assert.ok(m, 'VmRSS not found');
  return Number(m[1]) * 1024;
}

/** Samples the RSS of `pid` until stopped; returns the peak seen. */
function sampleRss(pid: number): () => number {
  let peak = rssOf(pid);
  const timer = setInterval(() => (peak = Math.max(peak, rssOf(pid))), 10);
  return () => {
    clearInterval(timer);
    return Math.max(peak, rssOf(pid));
  };
}

/** Reads `stream` no faster than BYTES_PER_SECOND; resolves with the byte count. */
function slowDrain(stream: http.IncomingMessage): Promise<number> {
  const start = performance.now();
  let n = 0;
  return new Promise((resolve, reject) => {
    stream.on('data', (c: Buffer) => {
      n += c.length;
      const ahead = n / BYTES_PER_SECOND * 1000 - (performance.now() - start);
      if (ahead > 1) {
        stream.pause();
        setTimeout(() => stream.resume(), ahead);
      }
    });
    stream.on('end', () => resolve(n));
    stream.on('error', reject);
  });
}

/** Writes `size` bytes to `out` as fast as it takes them, honouring backpressure. */
async function produce(out: NodeJS.WritableStream, size: number): Promise<void> {
  for (let sent = 0; sent < size; sent += CHUNK.length) {
    if (!out.write(CHUNK)) await once(out, 'drain');
  }
  out.end();
}

let tmp: ReturnType<typeof tempDir>;
let up: TestUpstream;
let config: string;

before(async () => {
  up = await startUpstream(async (req, res) => {
    if (req.url === '/upload') {
      const n = await slowDrain(req);
      return void res.end(String(n));
    }
    if (req.url === '/download') {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(SIZE) });
      return void produce(res, SIZE);
    }
    req.resume();
    req.on('end', () => res.end('warm'));
  });
  tmp = tempDir('expeditor-stream-');
  config = join(tmp.dir, 'expeditor.yaml');
  writeFileSync(config, [
    'listen: { port: 0, host: 127.0.0.1 }',
    'admin: { enabled: false }',
    'upstreams:',
    `  up: { targets: [{ url: "${up.url}" }] }`,
    'routes:',
    '  - { name: all, match: { path: "/*" }, upstream: up, maxBodyBytes: 100mb }',
    '',
  ].join('\n'));
});

after(async () => {
  await up?.close();
  tmp?.remove();
});

/**
 * A gateway in its own process, warmed up, for one measurement (a fresh process each time: memory a previous
 * transfer left to the allocator would hide the growth of the next).
 */
async function gatewayProcess(t: { after(fn: () => Promise<void>): void }): Promise<{ url: string; pid: number }> {
  // process.execPath is the Node running this test (the pinned one under `npx node`), so child.pid is the gateway
  // itself rather than an npx wrapper. The young generation is capped at its smallest size: the chunks a gateway
  // has already forwarded are garbage, and with V8's default sizing tens of MB of them wait for a collection, so
  // the peak would measure the collector's laziness rather than what the gateway holds on to. Buffered bodies
  // still show in full: that memory is alive.
  const child = spawn(process.execPath, ['--max-semi-space-size=1', join(REPO, 'bin/expeditor.js'), 'start', '--config', config, '--no-watch'], {
    cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.after(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
  });
  let out = '';
  let err = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (c: string) => (err = (err + c).slice(-4000)));
  child.stdout!.setEncoding('utf8');
  const url = await within(new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (c: string) => {
      out += c;
      const m = /expeditor: proxy (http:\/\/[^\s,]+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`gateway exited (${code}): ${out}${err}`)));
  }), 15000, 'gateway start');
  // Warm up: load and compile the code paths of both directions before the baseline is taken.
  for (let i = 0; i < 20; i++) {
    await request(url, 'POST', '/warm', Buffer.alloc(256 * 1024));
    await request(url, 'GET', '/warm');
  }
  return { url, pid: child.pid! };
}

function request(base: string, method: string, path: string, body?: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${base}${path}`, { method, agent: false }, (res) => {
      let s = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (s += c));
      res.on('end', () => resolve(s));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('streaming through a gateway process', () => {
  it('a 50 MB upload to a slow upstream streams without growing the gateway RSS by 30 MB', async (t) => {
    const { url: gatewayUrl, pid } = await gatewayProcess(t);
    const baseline = rssOf(pid);
    const stop = sampleRss(pid);
    const start = performance.now();
    const answer = await within(new Promise<string>((resolve, reject) => {
      const req = http.request(`${gatewayUrl}/upload`, { method: 'POST', agent: false, headers: { 'content-length': String(SIZE) } }, (res) => {
        let s = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (s += c));
        res.on('end', () => resolve(s));
      });
      req.on('error', reject);
      void produce(req, SIZE);
    }), 60000, 'upload');
    const peak = stop();
    const growth = peak - baseline;
    t.diagnostic(`upload: ${(SIZE / 2 ** 20).toFixed(0)} MB in ${((performance.now() - start) / 1000).toFixed(1)} s; gateway RSS ${(baseline / 2 ** 20).toFixed(1)} → peak ${(peak / 2 ** 20).toFixed(1)} MB (+${(growth / 2 ** 20).toFixed(1)} MB)`);
    assert.equal(answer, String(SIZE));
    assert.ok(growth < MAX_GROWTH, `RSS grew by ${(growth / 2 ** 20).toFixed(1)} MB`);
  });

  it('a 50 MB download to a slow client streams without growing the gateway RSS by 30 MB', async (t) => {
    const { url: gatewayUrl, pid } = await gatewayProcess(t);
    const baseline = rssOf(pid);
    const stop = sampleRss(pid);
    const start = performance.now();
    const received = await within(new Promise<number>((resolve, reject) => {
      http.get(`${gatewayUrl}/download`, { agent: false }, (res) => {
        assert.equal(res.headers['content-length'], String(SIZE));
        slowDrain(res).then(resolve, reject);
      }).on('error', reject);
    }), 60000, 'download');
    const peak = stop();
    const growth = peak - baseline;
    t.diagnostic(`download: ${(SIZE / 2 ** 20).toFixed(0)} MB in ${((performance.now() - start) / 1000).toFixed(1)} s; gateway RSS ${(baseline / 2 ** 20).toFixed(1)} → peak ${(peak / 2 ** 20).toFixed(1)} MB (+${(growth / 2 ** 20).toFixed(1)} MB)`);
    assert.equal(received, SIZE);
    assert.ok(growth < MAX_GROWTH, `RSS grew by ${(growth / 2 ** 20).toFixed(1)} MB`);
  });
});
