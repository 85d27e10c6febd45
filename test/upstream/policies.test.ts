import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { Agent, request } from 'undici';
import { startGateway, startUpstream, type TestUpstream } from '../helpers/gateway.ts';
import { waitFor } from '../helpers/process.ts';

/** A target whose behaviour the test switches at run time: it answers with its name, or fails as told. */
interface Station extends TestUpstream {
  name: string;
  mode: 'ok' | '500' | 'hang' | 'reset';
  hits: number;
  healthHits: number;
}

async function station(name: string): Promise<Station> {
  let s!: Station;
  const up = await startUpstream((req, res) => {
    if (req.url === '/health') {
      s.healthHits++;
      res.statusCode = s.mode === 'ok' ? 200 : 500;
      return res.end();
    }
    s.hits++;
    if (s.mode === 'hang') return;
    if (s.mode === 'reset') return req.socket.destroy();
    res.statusCode = s.mode === '500' ? 500 : 200;
    req.resume();
    req.on('end', () => res.end(name));
  });
  s = Object.assign(up, { name, mode: 'ok' as Station['mode'], hits: 0, healthHits: 0 });
  return s;
}

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

function config(upstream: Record<string, unknown>, route: Record<string, unknown> = {}) {
  return {
    upstreams: { pool: upstream },
    routes: [{ name: 'all', match: { path: '/*' }, upstream: 'pool', ...route }],
  };
}

async function get(url: string, agent?: Agent, method = 'GET', body?: string) {
  const res = await request(url, { dispatcher: agent, method: method as 'GET', body });
  const text = await res.body.text();
  return { status: res.statusCode, text, headers: res.headers };
}

describe('balancing through the gateway', () => {
  it('weights 3:1 give 3:1 of the requests', async (t) => {
    const a = await station('a');
    const b = await station('b');
    const gw = await startGateway(config({ targets: [{ url: a.url, weight: 3 }, { url: b.url, weight: 1 }] }));
    t.after(async () => { await gw.close(); await a.close(); await b.close(); });
    const seen: Record<string, number> = { a: 0, b: 0 };
    for (let i = 0; i < 400; i++) seen[(await get(`${gw.url}/x`)).text]!++;
    assert.deepEqual(seen, { a: 300, b: 100 });
  });
});

describe('passive outlier detection', () => {
  it('ejects a failing target after N consecutive failures and takes it back after the ejection time', async (t) => {
    const a = await station('a');
    const b = await station('b');
    b.mode = '500';
    const gw = await startGateway(config({
      targets: [{ url: a.url }, { url: b.url }],
      health: { passive: { consecutiveFailures: 3, baseEjectionTime: '400ms', maxEjectedPercent: 50 } },
    }));
    t.after(async () => { await gw.close(); await a.close(); await b.close(); });
    for (let i = 0; i < 6; i++) await get(`${gw.url}/x`);
    assert.equal(b.hits, 3, 'b gets exactly 3 requests before ejection');
    const snap = gw.gateway.runtime.upstreams.get('pool')!.snapshot();
    assert.equal(snap.targets[1]!.state, 'ejected');
    for (let i = 0; i < 10; i++) assert.equal((await get(`${gw.url}/x`)).text, 'a');
    b.mode = 'ok';
    await waitFor(() => gw.gateway.runtime.upstreams.get('pool')!.snapshot().targets[1]!.state === 'healthy', 2000, 'ejection to end');
    const after = new Set<string>();
    for (let i = 0; i < 4; i++) after.add((await get(`${gw.url}/x`)).text);
    assert.deepEqual([...after].sort(), ['a', 'b']);
  });
});

describe('active health checks', () => {
  it('take a target out when its probe fails and bring it back when it passes', async (t) => {
    const a = await station('a');
    const b = await station('b');
    const gw = await startGateway(config({
      targets: [{ url: a.url }, { url: b.url }],
      health: { active: { path: '/health', interval: '100ms', timeout: '200ms', healthyThreshold: 2, unhealthyThreshold: 2 } },
    }));
    t.after(async () => { await gw.close(); await a.close(); await b.close(); });
    const state = () => gw.gateway.runtime.upstreams.get('pool')!.snapshot().targets[1]!.state;
    b.mode = '500';
    await waitFor(() => state() === 'unhealthy', 3000, 'b unhealthy');
    const hitsBefore = b.hits;
    for (let i = 0; i < 6; i++) assert.equal((await get(`${gw.url}/x`)).text, 'a');
    assert.equal(b.hits, hitsBefore);
    b.mode = 'ok';
    await waitFor(() => state() === 'healthy', 3000, 'b healthy again');
  });
});

describe('when every target is down', () => {
  it('fail: 503 no_healthy_upstream with Retry-After, nothing sent upstream', async (t) => {
    const a = await station('a');
    a.mode = '500';
    const gw = await startGateway(config({
      targets: [{ url: a.url }],
      health: { passive: { consecutiveFailures: 1, baseEjectionTime: '3s', maxEjectedPercent: 100 } },
    }));
    t.after(async () => { await gw.close(); await a.close(); });
    assert.equal((await get(`${gw.url}/x`)).status, 500);
    const res = await get(`${gw.url}/x`);
    assert.equal(res.status, 503);
    assert.equal(JSON.parse(res.text).code, 'no_healthy_upstream');
    assert.ok(Number(res.headers['retry-after']) >= 1 && Number(res.headers['retry-after']) <= 3, `retry-after ${res.headers['retry-after']}`);
    assert.equal(a.hits, 1);
  });

  it('panic: requests still spread over every target', async (t) => {
    const a = await station('a');
    a.mode = '500';
    const gw = await startGateway(config({
      targets: [{ url: a.url }],
      whenAllDown: 'panic',
      health: { passive: { consecutiveFailures: 1, baseEjectionTime: '3s', maxEjectedPercent: 100 } },
    }));
    t.after(async () => { await gw.close(); await a.close(); });
    await get(`${gw.url}/x`);
    a.mode = 'ok';
    assert.equal((await get(`${gw.url}/x`)).text, 'a');
    assert.equal(a.hits, 2);
  });
});

describe('retries', () => {
  it('a refused connection is retried on another target', async (t) => {
    const b = await station('b');
    const dead = await closedPort();
    const gw = await startGateway(config({
      targets: [{ url: `http://127.0.0.1:${dead}` }, { url: b.url }],
      retries: { attempts: 2, backoff: { base: '1ms', max: '5ms' } },
    }));
    t.after(async () => { await gw.close(); await b.close(); });
    for (let i = 0; i < 6; i++) {
      const r = await get(`${gw.url}/x`);
      assert.equal(r.status, 200);
      assert.equal(r.text, 'b');
    }
  });

  it('a retryable status goes to the other target; the failed answer never reaches the client', async (t) => {
    const a = await station('a');
    const b = await station('b');
    a.mode = '500';
    const gw = await startGateway(config({
      targets: [{ url: a.url }, { url: b.url }],
      retries: { attempts: 2, statuses: [500], backoff: { base: '1ms', max: '5ms' } },
    }));
    t.after(async () => { await gw.close(); await a.close(); await b.close(); });
    for (let i = 0; i < 4; i++) assert.equal((await get(`${gw.url}/x`)).text, 'b');
    assert.ok(a.hits >= 2, `a tried ${a.hits} times`);
  });

  it('without retries (or with the budget at zero) the failure reaches the client', async (t) => {
    const dead = await closedPort();
    const b = await station('b');
    const gw = await startGateway(config({
      targets: [{ url: `http://127.0.0.1:${dead}` }, { url: b.url }],
      retries: { attempts: 3, budgetPercent: 0, minRetriesInFlight: 0 },
    }));
    t.after(async () => { await gw.close(); await b.close(); });
    const statuses = new Set<number>();
    for (let i = 0; i < 4; i++) statuses.add((await get(`${gw.url}/x`)).status);
    assert.deepEqual([...statuses].sort(), [200, 502]);
  });

  it('a POST is not retried unless the route opts in; a small buffered body is replayed when it does', async (t) => {
    const a = await station('a');
    const b = await station('b');
    a.mode = 'reset';
    const bodies: string[] = [];
    b.server.removeAllListeners('request');
    b.server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c));
      req.on('end', () => { bodies.push(body); res.end('b'); });
    });
    const up = { targets: [{ url: a.url }, { url: b.url }], balancer: 'round-robin', retries: { attempts: 2, backoff: { base: '1ms', max: '2ms' } } };
    const gw = await startGateway({
      upstreams: { pool: up },
      routes: [
        { name: 'plain', match: { path: '/plain' }, upstream: 'pool' },
        { name: 'opt-in', match: { path: '/opt-in' }, upstream: 'pool', retries: { attempts: 2, nonIdempotent: true, backoff: { base: '1ms', max: '2ms' } } },
      ],
    });
    t.after(async () => { await gw.close(); await a.close(); await b.close(); });
    // Round-robin starts at a: the first POST hits the resetting target.
    const first = await get(`${gw.url}/plain`, undefined, 'POST', 'order-1');
    assert.equal(first.status, 502);
    assert.equal(JSON.parse(first.text).code, 'upstream_unavailable');
    await get(`${gw.url}/plain`, undefined, 'POST', 'to-b'); // b's turn
    const second = await get(`${gw.url}/opt-in`, undefined, 'POST', 'order-2');
    assert.equal(second.status, 200);
    assert.deepEqual(bodies, ['to-b', 'order-2']);
  });
});

describe('overload protection', () => {
  it('requests beyond maxConcurrent wait in FIFO order and complete in arrival order', async (t) => {
    const order: string[] = [];
    const release: Array<() => void> = [];
    const up = await startUpstream((req, res) => {
      order.push(req.url!);
      release.push(() => res.end(req.url));
    });
    const gw = await startGateway(config({ targets: [{ url: up.url }], limits: { maxConcurrent: 1, maxQueued: 50, queueTimeout: '10s' } }));
    t.after(async () => { await gw.close(); await up.close(); });
    const limiter = () => gw.gateway.runtime.upstreams.get('pool')!.snapshot().limits!;
    const pending: Array<Promise<{ text: string }>> = [];
    for (let i = 0; i < 8; i++) {
      pending.push(get(`${gw.url}/r${i}`));
      // The next request is sent only once this one is in flight or queued: arrival order is the index.
      await waitFor(() => limiter().inflight + limiter().queued === i + 1, 3000, `request ${i} admitted`);
    }
    const done: string[] = [];
    pending.forEach((p) => void p.then((r) => done.push(r.text)));
    for (let i = 0; i < 8; i++) {
      await waitFor(() => release.length > i, 3000, `request ${i} at the upstream`);
      release[i]!();
    }
    await Promise.all(pending);
    assert.deepEqual(order, ['/r0', '/r1', '/r2', '/r3', '/r4', '/r5', '/r6', '/r7']);
    assert.deepEqual(done, order);
  });

  it('a full queue answers 503 upstream_overloaded with Retry-After, and nothing is sent', async (t) => {
    const up = await startUpstream(() => {});
    const gw = await startGateway(config({ targets: [{ url: up.url }], limits: { maxConcurrent: 1, maxQueued: 1, queueTimeout: '10s' } }));
    t.after(async () => { await gw.close(); await up.close(); });
    const agent = new Agent({ connections: 10 });
    t.after(() => agent.close());
    void get(`${gw.url}/1`, agent).catch(() => {});
    void get(`${gw.url}/2`, agent).catch(() => {});
    await waitFor(() => up.requests.length === 1, 3000, 'first request in flight');
    const third = await get(`${gw.url}/3`, agent);
    assert.equal(third.status, 503);
    assert.equal(JSON.parse(third.text).code, 'upstream_overloaded');
    assert.ok(Number(third.headers['retry-after']) >= 1);
    assert.equal(up.requests.length, 1);
  });

  it('a request queued past queueTimeout gets 503 upstream_overloaded', async (t) => {
    const up = await startUpstream(() => {});
    const gw = await startGateway(config({ targets: [{ url: up.url }], limits: { maxConcurrent: 1, maxQueued: 5, queueTimeout: '300ms' } }));
    t.after(async () => { await gw.close(); await up.close(); });
    void get(`${gw.url}/1`).catch(() => {});
    await waitFor(() => up.requests.length === 1, 3000, 'first request in flight');
    const t0 = Date.now();
    const second = await get(`${gw.url}/2`);
    const took = Date.now() - t0;
    assert.equal(second.status, 503);
    assert.equal(JSON.parse(second.text).code, 'upstream_overloaded');
    assert.ok(took >= 250 && took < 1000, `answered after ${took} ms`);
  });
});

describe('admin: upstream state and drain', () => {
  it('GET /upstreams shows targets; a drained target takes no new requests and comes back', async (t) => {
    const a = await station('a');
    const b = await station('b');
    const gw = await startGateway(config({ targets: [{ url: a.url, zone: 'z1' }, { url: b.url }] }));
    t.after(async () => { await gw.close(); await a.close(); await b.close(); });
    const list = await (await fetch(`${gw.adminUrl}/upstreams`)).json() as { upstreams: Array<{ name: string; targets: Array<{ id: string; zone?: string; state: string }> }> };
    assert.equal(list.upstreams[0]!.name, 'pool');
    assert.equal(list.upstreams[0]!.targets[0]!.zone, 'z1');
    const bId = list.upstreams[0]!.targets[1]!.id;
    const drained = await fetch(`${gw.adminUrl}/upstreams/pool/targets/${bId}/drain`, { method: 'POST' });
    assert.equal(drained.status, 200);
    for (let i = 0; i < 6; i++) assert.equal((await get(`${gw.url}/x`)).text, 'a');
    const one = await (await fetch(`${gw.adminUrl}/upstreams/pool`)).json() as { targets: Array<{ state: string }> };
    assert.equal(one.targets[1]!.state, 'draining');
    assert.equal((await fetch(`${gw.adminUrl}/upstreams/pool/targets/${bId}/drain`, { method: 'DELETE' })).status, 200);
    const back = new Set<string>();
    for (let i = 0; i < 4; i++) back.add((await get(`${gw.url}/x`)).text);
    assert.deepEqual([...back].sort(), ['a', 'b']);
    assert.equal((await fetch(`${gw.adminUrl}/upstreams/nope`)).status, 404);
    assert.equal((await fetch(`${gw.adminUrl}/upstreams/pool/targets/1.2.3.4:1/drain`, { method: 'POST' })).status, 404);
  });
});
