import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startGateway, startUpstream, type TestGateway, type TestUpstream } from '../helpers/gateway.ts';
import { generateApiKey, hashApiKey } from '../../src/identity/api-keys.ts';
import { scrape, scrapeUntil, send, sendMany, settle } from './support.ts';

/** The series a scrape serves, process metrics left out. */
function gatewaySeries(s: Awaited<ReturnType<typeof scrape>>) {
  return s.samples.filter((x) => !x.name.startsWith('expeditor_process_') && !x.name.startsWith('expeditor_nodejs_'));
}

describe('label cardinality', () => {
  let up: TestUpstream;
  let gw: TestGateway;
  const keys = Array.from({ length: 6 }, () => generateApiKey());

  before(async () => {
    up = await startUpstream((req, res) => {
      req.resume();
      res.end('ok');
    });
    gw = await startGateway({
      upstreams: { ok: { targets: [{ url: up.url }] } },
      consumers: Object.fromEntries(keys.map((k, i) => [`app-${i}`, { credentials: [{ type: 'key-auth', keyHash: hashApiKey(k) }] }])),
      routes: [
        { name: 'api', match: { path: '/api/*' }, upstream: 'ok' },
        { name: 'keyed', match: { path: '/keyed' }, upstream: 'ok', plugins: { 'key-auth': {} } },
      ],
      metrics: { consumerLabels: true, maxConsumers: 3 },
    });
  });
  after(async () => {
    await gw?.close();
    await up?.close();
  });

  it('10,000 distinct paths, queries and methods make a bounded number of series', async () => {
    const before = gatewaySeries(await scrape(gw.adminUrl!)).length;
    const methods = ['GET', 'POST', 'PUT', 'DELETE', 'PROPFIND', 'PURGE', 'MKCOL', 'LOCK', 'SEARCH', 'REPORT'];
    const one = async (i: number) => {
      const path = i % 2 === 0 ? `/api/item-${i}?q=${i}` : `/random-${i}/x%20${i}`;
      const r = await send(gw.url, path, { method: methods[i % methods.length] });
      assert.ok(r.status === 200 || r.status === 404, `${path}: ${r.status}`);
    };
    await sendMany(10_000, 16, one);
    await settle(gw);
    const s = await scrape(gw.adminUrl!);
    const series = gatewaySeries(s);
    // Two routes and "(none)", five methods and OTHER, two status classes, and histograms of 14 samples per series:
    // about 130 samples, whatever the paths.
    assert.ok(series.length < 200, `${series.length} series (from ${before})`);
    const requests = s.find('expeditor_http_requests_total');
    assert.deepEqual([...new Set(requests.map((x) => x.labels.route))].sort(), ['(none)', 'api']);
    assert.deepEqual([...new Set(requests.map((x) => x.labels.method))].sort(), ['DELETE', 'GET', 'OTHER', 'POST', 'PUT']);
    assert.ok(requests.length <= 10, JSON.stringify(requests));
    assert.equal(requests.reduce((n, x) => n + x.value, 0), 10_000);
    assert.equal(s.value('expeditor_http_requests_total', { route: 'api', method: 'OTHER', status_class: '2xx' }), 3000);
    assert.equal(s.value('expeditor_http_requests_total', { route: '(none)', method: 'OTHER', status_class: '4xx' }), 3000);
    // No label value anywhere carries a path.
    assert.ok(!s.text.includes('item-') && !s.text.includes('random-'));
    assert.ok(gw.gateway.metrics.series.routes.size <= 2);

    // A second wave of new paths adds no series at all.
    await sendMany(2000, 16, (i) => one(10_000 + i));
    await settle(gw);
    assert.equal(gatewaySeries(await scrape(gw.adminUrl!)).length, series.length);
  });

  it('consumer labels stop at maxConsumers: the others are counted as (other)', async () => {
    for (const [i, key] of keys.entries()) {
      for (let n = 0; n < 2; n++) assert.equal((await send(gw.url, '/keyed', { headers: { apikey: key } })).status, 200, `app-${i}`);
    }
    assert.equal((await send(gw.url, '/keyed')).status, 401);
    await settle(gw);
    const s = await scrape(gw.adminUrl!);
    const consumers = s.find('expeditor_consumer_requests_total');
    assert.deepEqual(consumers.map((x) => [x.labels.consumer, x.labels.status_class, x.value]), [
      ['app-0', '2xx', 2], ['app-1', '2xx', 2], ['app-2', '2xx', 2], ['(other)', '2xx', 6],
    ]);
  });

  it('authentication failures by route, outcome and method', async () => {
    assert.equal((await send(gw.url, '/keyed')).status, 401);
    for (let i = 0; i < 3; i++) assert.equal((await send(gw.url, '/keyed', { headers: { apikey: generateApiKey() } })).status, 401);
    await settle(gw);
    const s = await scrape(gw.adminUrl!);
    // One absent request came from the test before.
    assert.equal(s.value('expeditor_auth_failures_total', { route: 'keyed', outcome: 'absent', auth_method: '(none)' }), 2);
    assert.equal(s.value('expeditor_auth_failures_total', { route: 'keyed', outcome: 'invalid', auth_method: 'key-auth' }), 3);
    assert.equal(s.value('expeditor_http_errors_total', { route: 'keyed', code: 'invalid_credentials' }), 3);
    assert.equal(s.value('expeditor_http_errors_total', { route: 'keyed', code: 'unauthorized' }), 2);
  });
});

describe('upstream target metrics', () => {
  let good: TestUpstream;
  let sick: TestUpstream;
  let held: TestUpstream;
  let gw: TestGateway;
  const waiting: http.ServerResponse[] = [];

  before(async () => {
    good = await startUpstream((req, res) => res.end('ok'));
    sick = await startUpstream((req, res) => {
      res.statusCode = req.url === '/health' ? 500 : 200;
      res.end();
    });
    held = await startUpstream((req, res) => {
      req.resume();
      waiting.push(res);
    });
    gw = await startGateway({
      upstreams: {
        pair: {
          targets: [{ url: good.url }, { url: sick.url }],
          health: { active: { path: '/health', interval: '100ms', timeout: '500ms', healthyThreshold: 1, unhealthyThreshold: 1 } },
        },
        held: { targets: [{ url: held.url }], limits: { maxConcurrent: 1, maxQueued: 10 } },
      },
      routes: [
        { name: 'pair', match: { path: '/pair' }, upstream: 'pair' },
        { name: 'held', match: { path: '/held' }, upstream: 'held' },
      ],
    });
  });
  after(async () => {
    for (const r of waiting) r.end();
    await gw?.close();
    await Promise.all([good?.close(), sick?.close(), held?.close()]);
  });

  const target = (u: TestUpstream) => new URL(u.url).host;

  it('healthy follows the active health checks', async () => {
    const s = await scrapeUntil(gw.adminUrl!, (x) => x.value('expeditor_upstream_target_healthy', { upstream: 'pair', target: target(sick) }) === 0, 'the sick target marked down');
    assert.equal(s.value('expeditor_upstream_target_healthy', { upstream: 'pair', target: target(good) }), 1);
    assert.equal(s.value('expeditor_upstream_target_draining', { upstream: 'pair', target: target(good) }), 0);
    assert.equal(s.types.get('expeditor_upstream_target_healthy'), 'gauge');
  });

  it('draining, in-flight and the concurrency queue as they are at scrape time', async () => {
    const drain = await fetch(`${gw.adminUrl}/upstreams/pair/targets/${target(good)}/drain`, { method: 'POST' });
    assert.equal(drain.status, 200);
    await drain.arrayBuffer();
    let s = await scrape(gw.adminUrl!);
    assert.equal(s.value('expeditor_upstream_target_draining', { upstream: 'pair', target: target(good) }), 1);
    await (await fetch(`${gw.adminUrl}/upstreams/pair/targets/${target(good)}/drain`, { method: 'DELETE' })).arrayBuffer();

    const first = send(gw.url, '/held');
    const second = send(gw.url, '/held');
    s = await scrapeUntil(gw.adminUrl!, (x) => x.value('expeditor_upstream_queued_requests', { upstream: 'held' }) === 1, 'one request queued');
    assert.equal(s.value('expeditor_upstream_target_inflight', { upstream: 'held', target: target(held) }), 1);
    assert.equal(s.value('expeditor_upstream_concurrency_limit', { upstream: 'held' }), 1);
    assert.equal(s.value('expeditor_upstream_queued_requests', { upstream: 'pair' }), undefined);
    waiting.shift()!.end('one');
    await scrapeUntil(gw.adminUrl!, () => waiting.length === 1, 'the second request upstream');
    waiting.shift()!.end('two');
    assert.deepEqual((await Promise.all([first, second])).map((r) => r.body), ['one', 'two']);
    s = await scrapeUntil(gw.adminUrl!, (x) => x.value('expeditor_upstream_target_inflight', { upstream: 'held', target: target(held) }) === 0, 'nothing in flight');
    assert.equal(s.value('expeditor_upstream_queued_requests', { upstream: 'held' }), 0);
    assert.equal(s.value('expeditor_upstream_target_requests_total', { upstream: 'held', target: target(held) }), 2);
    assert.equal(s.value('expeditor_upstream_target_failures_total', { upstream: 'held', target: target(held) }), 0);
  });
});
