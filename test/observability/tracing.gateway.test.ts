import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startGateway, startUpstream, echo, type TestGateway, type TestUpstream } from '../helpers/gateway.ts';
import { generateApiKey, hashApiKey } from '../../src/identity/api-keys.ts';
import { KIND, startCollector, type ReceivedSpan, type TestCollector } from './otlp-collector.ts';
import { send } from './support.ts';

const KEY = generateApiKey();
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-(0[01])$/;
const CLIENT_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const CLIENT_SPAN = '00f067aa0ba902b7';

function tracing(collector: TestCollector, extra: Record<string, unknown> = {}) {
  return {
    enabled: true, sampleRate: 1, serviceName: 'gw-under-test',
    otlp: { endpoint: collector.endpoint, protocol: 'http/json', headers: { 'x-collector-token': 't0ken' } },
    batch: { exportInterval: '20ms' },
    ...extra,
  };
}

/** The upstream's view of one request: its traceparent, split. */
function upstreamTrace(req: http.IncomingMessage | undefined): { traceId: string; parentId: string; flags: string; state: string | undefined } {
  const tp = req?.headers.traceparent;
  assert.equal(typeof tp, 'string', 'the upstream got a traceparent');
  const m = TRACEPARENT.exec(tp as string);
  assert.ok(m, `malformed traceparent ${tp}`);
  return { traceId: m[1]!, parentId: m[2]!, flags: m[3]!, state: req!.headers.tracestate as string | undefined };
}

const ofTrace = (spans: ReceivedSpan[], traceId: string) => spans.filter((s) => s.traceId === traceId);

describe('tracing through a gateway (OTLP/HTTP JSON to a test collector)', () => {
  let collector: TestCollector;
  let up: TestUpstream;
  let flaky: TestUpstream;
  let gw: TestGateway;
  let flakyCalls = 0;

  before(async () => {
    collector = await startCollector();
    up = await startUpstream();
    // Answers 503 to every first attempt, then echoes: one retry per request.
    flaky = await startUpstream((req, res) => {
      if (flakyCalls++ % 2 === 0) {
        req.resume();
        res.writeHead(503, { 'content-length': 0 }).end();
      } else echo(req, res);
    });
    gw = await startGateway({
      upstreams: {
        up: { targets: [{ url: up.url }] },
        flaky: { targets: [{ url: flaky.url }], retries: { attempts: 2, statuses: [503], backoff: { base: '1ms', max: '2ms' }, budgetPercent: 100 } },
      },
      consumers: { alice: { credentials: [{ type: 'key-auth', keyHash: hashApiKey(KEY) }] } },
      routes: [
        {
          name: 'items', match: { path: '/items/*' }, upstream: 'up',
          plugins: { 'request-id': {}, 'key-auth': {}, acl: { allowConsumers: ['alice'] }, 'rate-limit': { limits: [{ rate: '1000/s', burst: 1000 }] } },
        },
        { name: 'flaky', match: { path: '/flaky' }, upstream: 'flaky' },
        { name: 'open', match: { path: '/open' }, upstream: 'up' },
      ],
      tracing: tracing(collector),
    });
  });
  after(async () => {
    await gw?.close();
    await up?.close();
    await flaky?.close();
    await collector?.close();
  });

  it('exports a SERVER span with a child span per phase that ran and a CLIENT span, and propagates the CLIENT span', async () => {
    const res = await send(gw.url, '/items/7?x=1', { headers: { apikey: KEY } });
    assert.equal(res.status, 200);
    const seen = upstreamTrace(up.requests.at(-1));
    assert.equal(seen.flags, '01');
    const spans = await collector.until((s) => ofTrace(s, seen.traceId).length >= 6, 'the request\'s 6 spans');
    const mine = ofTrace(spans, seen.traceId);
    const server = mine.find((s) => s.kind === KIND.server)!;
    assert.ok(server, 'a SERVER span');
    assert.equal(server.parentSpanId, '', 'a new trace: the SERVER span is its root');
    assert.equal(server.name, 'GET items');
    assert.equal(server.service, 'gw-under-test');
    assert.equal(server.attributes['http.request.method'], 'GET');
    assert.equal(server.attributes['url.path'], '/items/7');
    assert.equal(server.attributes['http.route'], 'items');
    assert.equal(server.attributes['http.response.status_code'], 200);
    assert.equal(server.attributes['client.address'], '127.0.0.1');
    assert.equal(server.attributes['server.address'], '127.0.0.1');
    assert.equal(server.attributes['expeditor.consumer'], 'alice');
    assert.match(String(server.attributes['expeditor.request_id']), /\S/);

    const phases = mine.filter((s) => s.kind === KIND.internal);
    assert.deepEqual(phases.map((p) => p.name).sort(), ['authenticate', 'authorize', 'rewrite', 'throttle']);
    for (const p of phases) assert.equal(p.parentSpanId, server.spanId, `${p.name} is a child of the request`);
    assert.deepEqual(phases.find((p) => p.name === 'authorize')!.attributes['expeditor.plugins'], ['acl']);

    const clients = mine.filter((s) => s.kind === KIND.client);
    assert.equal(clients.length, 1);
    const [client] = clients;
    assert.equal(client!.parentSpanId, server.spanId);
    assert.equal(client!.attributes['http.response.status_code'], 200);
    assert.equal(client!.attributes['server.address'], '127.0.0.1');
    assert.equal(client!.attributes['server.port'], up.port);
    assert.equal(client!.attributes['http.request.resend_count'], undefined);
    assert.equal(seen.parentId, client!.spanId, 'the upstream continues the CLIENT span');
    assert.equal(collector.requests.at(-1)!.headers['x-collector-token'], 't0ken', 'the configured export headers are sent');
  });

  it('makes a CLIENT span per attempt when a 503 is retried, the retry with its resend count', async () => {
    assert.equal((await send(gw.url, '/flaky')).status, 200);
    const seen = upstreamTrace(flaky.requests.at(-1));
    const first = upstreamTrace(flaky.requests.at(-2));
    assert.equal(first.traceId, seen.traceId);
    const spans = await collector.until((s) => ofTrace(s, seen.traceId).length >= 3, 'the retried request\'s spans');
    const mine = ofTrace(spans, seen.traceId);
    const server = mine.find((s) => s.kind === KIND.server)!;
    const clients = mine.filter((s) => s.kind === KIND.client);
    assert.equal(clients.length, 2);
    for (const c of clients) assert.equal(c.parentSpanId, server.spanId);
    const failed = clients.find((c) => c.attributes['http.response.status_code'] === 503)!;
    const retried = clients.find((c) => c.attributes['http.response.status_code'] === 200)!;
    assert.equal(failed.spanId, first.parentId, 'each attempt propagates its own span');
    assert.equal(failed.status, 2, 'the 503 attempt is an error');
    assert.equal(failed.attributes['error.type'], '503');
    assert.equal(retried.spanId, seen.parentId);
    assert.equal(retried.attributes['http.request.resend_count'], 1);
    assert.equal(server.attributes['http.response.status_code'], 200);
    assert.equal(server.status, 0);
  });

  it('continues a client\'s traceparent: same trace id, parented on the client\'s span, tracestate passed on', async () => {
    const res = await send(gw.url, '/open', { headers: { traceparent: `00-${CLIENT_TRACE}-${CLIENT_SPAN}-01`, tracestate: 'vendor=abc,other=1' } });
    assert.equal(res.status, 200);
    const seen = upstreamTrace(up.requests.at(-1));
    assert.equal(seen.traceId, CLIENT_TRACE);
    assert.notEqual(seen.parentId, CLIENT_SPAN, 'the gateway\'s span replaces the client\'s');
    assert.equal(seen.state, 'vendor=abc,other=1');
    assert.equal(up.requests.at(-1)!.rawHeaders.filter((h) => h.toLowerCase() === 'traceparent').length, 1);
    const spans = await collector.until((s) => ofTrace(s, CLIENT_TRACE).length >= 2, 'the continued trace');
    const server = ofTrace(spans, CLIENT_TRACE).find((s) => s.kind === KIND.server)!;
    assert.equal(server.parentSpanId, CLIENT_SPAN);
    assert.equal(ofTrace(spans, CLIENT_TRACE).find((s) => s.kind === KIND.client)!.spanId, seen.parentId);
  });

  it('follows a client\'s "not sampled" decision: nothing exported, the trace id and flag 00 propagated', async () => {
    const traceId = '0af7651916cd43dd8448eb211c80319c';
    await send(gw.url, '/open', { headers: { traceparent: `00-${traceId}-b7ad6b7169203331-00` } });
    const seen = upstreamTrace(up.requests.at(-1));
    assert.equal(seen.traceId, traceId);
    assert.equal(seen.flags, '00');
    // A sampled request sent after it is exported; by then the unsampled one would have been too.
    await send(gw.url, '/open');
    const marker = upstreamTrace(up.requests.at(-1)).traceId;
    await collector.until((s) => ofTrace(s, marker).length >= 2, 'the later request');
    assert.equal(ofTrace(collector.spans, traceId).length, 0);
  });

  it('starts a new trace for a malformed traceparent, and drops its tracestate', async () => {
    await send(gw.url, '/open', { headers: { traceparent: `00-${CLIENT_TRACE.toUpperCase()}-${CLIENT_SPAN}-01`, tracestate: 'vendor=abc' } });
    const seen = upstreamTrace(up.requests.at(-1));
    assert.notEqual(seen.traceId, CLIENT_TRACE);
    assert.equal(seen.state, undefined);
  });

  it('records a phase that answers the request, and the request\'s error code', async () => {
    assert.equal((await send(gw.url, '/items/1')).status, 401);
    await collector.until((s) => s.some((x) => x.kind === KIND.server && x.attributes['http.response.status_code'] === 401), 'the 401');
    const server = collector.spans.find((x) => x.kind === KIND.server && x.attributes['http.response.status_code'] === 401)!;
    await collector.until((s) => s.some((x) => x.parentSpanId === server.spanId && x.name === 'authenticate'), 'its authenticate span');
    const children = collector.spans.filter((x) => x.parentSpanId === server.spanId);
    assert.deepEqual(children.map((c) => c.name).sort(), ['authenticate', 'rewrite'], 'the phases after the answer do not run');
    assert.equal(children.find((c) => c.name === 'authenticate')!.attributes['error.type'], 'unauthorized');
    assert.equal(server.attributes['error.type'], 'unauthorized');
    assert.equal(server.status, 0, 'a 4xx is not a server error');
  });
});

describe('tracing settings', () => {
  it('sampleRate 0 without parentBased exports nothing but still propagates a traceparent marked not sampled', async (t) => {
    const collector = await startCollector();
    t.after(() => collector.close());
    const up = await startUpstream();
    t.after(() => up.close());
    const gw = await startGateway({ upstreams: { up: { targets: [{ url: up.url }] } }, routes: [{ name: 'r', match: { path: '/*' }, upstream: 'up' }], tracing: tracing(collector, { sampleRate: 0, parentBased: false }) });
    t.after(() => gw.close());
    for (let i = 0; i < 3; i++) assert.equal((await send(gw.url, `/x/${i}`)).status, 200);
    const ids = up.requests.map((r) => upstreamTrace(r));
    assert.ok(ids.every((x) => x.flags === '00'));
    assert.equal(new Set(ids.map((x) => x.traceId)).size, 3, 'a trace per request');
    const client = await send(gw.url, '/y', { headers: { traceparent: `00-${CLIENT_TRACE}-${CLIENT_SPAN}-01` } });
    assert.equal(client.status, 200);
    const continued = upstreamTrace(up.requests.at(-1));
    assert.equal(continued.traceId, CLIENT_TRACE, 'the client\'s trace id is kept');
    assert.equal(continued.flags, '00', 'the gateway\'s own decision, not the client\'s');
    assert.equal(continued.parentId, CLIENT_SPAN, 'recording nothing, the gateway passes the caller\'s span on as the parent');
    await gw.gateway.tracing!.flush();
    assert.equal(collector.spans.length, 0);
  });

  it('disabled: no traceparent is added, and a client\'s own trace headers pass untouched', async (t) => {
    const up = await startUpstream();
    t.after(() => up.close());
    const gw = await startGateway({ upstreams: { up: { targets: [{ url: up.url }] } }, routes: [{ name: 'r', match: { path: '/*' }, upstream: 'up' }] });
    t.after(() => gw.close());
    assert.equal(gw.gateway.tracing, undefined);
    await send(gw.url, '/a');
    assert.equal(up.requests.at(-1)!.headers.traceparent, undefined);
    const mine = `00-${CLIENT_TRACE}-${CLIENT_SPAN}-01`;
    await send(gw.url, '/b', { headers: { traceparent: mine, tracestate: 'k=v' } });
    assert.equal(up.requests.at(-1)!.headers.traceparent, mine);
    assert.equal(up.requests.at(-1)!.headers.tracestate, 'k=v');
  });

  it('exports protobuf (the default protocol), and a reload turns tracing off and on', async (t) => {
    const collector = await startCollector();
    t.after(() => collector.close());
    const up = await startUpstream();
    t.after(() => up.close());
    const base = { upstreams: { up: { targets: [{ url: up.url }] } }, routes: [{ name: 'r', match: { path: '/*' }, upstream: 'up' }] };
    const on = { ...base, tracing: { enabled: true, sampleRate: 1, otlp: { endpoint: collector.endpoint }, batch: { exportInterval: '20ms' } } };
    const gw = await startGateway(on);
    t.after(() => gw.close());
    await send(gw.url, '/one');
    const first = upstreamTrace(up.requests.at(-1));
    const spans = await collector.until((s) => ofTrace(s, first.traceId).length >= 2, 'the protobuf export');
    assert.ok(collector.requests.every((r) => r.contentType === 'application/x-protobuf'));
    const server = ofTrace(spans, first.traceId).find((s) => s.kind === KIND.server)!;
    assert.equal(server.service, 'expeditor');
    assert.equal(server.attributes['http.response.status_code'], 200);
    assert.equal(ofTrace(spans, first.traceId).find((s) => s.kind === KIND.client)!.spanId, first.parentId);

    const running = gw.gateway.tracing;
    await gw.gateway.apply({ ...on, routes: [{ name: 'r2', match: { path: '/*' }, upstream: 'up' }] });
    assert.equal(gw.gateway.tracing, running, 'an unchanged tracing section keeps its tracer');
    await gw.gateway.apply(base);
    assert.equal(gw.gateway.tracing, undefined);
    await send(gw.url, '/two');
    assert.equal(up.requests.at(-1)!.headers.traceparent, undefined);
    await gw.gateway.apply(on);
    await send(gw.url, '/three');
    const third = upstreamTrace(up.requests.at(-1));
    await collector.until((s) => ofTrace(s, third.traceId).length >= 2, 'spans after tracing came back');
  });
});
