import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import type { TLSSocket } from 'node:tls';
import { startGateway, startUpstream, type TestGateway, type TestUpstream } from '../helpers/gateway.ts';
import { assertProblem, closedPort, makeCertificates, tempDir, within } from './support.ts';

/** A deferred signal, so each side of a streamed exchange can wait for the other. */
function signal(): { promise: Promise<void>; fire(): void } {
  let fire!: () => void;
  const promise = new Promise<void>((resolve) => (fire = resolve));
  return { promise, fire };
}

/**
 * The streaming handshake: the upstream receives the first request chunk before the client sends the second, and
 * the client receives the first response chunk before the upstream sends the second. Buffering on either side of
 * the gateway would deadlock it (and fail the test on its deadline).
 */
interface Exchange {
  requestChunkSeen: ReturnType<typeof signal>;
  responseChunkSeen: ReturnType<typeof signal>;
  body: string;
  headers: http.IncomingHttpHeaders;
}

let exchange: Exchange;
let tmp: ReturnType<typeof tempDir>;
let ca: Buffer;
let up: TestUpstream;
let gw: TestGateway;
let refusedPort: number;

function streamingUpstream(req: http.IncomingMessage, res: http.ServerResponse): void {
  if (req.url === '/cookies') {
    res.setHeader('set-cookie', ['a=1', 'b=2']);
    res.setHeader('content-type', 'text/plain');
    res.setHeader('connection', 'keep-alive');
    res.setHeader('keep-alive', 'timeout=5');
    return void res.end('cookies');
  }
  if (req.url === '/host') return void res.end(String(req.headers.host));
  if (req.url === '/echo-headers') return void res.end(JSON.stringify(req.rawHeaders));
  const ex = exchange;
  ex.headers = req.headers;
  req.setEncoding('utf8');
  req.on('data', (c: string) => {
    ex.body += c;
    ex.requestChunkSeen.fire();
  });
  req.on('end', async () => {
    res.writeHead(200, { 'content-type': 'text/plain', 'x-upstream': 'yes' });
    res.write('down-1;');
    await ex.responseChunkSeen.promise;
    res.end('down-2');
  });
}

before(async () => {
  tmp = tempDir('expeditor-tls-');
  const certs = makeCertificates(tmp.dir);
  ca = readFileSync(certs.ca);
  up = await startUpstream(streamingUpstream);
  refusedPort = await closedPort();
  gw = await startGateway({
    listen: { tls: { cert: certs.cert, key: certs.key } },
    upstreams: { up: { targets: [{ url: up.url }] }, down: { targets: [{ url: `http://127.0.0.1:${refusedPort}` }] } },
    routes: [
      { name: 'refused', match: { path: '/refused' }, upstream: 'down' },
      { name: 'preserve', match: { path: '/host' }, upstream: 'up', preserveHost: true },
      { name: 'all', match: { path: '/*' }, upstream: 'up' },
    ],
  });
});

after(async () => {
  await gw?.close();
  await up?.close();
  tmp?.remove();
});

function newExchange(): Exchange {
  exchange = { requestChunkSeen: signal(), responseChunkSeen: signal(), body: '', headers: {} };
  return exchange;
}

describe('HTTPS listener', () => {
  it('negotiates HTTP/2 by ALPN and streams request and response bodies', async (t) => {
    const ex = newExchange();
    const session = http2.connect(gw.url, { ca });
    t.after(() => session.close());
    await within(once(session, 'connect'), 3000, 'h2 connect');
    assert.equal((session.socket as TLSSocket).alpnProtocol, 'h2');
    const stream = session.request({ ':method': 'POST', ':path': '/stream?q=1', 'content-type': 'text/plain', 'x-client': 'h2' });
    stream.write('up-1;');
    await within(ex.requestChunkSeen.promise, 3000, 'first request chunk at the upstream');
    stream.end('up-2');
    const [headers] = await within(once(stream, 'response'), 3000, 'response headers') as [http2.IncomingHttpHeaders];
    assert.equal(headers[':status'], 200);
    assert.equal(headers['x-upstream'], 'yes');
    stream.setEncoding('utf8');
    const chunks: string[] = [];
    stream.on('data', (c: string) => {
      chunks.push(c);
      ex.responseChunkSeen.fire();
    });
    await within(once(stream, 'end'), 3000, 'response end');
    assert.equal(chunks[0], 'down-1;');
    assert.equal(chunks.join(''), 'down-1;down-2');
    assert.equal(ex.body, 'up-1;up-2');
    assert.equal(ex.headers['x-client'], 'h2');
    assert.equal(ex.headers['x-forwarded-proto'], 'https');
    assert.equal(ex.headers['x-forwarded-host'], new URL(gw.url).host);
    assert.equal(ex.headers.forwarded, `for=127.0.0.1;host="${new URL(gw.url).host}";proto=https`);
    assert.equal(ex.headers.host, `127.0.0.1:${up.port}`);
    assert.equal(ex.headers['transfer-encoding'], 'chunked', 'an h2 body without content-length goes chunked');
  });

  it('over HTTP/2, relays every Set-Cookie and drops connection-specific headers', async (t) => {
    const session = http2.connect(gw.url, { ca });
    t.after(() => session.close());
    const stream = session.request({ ':path': '/cookies' });
    const [headers] = await within(once(stream, 'response'), 3000, 'response') as [http2.IncomingHttpHeaders];
    stream.resume();
    await once(stream, 'end');
    assert.equal(headers[':status'], 200);
    assert.deepEqual(headers['set-cookie'], ['a=1', 'b=2']);
    assert.equal(headers.connection, undefined);
    assert.equal(headers['keep-alive'], undefined);
  });

  it('over HTTP/2, preserveHost sends the :authority, port included', async (t) => {
    const session = http2.connect(gw.url, { ca });
    t.after(() => session.close());
    const stream = session.request({ ':path': '/host' });
    stream.setEncoding('utf8');
    let body = '';
    stream.on('data', (c: string) => (body += c));
    await within(once(stream, 'end'), 3000, 'response');
    assert.equal(body, new URL(gw.url).host);
  });

  it('over HTTP/2, cookie crumbs reach an HTTP/1.1 upstream as one Cookie header', async (t) => {
    const session = http2.connect(gw.url, { ca });
    t.after(() => session.close());
    const stream = session.request({ ':path': '/echo-headers', cookie: ['a=1', 'b=2', 'c=3'] });
    stream.setEncoding('utf8');
    let body = '';
    stream.on('data', (c: string) => (body += c));
    await within(once(stream, 'end'), 3000, 'response');
    const raw = JSON.parse(body) as string[];
    const cookies = raw.filter((_, i) => i % 2 === 1 && raw[i - 1]!.toLowerCase() === 'cookie');
    assert.deepEqual(cookies, ['a=1; b=2; c=3']);
  });

  it('over HTTP/2, a gateway error is a problem+json response', async (t) => {
    const session = http2.connect(gw.url, { ca });
    t.after(() => session.close());
    const stream = session.request({ ':path': '/refused' });
    const [headers] = await within(once(stream, 'response'), 3000, 'response') as [http2.IncomingHttpHeaders];
    stream.setEncoding('utf8');
    let body = '';
    stream.on('data', (c: string) => (body += c));
    await once(stream, 'end');
    assertProblem(Number(headers[':status']), headers['content-type'] as string, body, 502, 'upstream_unavailable', refusedPort);
  });

  it('falls back to HTTP/1.1 on the same port and streams request and response bodies', async () => {
    const ex = newExchange();
    const req = https.request(`${gw.url}/stream`, { method: 'POST', ca, agent: false, headers: { 'content-type': 'text/plain', 'transfer-encoding': 'chunked' } });
    const response = once(req, 'response');
    req.write('up-1;');
    await within(ex.requestChunkSeen.promise, 3000, 'first request chunk at the upstream');
    req.end('up-2');
    const [res] = await within(response, 3000, 'response') as [http.IncomingMessage];
    assert.equal(res.httpVersion, '1.1');
    assert.notEqual((res.socket as TLSSocket).alpnProtocol, 'h2');
    assert.equal(res.statusCode, 200);
    res.setEncoding('utf8');
    const chunks: string[] = [];
    res.on('data', (c: string) => {
      chunks.push(c);
      ex.responseChunkSeen.fire();
    });
    await within(once(res, 'end'), 3000, 'response end');
    assert.equal(chunks[0], 'down-1;');
    assert.equal(chunks.join(''), 'down-1;down-2');
    assert.equal(ex.body, 'up-1;up-2');
    assert.equal(ex.headers['x-forwarded-proto'], 'https');
  });
});
