import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateApiKey, hashApiKey } from '../../src/identity/api-keys.ts';
import { flushAccessLogs } from '../../src/plugins/access-log/plugin.ts';
import { startGateway, startUpstream, type TestGateway, type TestUpstream } from '../helpers/gateway.ts';
import { until } from '../helpers/redis.ts';

type Answer = Record<string, any>;

async function getAnalytics(adminUrl: string, qs = ''): Promise<{ status: number; type: string | null; body: Answer }> {
  const res = await fetch(`${adminUrl}/analytics${qs === '' ? '' : `?${qs}`}`);
  return { status: res.status, type: res.headers.get('content-type'), body: await res.json() as Answer };
}

/** The answer once its totals reach `requests` (exchanges are counted when they end, just after the client has them). */
export async function analyticsUntil(adminUrl: string, qs: string, requests: number): Promise<Answer> {
  let last: Answer | undefined;
  await until(async () => {
    last = (await getAnalytics(adminUrl, qs)).body;
    return last.totals?.requests >= requests;
  }, 5000, `${requests} requests in /analytics?${qs} (last: ${JSON.stringify(last?.totals)})`);
  return last!;
}

/** Sends `paths` through the gateway, `concurrency` at a time, and checks each status. */
async function sendAll(base: string, paths: string[], concurrency: number, init: RequestInit = {}, status = 200): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < paths.length) {
      const res = await fetch(base + paths[next++]!, init);
      await res.arrayBuffer();
      assert.equal(res.status, status);
    }
  }));
}

describe('GET /analytics on one gateway', () => {
  let up: TestUpstream;
  let gw: TestGateway;
  let dir: string;
  const alice = generateApiKey();
  const bob = generateApiKey();

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'expeditor-analytics-'));
    // Answers after the delay the request asks for (?d=ms), or with the status it asks for (?s=).
    up = await startUpstream((req, res) => {
      req.resume();
      const q = new URL(req.url!, 'http://x').searchParams;
      setTimeout(() => {
        res.writeHead(Number(q.get('s') ?? 200));
        res.end('ok');
      }, Number(q.get('d') ?? 0));
    });
    gw = await startGateway({
      upstreams: { up: { targets: [{ url: up.url }] } },
      consumers: {
        alice: { credentials: [{ type: 'key-auth', keyHash: hashApiKey(alice) }] },
        bob: { credentials: [{ type: 'key-auth', keyHash: hashApiKey(bob) }] },
      },
      routes: [
        { name: 'slow', match: { path: '/slow' }, upstream: 'up', plugins: { 'access-log': { destination: { file: join(dir, 'slow.log') }, fields: ['latency'] } } },
        { name: 'keyed', match: { path: '/keyed' }, upstream: 'up', plugins: { 'key-auth': {} } },
        { name: 'open', match: { path: '/open' }, upstream: 'up' },
      ],
    });
  });

  after(async () => {
    await gw.close();
    await up.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers percentiles within 1% of the exact latencies of the requests (as the access log measured them)', async () => {
    // 240 requests with delays spread from 2 ms to 160 ms, and a tail of slower ones.
    const delays = Array.from({ length: 240 }, (_, i) => (i % 40 === 0 ? 250 : 2 + ((i * 37) % 158)));
    await sendAll(gw.url, delays.map((d) => `/slow?d=${d}`), 12);
    const answer = await analyticsUntil(gw.adminUrl!, 'route=slow', delays.length);
    let lines: number[] = [];
    await until(async () => {
      await flushAccessLogs();
      lines = readFileSync(join(dir, 'slow.log'), 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { latency: number }).latency);
      return lines.length === delays.length;
    }, 5000, 'the access log lines');
    const sorted = lines.sort((a, b) => a - b);
    // The access log reads the clock a few microseconds after the analytics: allow 50 µs besides the 1%.
    const close = (actual: number, expected: number, what: string) =>
      assert.ok(Math.abs(actual - expected) <= 0.01 * expected + 0.05, `${what}: ${actual} ms, exact ${expected} ms`);
    for (const [name, q] of [['p50', 0.5], ['p90', 0.9], ['p95', 0.95], ['p99', 0.99]] as const) {
      close(answer.latencyMs[name], sorted[Math.floor(q * (sorted.length - 1))]!, name);
    }
    close(answer.latencyMs.max, sorted.at(-1)!, 'max');
    assert.ok(answer.latencyMs.p50 >= 2, 'latency includes the upstream delay');
    assert.equal(answer.totals.requests, delays.length);
  });

  it('counts per route, consumer and status, with errors by class, filters, and a series per minute', async () => {
    await sendAll(gw.url, Array(3).fill('/keyed'), 1, { headers: { apikey: alice } });
    await sendAll(gw.url, ['/keyed?s=503'], 1, { headers: { apikey: bob } }, 503);
    await sendAll(gw.url, ['/keyed'], 1, {}, 401);
    await sendAll(gw.url, ['/nowhere'], 1, {}, 404);
    await sendAll(gw.url, Array(2).fill('/open?s=404'), 1, {}, 404);

    const keyed = await analyticsUntil(gw.adminUrl!, 'route=keyed', 5);
    assert.equal(keyed.scope, 'node');
    assert.deepEqual(keyed.nodes, [keyed.node]);
    assert.deepEqual(keyed.filters, { route: 'keyed' });
    assert.deepEqual(keyed.totals, { requests: 5, errors: { '4xx': 1, '5xx': 1 }, clientClosed: 0, overflow: 0 });
    assert.deepEqual(keyed.top.consumers.map((c: Answer) => [c.name, c.requests]), [['alice', 3], ['(none)', 1], ['bob', 1]]);
    assert.deepEqual(keyed.top.statuses, [{ status: 200, requests: 3 }, { status: 401, requests: 1 }, { status: 503, requests: 1 }]);
    assert.equal(keyed.series.length, 60);
    assert.equal(keyed.series.reduce((n: number, p: Answer) => n + p.requests, 0), 5);

    const alices = await analyticsUntil(gw.adminUrl!, 'consumer=alice', 3);
    assert.deepEqual(alices.top.routes, [{ name: 'keyed', requests: 3, errors: { '4xx': 0, '5xx': 0 } }]);
    const all = await analyticsUntil(gw.adminUrl!, 'top=2', 248);
    assert.deepEqual(all.top.routes.map((r: Answer) => r.name), ['slow', 'keyed']);
    assert.equal(all.top.routes.length, 2);
    const unrouted = await analyticsUntil(gw.adminUrl!, 'route=(none)', 1);
    assert.deepEqual(unrouted.top.statuses, [{ status: 404, requests: 1 }]);
    assert.equal((await getAnalytics(gw.adminUrl!, 'stage=beta')).body.totals.requests, 0);
  });

  it('refuses a bad query with problem+json naming each parameter', async () => {
    const r = await getAnalytics(gw.adminUrl!, 'from=soon&scope=cluster&routes=x');
    assert.equal(r.status, 400);
    assert.equal(r.type, 'application/problem+json');
    assert.equal(r.body.code, 'bad_request');
    assert.deepEqual(r.body.errors.map((e: Answer) => e.param).sort(), ['from', 'routes', 'scope']);
  });

  it('stops on a reload with analytics.enabled false (404), and starts again from nothing', async () => {
    const config = gw.gateway.runtime.config;
    await gw.gateway.apply({ ...config, analytics: { enabled: false } });
    const off = await getAnalytics(gw.adminUrl!);
    assert.equal(off.status, 404);
    assert.match(off.body.detail, /analytics\.enabled: false/);
    await gw.gateway.apply({ ...config, analytics: { enabled: true } });
    await sendAll(gw.url, ['/open'], 1);
    const on = await analyticsUntil(gw.adminUrl!, '', 1);
    assert.equal(on.totals.requests, 1);
  });
});
