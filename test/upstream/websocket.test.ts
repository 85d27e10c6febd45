import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { once } from 'node:events';
import { WebSocket, WebSocketServer } from 'ws';
import { startGateway, startUpstream, simpleConfig } from '../helpers/gateway.ts';
import { assertProblem, closedPort, rawUpstream, readHead, within } from './support.ts';

/** An upstream whose /ws path is a WebSocket echo server that also greets each client first. */
async function wsUpstream(t: { after(fn: () => Promise<void>): void }) {
  const up = await startUpstream();
  const wss = new WebSocketServer({ server: up.server, path: '/ws' });
  const connections: Array<{ socket: WebSocket; request: http.IncomingMessage }> = [];
  wss.on('connection', (socket, request) => {
    connections.push({ socket, request });
    socket.send('hello from upstream');
    socket.on('message', (data, isBinary) => socket.send(isBinary ? data : `echo:${String(data)}`, { binary: isBinary }));
  });
  t.after(async () => {
    for (const c of wss.clients) c.terminate();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
    await up.close();
  });
  return { up, wss, connections };
}

function wsUrl(httpUrl: string, path: string): string {
  return httpUrl.replace(/^http/, 'ws') + path;
}

/** Messages in arrival order, awaited one at a time. */
function inbox(ws: WebSocket): () => Promise<string | Buffer> {
  const queue: Array<string | Buffer> = [];
  const waiting: Array<(m: string | Buffer) => void> = [];
  ws.on('message', (data, isBinary) => {
    const m = isBinary ? (data as Buffer) : String(data);
    const w = waiting.shift();
    if (w) w(m);
    else queue.push(m);
  });
  return () => (queue.length > 0 ? Promise.resolve(queue.shift()!) : within(new Promise((resolve) => waiting.push(resolve)), 2000, 'message'));
}

/** The HTTP response a refused WebSocket handshake got. */
async function refusedHandshake(url: string): Promise<{ status: number; contentType: string | undefined; body: string }> {
  const ws = new WebSocket(url);
  ws.on('error', () => {});
  const [, res] = await within(once(ws, 'unexpected-response'), 3000, 'handshake response') as [unknown, http.IncomingMessage];
  let body = '';
  res.setEncoding('utf8');
  for await (const c of res) body += c;
  return { status: res.statusCode!, contentType: res.headers['content-type'], body };
}

describe('WebSocket proxying', () => {
  it('messages flow both ways, in text and binary, through the gateway', async (t) => {
    const { up, connections } = await wsUpstream(t);
    const gw = await startGateway(simpleConfig(up.url, [{ name: 'ws', match: { path: '/ws' } }]));
    t.after(() => gw.close());
    const ws = new WebSocket(wsUrl(gw.url, '/ws?room=1'), { headers: { 'x-client': 'yes' } });
    const next = inbox(ws);
    await within(once(ws, 'open'), 2000, 'open');
    assert.equal(await next(), 'hello from upstream');
    ws.send('ping');
    assert.equal(await next(), 'echo:ping');
    const big = Buffer.alloc(256 * 1024, 7);
    ws.send(big);
    assert.deepEqual(await next(), big);
    const upstreamSide = connections[0]!;
    assert.equal(upstreamSide.request.url, '/ws?room=1');
    assert.equal(upstreamSide.request.headers['x-client'], 'yes');
    assert.equal(upstreamSide.request.headers['x-forwarded-for'], '127.0.0.1');
    upstreamSide.socket.send('pushed');
    assert.equal(await next(), 'pushed');
    ws.close();
  });

  it('a close from the client reaches the upstream with its code, and a close from the upstream reaches the client', async (t) => {
    const { up, connections } = await wsUpstream(t);
    const gw = await startGateway(simpleConfig(up.url, [{ name: 'ws', match: { path: '/ws' } }]));
    t.after(() => gw.close());

    const a = new WebSocket(wsUrl(gw.url, '/ws'));
    const nextA = inbox(a);
    await within(once(a, 'open'), 2000, 'open');
    assert.equal(await nextA(), 'hello from upstream');
    const upstreamClosed = once(connections[0]!.socket, 'close');
    a.close(4001, 'client bye');
    const [code, reason] = await within(upstreamClosed, 2000, 'upstream close') as [number, Buffer];
    assert.equal(code, 4001);
    assert.equal(String(reason), 'client bye');

    const b = new WebSocket(wsUrl(gw.url, '/ws'));
    const nextB = inbox(b);
    await within(once(b, 'open'), 2000, 'open');
    assert.equal(await nextB(), 'hello from upstream');
    const clientClosed = once(b, 'close');
    connections[1]!.socket.close(4002, 'server bye');
    const [code2, reason2] = await within(clientClosed, 2000, 'client close') as [number, Buffer];
    assert.equal(code2, 4002);
    assert.equal(String(reason2), 'server bye');
  });

  it('a dropped upstream connection closes the client connection', async (t) => {
    const { up, connections } = await wsUpstream(t);
    const gw = await startGateway(simpleConfig(up.url, [{ name: 'ws', match: { path: '/ws' } }]));
    t.after(() => gw.close());
    const ws = new WebSocket(wsUrl(gw.url, '/ws'));
    ws.on('error', () => {});
    await within(once(ws, 'open'), 2000, 'open');
    const closed = once(ws, 'close');
    connections[0]!.socket.terminate();
    const [code] = await within(closed, 2000, 'client close') as [number];
    assert.equal(code, 1006);
  });

  it('response plugins apply to the 101, without touching the handshake headers', async (t) => {
    const { up } = await wsUpstream(t);
    const gw = await startGateway(simpleConfig(up.url, [{
      name: 'ws', match: { path: '/ws' },
      plugins: { 'request-id': {}, headers: { response: { remove: ['sec-websocket-accept'], set: { 'x-gw': 'yes' } } } },
    }]));
    t.after(() => gw.close());
    const ws = new WebSocket(wsUrl(gw.url, '/ws'), { headers: { 'x-request-id': 'ws-id-1' } });
    const next = inbox(ws);
    const upgraded = once(ws, 'upgrade');
    await within(once(ws, 'open'), 2000, 'open');
    const [res] = await upgraded as [http.IncomingMessage];
    assert.equal(res.headers['x-request-id'], 'ws-id-1');
    assert.equal(res.headers['x-gw'], 'yes');
    assert.equal(res.headers.upgrade, 'websocket');
    assert.equal(await next(), 'hello from upstream');
    ws.close();
  });

  it('an upgrade on an unknown route is answered 404 route_not_found', async (t) => {
    const { up } = await wsUpstream(t);
    const gw = await startGateway(simpleConfig(up.url, [{ name: 'ws', match: { path: '/ws' } }]));
    t.after(() => gw.close());
    const r = await refusedHandshake(wsUrl(gw.url, '/nowhere'));
    assertProblem(r.status, r.contentType, r.body, 404, 'route_not_found');
  });

  it('an upstream refusing the upgrade is answered 502', async (t) => {
    const up = await startUpstream((_req, res) => {
      res.writeHead(403, { 'content-type': 'text/plain', 'content-length': '2' });
      res.end('no');
    });
    t.after(() => up.close());
    const gw = await startGateway(simpleConfig(up.url, [{ name: 'ws', match: { path: '/ws' } }]));
    t.after(() => gw.close());
    const r = await refusedHandshake(wsUrl(gw.url, '/ws'));
    assertProblem(r.status, r.contentType, r.body, 502, 'upstream_error', up.port);
  });

  it('an upstream that accepts the connection but never answers the handshake is answered 504 after timeouts.response', async (t) => {
    const up = await rawUpstream((s) => void readHead(s));
    t.after(() => up.close());
    const gw = await startGateway(simpleConfig(up.url, [{ name: 'ws', match: { path: '/ws' }, timeouts: { response: '1s' } }]));
    t.after(() => gw.close());
    const start = performance.now();
    const r = await refusedHandshake(wsUrl(gw.url, '/ws'));
    const elapsed = performance.now() - start;
    t.diagnostic(`upgrade response timeout 1s fired after ${elapsed.toFixed(0)} ms`);
    assertProblem(r.status, r.contentType, r.body, 504, 'upstream_timeout', up.port);
    assert.ok(elapsed >= 800 && elapsed <= 1200, `fired after ${elapsed} ms`);
  });

  it('an unreachable upstream is answered 502 upstream_unavailable', async (t) => {
    const port = await closedPort();
    const gw = await startGateway(simpleConfig(`http://127.0.0.1:${port}`, [{ name: 'ws', match: { path: '/ws' } }]));
    t.after(() => gw.close());
    const r = await refusedHandshake(wsUrl(gw.url, '/ws'));
    assertProblem(r.status, r.contentType, r.body, 502, 'upstream_unavailable', port);
  });

  it('a route with websocket: false refuses the upgrade', async (t) => {
    const { up, connections } = await wsUpstream(t);
    const gw = await startGateway(simpleConfig(up.url, [{ name: 'ws', match: { path: '/ws' }, websocket: false }]));
    t.after(() => gw.close());
    const r = await refusedHandshake(wsUrl(gw.url, '/ws'));
    assert.equal(r.status, 400);
    assert.equal(connections.length, 0);
  });
});
