import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { WebSocket, WebSocketServer } from 'ws';
import { startGateway, startUpstream, type TestGateway, type TestUpstream } from '../helpers/gateway.ts';
import { rawRequest, statusOf } from '../helpers/raw.ts';
import { scrape, scrapeUntil, send, sendMany, settle } from './support.ts';

const BODY = 'x'.repeat(100);

describe('GET /metrics after known traffic', () => {
  let up: TestUpstream;
  let slow: TestUpstream;
  let gw: TestGateway;
  let deadPort: number;

  before(async () => {
    up = await startUpstream((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': BODY.length });
        res.end(BODY);
      });
    });
    slow = await startUpstream((req, res) => {
      req.resume();
      setTimeout(() => res.end('slow'), 120);
    });
    // A port nothing listens on: connections are refused, so the gateway answers 502 upstream_unavailable.
    const probe = net.createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    deadPort = (probe.address() as net.AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));
    gw = await startGateway({
      upstreams: {
        ok: { targets: [{ url: up.url }] },
        slow: { targets: [{ url: slow.url }] },
        dead: { targets: [{ url: `http://127.0.0.1:${deadPort}` }] },
      },
      routes: [
        { name: 'a', match: { path: '/a/*' }, upstream: 'ok' },
        { name: 'slow', match: { path: '/slow' }, upstream: 'slow' },
        { name: 'b', match: { path: '/b' }, upstream: 'dead' },
        { name: 'menu', match: { path: '/menu', methods: ['GET'] }, plugins: { mock: { status: 200, body: 'soup' } } },
      ],
    });
  });
  after(async () => {
    await gw?.close();
    await up?.close();
    await slow?.close();
  });

  it('counts each request once, by route, method and status class, with exact error codes and histograms', async () => {
    for (let i = 0; i < 7; i++) assert.equal((await send(gw.url, `/a/${i}`)).status, 200);
    for (let i = 0; i < 3; i++) assert.equal((await send(gw.url, `/nowhere/${i}`)).status, 404);
    for (let i = 0; i < 2; i++) assert.equal((await send(gw.url, '/b')).status, 502);
    for (let i = 0; i < 2; i++) assert.equal((await send(gw.url, '/slow')).status, 200);
    assert.equal((await send(gw.url, '/menu', { method: 'POST' })).status, 405);
    await settle(gw);
    const s = await scrape(gw.adminUrl!);
    assert.equal(s.status, 200);
    assert.equal(s.contentType, 'text/plain; version=0.0.4; charset=utf-8');

    const requests = (route: string, method: string, sc: string) => s.value('expeditor_http_requests_total', { route, method, status_class: sc });
    assert.equal(requests('a', 'GET', '2xx'), 7);
    assert.equal(requests('(none)', 'GET', '4xx'), 3);
    assert.equal(requests('(none)', 'POST', '4xx'), 1);
    assert.equal(requests('b', 'GET', '5xx'), 2);
    assert.equal(requests('slow', 'GET', '2xx'), 2);
    // Nothing else was counted.
    assert.equal(s.find('expeditor_http_requests_total').reduce((n, x) => n + x.value, 0), 15);
    assert.equal(s.types.get('expeditor_http_requests_total'), 'counter');

    assert.equal(s.value('expeditor_http_errors_total', { route: 'b', code: 'upstream_unavailable' }), 2);
    assert.equal(s.value('expeditor_http_errors_total', { route: '(none)', code: 'route_not_found' }), 3);
    assert.equal(s.value('expeditor_http_errors_total', { route: '(none)', code: 'method_not_allowed' }), 1);
    assert.equal(s.find('expeditor_http_errors_total', { route: 'a' }).length, 0);

    // Total duration: one observation per request; the slow route's 120 ms land above the 0.1 s bucket.
    assert.equal(s.types.get('expeditor_http_request_duration_seconds'), 'histogram');
    assert.equal(s.value('expeditor_http_request_duration_seconds_count', { route: 'a', method: 'GET' }), 7);
    assert.equal(s.value('expeditor_http_request_duration_seconds_count', { route: '(none)', method: 'GET' }), 3);
    assert.equal(s.value('expeditor_http_request_duration_seconds_count', { route: 'slow', method: 'GET' }), 2);
    assert.equal(s.value('expeditor_http_request_duration_seconds_bucket', { route: 'slow', method: 'GET', le: '0.1' }), 0);
    assert.equal(s.value('expeditor_http_request_duration_seconds_bucket', { route: 'slow', method: 'GET', le: '0.25' }), 2);
    assert.equal(s.value('expeditor_http_request_duration_seconds_bucket', { route: 'slow', method: 'GET', le: '+Inf' }), 2);
    assert.ok(s.value('expeditor_http_request_duration_seconds_sum', { route: 'slow', method: 'GET' })! >= 0.24);

    // Upstream (integration) latency: only requests an upstream answered.
    assert.equal(s.value('expeditor_upstream_duration_seconds_count', { route: 'a' }), 7);
    assert.equal(s.value('expeditor_upstream_duration_seconds_count', { route: 'slow' }), 2);
    assert.equal(s.value('expeditor_upstream_duration_seconds_bucket', { route: 'slow', le: '0.1' }), 0);
    assert.equal(s.value('expeditor_upstream_duration_seconds_bucket', { route: 'slow', le: '0.25' }), 2);
    assert.equal(s.value('expeditor_upstream_duration_seconds_count', { route: 'b' }), undefined);
    assert.equal(s.value('expeditor_upstream_duration_seconds_count', { route: '(none)' }), undefined);
    // Gateway overhead: every request that went upstream, the refused ones too; and it is small.
    assert.equal(s.value('expeditor_gateway_overhead_seconds_count', { route: 'a' }), 7);
    assert.equal(s.value('expeditor_gateway_overhead_seconds_count', { route: 'b' }), 2);
    assert.equal(s.value('expeditor_gateway_overhead_seconds_count', { route: 'slow' }), 2);
    assert.equal(s.value('expeditor_gateway_overhead_seconds_bucket', { route: 'slow', le: '0.1' }), 2);
    assert.equal(s.value('expeditor_gateway_overhead_seconds_count', { route: 'menu' }), undefined);

    // Buckets are cumulative and end with +Inf = _count.
    for (const name of ['expeditor_http_request_duration_seconds', 'expeditor_upstream_duration_seconds', 'expeditor_gateway_overhead_seconds']) {
      const counts = s.find(`${name}_count`);
      assert.ok(counts.length > 0, name);
      for (const c of counts) {
        const buckets = s.find(`${name}_bucket`, c.labels);
        for (let i = 1; i < buckets.length; i++) assert.ok(buckets[i]!.value >= buckets[i - 1]!.value, `${name} ${JSON.stringify(c.labels)} not cumulative`);
        assert.equal(buckets.at(-1)!.labels.le, '+Inf');
        assert.equal(buckets.at(-1)!.value, c.value);
      }
    }

    // Response body bytes: 7 upstream bodies of 100 bytes on route a.
    assert.equal(s.value('expeditor_http_response_bytes_total', { route: 'a' }), 700);
    assert.equal(s.value('expeditor_http_response_bytes_total', { route: 'slow' }), 8);
  });

  it('counts request bytes with and without Content-Length, and the bytes of gateway replies', async () => {
    const before = await scrape(gw.adminUrl!);
    const inBefore = before.value('expeditor_http_request_bytes_total', { route: 'a' }) ?? 0;
    const outBefore = before.value('expeditor_http_response_bytes_total', { route: 'menu' }) ?? 0;
    assert.equal((await send(gw.url, '/a/x', { method: 'POST', body: 'y'.repeat(1000) })).status, 200);
    assert.equal((await send(gw.url, '/a/x', { method: 'POST', body: 'z'.repeat(333), chunked: true })).status, 200);
    const menu = await send(gw.url, '/menu');
    assert.equal(menu.body, 'soup');
    await settle(gw);
    const s = await scrape(gw.adminUrl!);
    assert.equal(s.value('expeditor_http_request_bytes_total', { route: 'a' }), inBefore + 1333);
    assert.equal(s.value('expeditor_http_response_bytes_total', { route: 'menu' }), outBefore + 4);
    assert.equal(s.value('expeditor_http_requests_total', { route: 'a', method: 'POST', status_class: '2xx' }), 2);
  });

  it('counts requests the HTTP parser refused, by code, outside any route', async () => {
    const raw = await rawRequest(gw.url, 'GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n');
    assert.equal(statusOf(raw), 400);
    const foo = await rawRequest(gw.url, 'FOO / HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.equal(statusOf(foo), 400);
    await settle(gw);
    const s = await scrape(gw.adminUrl!);
    assert.equal(s.value('expeditor_server_rejected_requests_total', { code: 'request_smuggling' }), 1);
    assert.equal(s.value('expeditor_server_rejected_requests_total', { code: 'bad_request' }), 1);
  });

  it('a client that leaves before any response is counted with status class none', async () => {
    await new Promise<void>((resolve) => {
      const { port } = new URL(gw.url);
      const sock = net.connect(Number(port), '127.0.0.1', () => {
        sock.write('GET /slow HTTP/1.1\r\nHost: x\r\n\r\n');
        setTimeout(() => {
          sock.destroy();
          resolve();
        }, 30);
      });
    });
    const s = await scrapeUntil(gw.adminUrl!, (x) => x.value('expeditor_http_requests_total', { route: 'slow', method: 'GET', status_class: 'none' }) === 1, 'the abandoned request');
    assert.equal(s.find('expeditor_http_errors_total', { route: 'slow' }).length, 0);
  });

  it('serves the open client connections, the process metrics and the build info', async () => {
    const base = (await scrape(gw.adminUrl!)).value('expeditor_server_open_connections')!;
    const { port } = new URL(gw.url);
    const sockets = await Promise.all([0, 1, 2].map(() => new Promise<net.Socket>((resolve) => {
      const sock = net.connect(Number(port), '127.0.0.1', () => resolve(sock));
    })));
    const s = await scrapeUntil(gw.adminUrl!, (x) => x.value('expeditor_server_open_connections') === base + 3, 'three more connections');
    for (const sock of sockets) sock.destroy();
    await scrapeUntil(gw.adminUrl!, (x) => x.value('expeditor_server_open_connections') === base, 'connections closed');
    assert.equal(s.types.get('expeditor_server_open_connections'), 'gauge');
    for (const name of ['expeditor_process_resident_memory_bytes', 'expeditor_nodejs_heap_size_used_bytes', 'expeditor_nodejs_eventloop_lag_seconds', 'expeditor_process_cpu_seconds_total']) {
      assert.ok((s.value(name) ?? 0) > 0 || name === 'expeditor_nodejs_eventloop_lag_seconds', `${name} missing:\n${s.text.slice(0, 2000)}`);
      assert.ok(s.types.has(name), name);
    }
    assert.equal(s.find('expeditor_build_info')[0]?.labels.node, process.versions.node);
    assert.equal(s.value('expeditor_config_reloads_total'), 0);
  });
});

describe('GET /metrics with metrics disabled', () => {
  let up: TestUpstream;
  let gw: TestGateway;
  const config = (enabled: boolean) => ({
    upstreams: { ok: { targets: [{ url: up.url }] } },
    routes: [{ name: 'a', match: { path: '/a' }, upstream: 'ok' }],
    metrics: { enabled },
  });
  before(async () => {
    up = await startUpstream();
    gw = await startGateway(config(false));
  });
  after(async () => {
    await gw?.close();
    await up?.close();
  });

  it('answers 404 problem+json, records nothing per request, and starts counting when a reload enables it', async (t) => {
    const record = t.mock.method(gw.gateway.metrics, 'record');
    const res = await fetch(`${gw.adminUrl}/metrics`);
    assert.equal(res.status, 404);
    assert.equal(res.headers.get('content-type'), 'application/problem+json');
    const problem = await res.json() as Record<string, unknown>;
    assert.equal(problem.code, 'route_not_found');
    assert.match(String(problem.detail), /metrics are disabled/);

    for (let i = 0; i < 5; i++) assert.equal((await send(gw.url, '/a')).status, 200);
    assert.equal((await send(gw.url, '/nope')).status, 404);
    await settle(gw);
    assert.equal(record.mock.callCount(), 0);

    await gw.gateway.apply({ ...config(true), listen: gw.gateway.runtime.config.listen, admin: gw.gateway.runtime.config.admin });
    assert.equal((await send(gw.url, '/a')).status, 200);
    await settle(gw);
    assert.equal(record.mock.callCount(), 1);
    const s = await scrape(gw.adminUrl!);
    assert.equal(s.status, 200);
    // Only the request after the reload: nothing was counted while disabled.
    assert.equal(s.value('expeditor_http_requests_total', { route: 'a', method: 'GET', status_class: '2xx' }), 1);
    assert.equal(s.find('expeditor_http_requests_total').length, 1);
    assert.equal(s.value('expeditor_config_reloads_total'), 1);
  });
});

describe('WebSocket upgrades', () => {
  it('count as 1xx requests of their route, without a duration: that would be the connection\'s', async (t) => {
    const up = await startUpstream();
    const wss = new WebSocketServer({ server: up.server, path: '/ws' });
    wss.on('connection', (socket) => socket.send('hi'));
    const gw = await startGateway({ upstreams: { ws: { targets: [{ url: up.url }] } }, routes: [{ name: 'ws', match: { path: '/ws' }, upstream: 'ws' }] });
    t.after(async () => {
      await gw.close();
      for (const c of wss.clients) c.terminate();
      await new Promise((resolve) => wss.close(resolve));
      await up.close();
    });
    const ws = new WebSocket(`${gw.url.replace(/^http/, 'ws')}/ws`);
    const [message] = await once(ws, 'message');
    assert.equal(String(message), 'hi');
    ws.close();
    await once(ws, 'close');
    const s = await scrapeUntil(gw.adminUrl!, (x) => x.value('expeditor_http_requests_total', { route: 'ws', method: 'GET', status_class: '1xx' }) === 1, 'the upgrade counted');
    assert.equal(s.find('expeditor_http_request_duration_seconds_count', { route: 'ws' }).length, 0);
  });
});
