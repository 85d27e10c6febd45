import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { once } from 'node:events';
import { startGateway, startUpstream, simpleConfig } from '../helpers/gateway.ts';
import { within } from './support.ts';

/** Resolves once the upstream's side of the exchange is torn down: the request aborted or the socket closed. */
function upstreamGone(req: http.IncomingMessage, res: http.ServerResponse): Promise<string> {
  return new Promise((resolve) => {
    req.once('aborted', () => resolve('aborted'));
    req.once('error', () => resolve('error'));
    res.once('close', () => resolve(res.writableFinished ? 'finished' : 'close'));
  });
}

describe('a client that goes away', () => {
  it('mid-response: the upstream request is torn down promptly', async (t) => {
    let gone!: Promise<string>;
    let arrived!: () => void;
    const requestArrived = new Promise<void>((resolve) => (arrived = resolve));
    const up = await startUpstream((req, res) => {
      gone = upstreamGone(req, res);
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('first');
      arrived();
      // …and never finishes on its own.
    });
    const gw = await startGateway(simpleConfig(up.url, [{ name: 'r', match: { path: '/*' }, timeouts: { idle: '60s' } }]));
    t.after(async () => { await gw.close(); await up.close(); });

    const req = http.get(`${gw.url}/stream`, { agent: false });
    req.on('error', () => {});
    const res = (await once(req, 'response'))[0] as http.IncomingMessage;
    await once(res, 'data');
    await requestArrived;
    req.destroy();
    const how = await within(gone, 2000, 'upstream teardown');
    assert.equal(how === 'finished', false, `the upstream saw ${how}`);
  });

  it('mid-response while the gateway is paused on backpressure: the upstream request is torn down', async (t) => {
    let gone!: Promise<string>;
    let blocked!: () => void;
    const upstreamBlocked = new Promise<void>((resolve) => (blocked = resolve));
    const up = await startUpstream((req, res) => {
      gone = upstreamGone(req, res);
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      const chunk = Buffer.alloc(64 * 1024);
      let written = 0;
      const pump = () => {
        let more = true;
        while (more) {
          more = res.write(chunk);
          written += chunk.length;
        }
        // Megabytes out while the client reads nothing: the buffers up to it are filling and the gateway pausing.
        if (written > 2 * 1024 * 1024) blocked();
        res.once('drain', pump);
      };
      pump();
    });
    const gw = await startGateway(simpleConfig(up.url, [{ name: 'r', match: { path: '/*' }, timeouts: { idle: '60s' } }]));
    t.after(async () => { await gw.close(); await up.close(); });

    const req = http.get(`${gw.url}/flood`, { agent: false });
    req.on('error', () => {});
    const res = (await once(req, 'response'))[0] as http.IncomingMessage;
    await once(res, 'data');
    res.pause(); // let every buffer between the upstream and here fill up
    await within(upstreamBlocked, 5000, 'upstream blocked by backpressure');
    req.destroy();
    const how = await within(gone, 2000, 'upstream teardown');
    assert.notEqual(how, 'finished');
  });

  it('mid-upload: the upstream request is torn down promptly', async (t) => {
    let gone!: Promise<string>;
    let received = 0;
    let firstBytes!: () => void;
    const bytesArrived = new Promise<void>((resolve) => (firstBytes = resolve));
    const up = await startUpstream((req, res) => {
      gone = upstreamGone(req, res);
      req.on('data', (c: Buffer) => {
        received += c.length;
        firstBytes();
      });
    });
    const gw = await startGateway(simpleConfig(up.url, [{ name: 'r', match: { path: '/*' } }]));
    t.after(async () => { await gw.close(); await up.close(); });

    const { port } = new URL(gw.url);
    const socket = net.connect(Number(port), '127.0.0.1');
    socket.on('error', () => {});
    await once(socket, 'connect');
    socket.write('POST /upload HTTP/1.1\r\nHost: gw.test\r\nContent-Length: 10000000\r\n\r\n');
    socket.write(Buffer.alloc(64 * 1024, 'x'));
    await within(bytesArrived, 2000, 'first upload bytes at the upstream');
    socket.destroy();
    const how = await within(gone, 2000, 'upstream teardown');
    assert.notEqual(how, 'finished');
    assert.ok(received < 10_000_000);
  });

  it('mid-upload with a chunked body: the upstream request is torn down promptly', async (t) => {
    let gone!: Promise<string>;
    let firstBytes!: () => void;
    const bytesArrived = new Promise<void>((resolve) => (firstBytes = resolve));
    const up = await startUpstream((req, res) => {
      gone = upstreamGone(req, res);
      req.once('data', () => firstBytes());
    });
    const gw = await startGateway(simpleConfig(up.url, [{ name: 'r', match: { path: '/*' } }]));
    t.after(async () => { await gw.close(); await up.close(); });

    const { port } = new URL(gw.url);
    const socket = net.connect(Number(port), '127.0.0.1');
    socket.on('error', () => {});
    await once(socket, 'connect');
    socket.write('POST /upload HTTP/1.1\r\nHost: gw.test\r\nTransfer-Encoding: chunked\r\n\r\n');
    socket.write(`4000\r\n${'x'.repeat(0x4000)}\r\n`);
    await within(bytesArrived, 2000, 'first upload bytes at the upstream');
    socket.destroy();
    const how = await within(gone, 2000, 'upstream teardown');
    assert.notEqual(how, 'finished');
  });
});

describe('a client that goes away before its request is sent upstream', () => {
  it('has its queued request dropped, never sent', async (t) => {
    const seen: string[] = [];
    let releaseFirst!: () => void;
    let firstArrived!: () => void;
    const first = new Promise<void>((resolve) => (firstArrived = resolve));
    let lastArrived!: () => void;
    const last = new Promise<void>((resolve) => (lastArrived = resolve));
    const up = await startUpstream((req, res) => {
      seen.push(req.url!);
      if (req.url === '/first') {
        releaseFirst = () => res.end('first');
        firstArrived();
      } else {
        res.end('ok');
        if (req.url === '/last') lastArrived();
      }
    });
    // One upstream connection: while /first holds it, the next requests wait in the pool's queue.
    const gw = await startGateway({
      upstreams: { up: { targets: [{ url: up.url }], connections: 1 } },
      routes: [{ name: 'r', match: { path: '/*' }, upstream: 'up' }],
    });
    t.after(async () => { await gw.close(); await up.close(); });

    const a = http.get(`${gw.url}/first`, { agent: false });
    a.on('error', () => {});
    await first;
    const { port } = new URL(gw.url);
    const b = net.connect(Number(port), '127.0.0.1');
    b.on('error', () => {});
    await once(b, 'connect');
    // The gateway answers 100 Continue just before it hands the request to the backend, in the same tick: once the
    // client reads it, the request has been routed and queued for the upstream. Then the client leaves.
    b.write('GET /gone HTTP/1.1\r\nHost: gw.test\r\nExpect: 100-continue\r\n\r\n');
    const [interim] = await within(once(b, 'data'), 2000, '100 Continue') as [Buffer];
    assert.match(String(interim), /^HTTP\/1\.1 100/);
    const closed = once(b, 'close');
    b.destroy();
    await closed;
    const c = http.get(`${gw.url}/last`, { agent: false });
    c.on('error', () => {});
    releaseFirst();
    await within(last, 3000, '/last at the upstream');
    assert.deepEqual(seen, ['/first', '/last']);
  });
});
