import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import type http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { startGateway, startUpstream, simpleConfig, type TestGateway, type TestUpstream } from '../helpers/gateway.ts';

// Listener limits (docs/limits.md), each driven over raw sockets against a real gateway and a real upstream. A
// refused request is checked three ways: the status, the problem+json `code`, and that the upstream saw nothing.

interface RawResponse {
  status: number;
  /** Lower-cased names; the last value wins. */
  headers: Map<string, string>;
  body: string;
}

/**
 * One client connection driven byte by byte. `next()` resolves with the next complete response (Content-Length,
 * chunked, or read-to-close framing), or undefined when the server closes the connection without sending one.
 */
class RawConnection {
  readonly socket: net.Socket;
  /** performance.now() when the server closed the connection. */
  readonly closed: Promise<number>;
  #buf = Buffer.alloc(0);
  #ended = false;
  #wake: (() => void) | undefined;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (c: Buffer) => {
      this.#buf = Buffer.concat([this.#buf, c]);
      this.#wake?.();
    });
    socket.on('error', () => {});
    this.closed = new Promise((resolve) => socket.once('close', () => {
      this.#ended = true;
      this.#wake?.();
      resolve(performance.now());
    }));
  }

  static async open(url: string): Promise<RawConnection> {
    const { hostname, port } = new URL(url);
    const socket = net.connect(Number(port), hostname);
    const conn = new RawConnection(socket);
    await Promise.race([once(socket, 'connect'), conn.closed]);
    return conn;
  }

  write(data: string | Buffer): void {
    if (!this.socket.destroyed) this.socket.write(data);
  }

  get isClosed(): boolean {
    return this.#ended;
  }

  async next(timeoutMs = 5000): Promise<RawResponse | undefined> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const res = this.#parse();
      if (res !== undefined) return res;
      if (this.#ended) {
        assert.equal(this.#buf.length, 0, `connection closed inside a response: ${this.#buf.toString('latin1')}`);
        return undefined;
      }
      const left = deadline - performance.now();
      assert.ok(left > 0, 'no response in time');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  #parse(): RawResponse | undefined {
    const buf = this.#buf;
    const end = buf.indexOf('\r\n\r\n');
    if (end < 0) return undefined;
    const lines = buf.subarray(0, end).toString('latin1').split('\r\n');
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(lines[0]!)?.[1]);
    assert.ok(status > 0, `not a status line: ${lines[0]}`);
    const headers = new Map<string, string>();
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
    }
    let pos = end + 4;
    let body: Buffer;
    if (status < 200 || status === 204 || status === 304) {
      body = Buffer.alloc(0);
    } else if (headers.has('content-length')) {
      const len = Number(headers.get('content-length'));
      if (buf.length < pos + len) return undefined;
      body = buf.subarray(pos, pos + len);
      pos += len;
    } else if (headers.get('transfer-encoding')?.toLowerCase() === 'chunked') {
      const parts: Buffer[] = [];
      for (;;) {
        const eol = buf.indexOf('\r\n', pos);
        if (eol < 0) return undefined;
        const size = Number.parseInt(buf.subarray(pos, eol).toString('latin1'), 16);
        if (buf.length < eol + 2 + size + 2) return undefined;
        parts.push(buf.subarray(eol + 2, eol + 2 + size));
        pos = eol + 2 + size + 2;
        if (size === 0) break;
      }
      body = Buffer.concat(parts);
    } else {
      if (!this.#ended) return undefined;
      body = buf.subarray(pos);
      pos = buf.length;
    }
    this.#buf = buf.subarray(pos);
    return { status, headers, body: body.toString('utf8') };
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** One request on a fresh connection; the first response (the connection is left to the server). */
async function exchange(url: string, data: string | Buffer): Promise<RawResponse | undefined> {
  const conn = await RawConnection.open(url);
  try {
    conn.write(data);
    return await conn.next();
  } finally {
    conn.destroy();
  }
}

function assertProblem(res: RawResponse | undefined, status: number, code: string): void {
  assert.ok(res, 'expected a response, the connection closed without one');
  assert.equal(res.status, status, res.body);
  assert.equal(res.headers.get('content-type'), 'application/problem+json');
  const body = JSON.parse(res.body) as { code: string; status: number };
  assert.equal(body.code, code);
  assert.equal(body.status, status);
}

function assertNothingForwarded(up: TestUpstream): void {
  assert.equal(up.requests.length, 0, `upstream received ${up.requests.map((r) => `${r.method} ${r.url}`).join(', ')}`);
}

async function setup(
  t: TestContext, server: Record<string, unknown> = {}, routes: Array<Record<string, unknown>> = [], handler?: http.RequestListener,
): Promise<{ gw: TestGateway; up: TestUpstream }> {
  const up = await startUpstream(handler);
  t.after(() => up.close());
  const gw = await startGateway(simpleConfig(up.url, [{ name: 'all', match: { path: '/*' } }, ...routes], { server }));
  t.after(() => gw.close());
  return { gw, up };
}

const get = (target: string, headers = '') => `GET ${target} HTTP/1.1\r\nHost: gw.test\r\n${headers}\r\n`;
const post = (target: string, length: number, body = 'x'.repeat(length)) =>
  `POST ${target} HTTP/1.1\r\nHost: gw.test\r\nContent-Length: ${length}\r\n\r\n${body}`;
const chunkedHead = (target: string) => `POST ${target} HTTP/1.1\r\nHost: gw.test\r\nTransfer-Encoding: chunked\r\n\r\n`;
const chunk = (n: number) => `${n.toString(16)}\r\n${'y'.repeat(n)}\r\n`;
/** A chunked body of `total` bytes in chunks of at most 1000, with the terminating chunk. */
const chunks = (total: number) => {
  let s = '';
  for (let left = total; left > 0; left -= 1000) s += chunk(Math.min(1000, left));
  return `${s}0\r\n\r\n`;
};
/** Header lines making up `count` fields besides Host. */
const fields = (count: number) => Array.from({ length: count }, (_, i) => `X-Field-${i}: v\r\n`).join('');

// --- header section -----------------------------------------------------------------------------------------

test('a header section over server.maxHeaderBytes (16 KiB) is refused with 431 before reaching the upstream', async (t) => {
  const { gw, up } = await setup(t);
  // One large header, and many medium ones (21 fields: the field count is not what trips).
  assertProblem(await exchange(gw.url, get('/', `X-Big: ${'a'.repeat(17 * 1024)}\r\n`)), 431, 'headers_too_large');
  const medium = Array.from({ length: 20 }, (_, i) => `X-Medium-${i}: ${'b'.repeat(900)}\r\n`).join('');
  assertProblem(await exchange(gw.url, get('/', medium)), 431, 'headers_too_large');
  assertNothingForwarded(up);
  // 15 KiB passes. (The gateway adds forwarding headers; the test upstream, a default Node server, takes 16 KiB.)
  const ok = await exchange(gw.url, get('/', `X-Big: ${'a'.repeat(15 * 1024)}\r\n`));
  assert.equal(ok?.status, 200);
  assert.equal(up.requests.length, 1);
  assert.equal(up.requests[0]!.headers['x-big']?.length, 15 * 1024);
});

test('server.maxHeaderBytes changes the header section limit', async (t) => {
  const { gw, up } = await setup(t, { maxHeaderBytes: '4kb' });
  assertProblem(await exchange(gw.url, get('/', `X-Big: ${'a'.repeat(5 * 1024)}\r\n`)), 431, 'headers_too_large');
  assertNothingForwarded(up);
  assert.equal((await exchange(gw.url, get('/', `X-Big: ${'a'.repeat(3 * 1024)}\r\n`)))?.status, 200);
});

test('more than server.maxHeaders (100) header fields is 431, and exactly 100 are all forwarded', async (t) => {
  const { gw, up } = await setup(t);
  // Host counts as a field: Host + 100 = 101, a few hundred bytes, far under the byte limit.
  assertProblem(await exchange(gw.url, get('/', fields(100))), 431, 'headers_too_large');
  assertNothingForwarded(up);
  assert.equal((await exchange(gw.url, get('/', fields(99))))?.status, 200);
  assert.equal(up.requests.length, 1);
  // None silently dropped (Node's own maxHeadersCount would cut at 2000 without a word).
  const forwarded = Object.keys(up.requests[0]!.headers).filter((h) => h.startsWith('x-field-'));
  assert.equal(forwarded.length, 99);
});

test('server.maxHeaders changes the header field limit', async (t) => {
  const { gw, up } = await setup(t, { maxHeaders: 10 });
  assertProblem(await exchange(gw.url, get('/', fields(10))), 431, 'headers_too_large');
  assertNothingForwarded(up);
  assert.equal((await exchange(gw.url, get('/', fields(9))))?.status, 200);
});

// --- request target -----------------------------------------------------------------------------------------

test('a request target over server.maxUrlBytes (8 KiB) is refused with 414; exactly 8 KiB passes', async (t) => {
  const { gw, up } = await setup(t);
  assertProblem(await exchange(gw.url, get(`/${'a'.repeat(8 * 1024)}`)), 414, 'uri_too_long');
  assertNothingForwarded(up);
  const target = `/q?${'a'.repeat(8 * 1024 - 3)}`;
  assert.equal((await exchange(gw.url, get(target)))?.status, 200);
  assert.equal(up.requests[0]!.url, target);
});

test('server.maxUrlBytes changes the request target limit', async (t) => {
  const { gw, up } = await setup(t, { maxUrlBytes: '1kb' });
  assertProblem(await exchange(gw.url, get(`/${'a'.repeat(1024)}`)), 414, 'uri_too_long');
  assertNothingForwarded(up);
  assert.equal((await exchange(gw.url, get(`/${'a'.repeat(1023)}`)))?.status, 200);
});

// --- body ---------------------------------------------------------------------------------------------------

test('a Content-Length over the body limit is refused with 413 before any body is sent or anything forwarded', async (t) => {
  const { gw, up } = await setup(t, { maxBodyBytes: '4kb' });
  const conn = await RawConnection.open(gw.url);
  t.after(() => conn.destroy());
  // Headers only: the answer must not wait for (or read) the body.
  conn.write(`POST /upload HTTP/1.1\r\nHost: gw.test\r\nContent-Length: ${4 * 1024 + 1}\r\n\r\n`);
  const res = await conn.next();
  assertProblem(res, 413, 'payload_too_large');
  assert.equal(res!.headers.get('connection'), 'close');
  await conn.closed;
  assertNothingForwarded(up);
  const ok = await exchange(gw.url, post('/upload', 4 * 1024));
  assert.equal(ok?.status, 200);
  assert.equal((JSON.parse(ok!.body) as { body: string }).body.length, 4 * 1024);
});

test('a chunked body is refused with 413 once it passes the limit; the upstream never gets it whole', async (t) => {
  const seen: Array<{ req: http.IncomingMessage; bytes: number; ended: boolean }> = [];
  const { gw, up } = await setup(t, { maxBodyBytes: '4kb' }, [], (req, res) => {
    const rec = { req, bytes: 0, ended: false };
    seen.push(rec);
    req.on('error', () => {});
    req.on('data', (c: Buffer) => { rec.bytes += c.length; });
    req.on('end', () => {
      rec.ended = true;
      res.end('complete');
    });
  });
  // All at once: refused while the body is read.
  assertProblem(await exchange(gw.url, chunkedHead('/upload') + chunks(5000)), 413, 'payload_too_large');

  // Spread out, so the request is already streaming upstream when the limit is passed.
  const conn = await RawConnection.open(gw.url);
  t.after(() => conn.destroy());
  conn.write(chunkedHead('/upload') + chunk(3000));
  await sleep(200);
  conn.write(chunk(2000) + chunk(1000) + '0\r\n\r\n');
  const res = await conn.next();
  assertProblem(res, 413, 'payload_too_large');
  assert.equal(res!.headers.get('connection'), 'close');
  await conn.closed;

  // Whatever started upstream was cut off: no request ended, none got past the limit, every exchange is closed.
  assert.ok(up.requests.length <= 2);
  for (const rec of seen) {
    if (!rec.req.closed) await new Promise((resolve) => rec.req.once('close', resolve));
    assert.equal(rec.ended, false);
    assert.equal(rec.req.complete, false);
    assert.ok(rec.bytes <= 4 * 1024, `upstream received ${rec.bytes} bytes`);
  }
});

test('a route\'s maxBodyBytes overrides server.maxBodyBytes, smaller or larger', async (t) => {
  const { gw, up } = await setup(t, { maxBodyBytes: '4kb' }, [
    { name: 'small', match: { path: '/small/*' }, maxBodyBytes: '1kb' },
    { name: 'large', match: { path: '/large/*' }, maxBodyBytes: '64kb' },
  ]);
  // Smaller than the server default: 2000 bytes pass the server limit but not the route's.
  assertProblem(await exchange(gw.url, post('/small/x', 2000)), 413, 'payload_too_large');
  assertProblem(await exchange(gw.url, chunkedHead('/small/x') + chunks(2000)), 413, 'payload_too_large');
  assertNothingForwarded(up);
  assert.equal((await exchange(gw.url, post('/small/x', 1024)))?.status, 200);
  assert.equal((await exchange(gw.url, post('/default', 2000)))?.status, 200);
  // Larger than the server default: 8000 bytes pass the route, not the server default.
  assertProblem(await exchange(gw.url, post('/default', 8000)), 413, 'payload_too_large');
  assertProblem(await exchange(gw.url, chunkedHead('/default') + chunks(8000)), 413, 'payload_too_large');
  for (const req of [post('/large/x', 8000), chunkedHead('/large/x') + chunks(8000)]) {
    const res = await exchange(gw.url, req);
    assert.equal(res?.status, 200);
    assert.equal((JSON.parse(res!.body) as { body: string }).body.length, 8000);
  }
  assert.equal(up.requests.length, 4);
});

// --- time ---------------------------------------------------------------------------------------------------

test('headers trickled in slower than server.headersTimeout get 408 on time (slowloris)', async (t) => {
  const { gw, up } = await setup(t, { headersTimeout: '1s' });
  const conn = await RawConnection.open(gw.url);
  t.after(() => conn.destroy());
  const start = performance.now();
  conn.write('GET /slow HTTP/1.1\r\nHost: gw.test\r\n');
  // A header every 200 ms keeps the connection busy but must not extend the deadline.
  let n = 0;
  const drip = setInterval(() => conn.write(`X-Drip-${n++}: 1\r\n`), 200);
  t.after(() => clearInterval(drip));
  const res = await conn.next(5000);
  const elapsed = performance.now() - start;
  clearInterval(drip);
  assertProblem(res, 408, 'request_timeout');
  assertNothingForwarded(up);
  t.diagnostic(`408 after ${Math.round(elapsed)} ms (headersTimeout 1000 ms)`);
  assert.ok(elapsed >= 900, `408 too early: ${elapsed} ms`);
  assert.ok(elapsed <= 1750, `408 too late: ${elapsed} ms`);
});

test('a body slower than server.requestTimeout gets 408 and the upstream exchange is cut off', async (t) => {
  const seen: Array<{ req: http.IncomingMessage; ended: boolean }> = [];
  const { gw } = await setup(t, { headersTimeout: '1s', requestTimeout: '2s' }, [], (req, res) => {
    const rec = { req, ended: false };
    seen.push(rec);
    req.on('error', () => {});
    req.resume();
    req.on('end', () => {
      rec.ended = true;
      res.end('complete');
    });
  });
  const conn = await RawConnection.open(gw.url);
  t.after(() => conn.destroy());
  const start = performance.now();
  conn.write('POST /slow HTTP/1.1\r\nHost: gw.test\r\nContent-Length: 100\r\n\r\n');
  const drip = setInterval(() => conn.write('z'), 200);
  t.after(() => clearInterval(drip));
  const res = await conn.next(6000);
  const elapsed = performance.now() - start;
  clearInterval(drip);
  assertProblem(res, 408, 'request_timeout');
  t.diagnostic(`408 after ${Math.round(elapsed)} ms (requestTimeout 2000 ms, headers complete at once)`);
  assert.ok(elapsed >= 1900, `408 too early: ${elapsed} ms`);
  assert.ok(elapsed <= 2750, `408 too late: ${elapsed} ms`);
  // The proxy streams, so the upstream may have the headers; it must never get the whole request.
  for (const rec of seen) {
    if (!rec.req.closed) await new Promise((resolve) => rec.req.once('close', resolve));
    assert.equal(rec.ended, false);
  }
});

test('a requestTimeout shorter than headersTimeout bounds the headers too (and the gateway starts)', async (t) => {
  const { gw, up } = await setup(t, { headersTimeout: '10s', requestTimeout: '1s' });
  const conn = await RawConnection.open(gw.url);
  t.after(() => conn.destroy());
  const start = performance.now();
  conn.write('GET /slow HTTP/1.1\r\nHost: gw.test\r\n');
  const res = await conn.next(5000);
  const elapsed = performance.now() - start;
  assertProblem(res, 408, 'request_timeout');
  assertNothingForwarded(up);
  assert.ok(elapsed >= 900 && elapsed <= 1750, `408 after ${elapsed} ms`);
});

// --- connections --------------------------------------------------------------------------------------------

test('server.maxRequestsPerSocket: the last response says Connection: close and nothing after it is forwarded', async (t) => {
  const { gw, up } = await setup(t, { maxRequestsPerSocket: 2, keepAliveTimeout: '1s' });
  const conn = await RawConnection.open(gw.url);
  t.after(() => conn.destroy());
  conn.write(get('/1'));
  const first = await conn.next();
  assert.equal(first?.status, 200);
  assert.equal(first!.headers.get('connection'), 'keep-alive');
  assert.match(first!.headers.get('keep-alive') ?? '', /max=2/);
  conn.write(get('/2'));
  const second = await conn.next();
  assert.equal(second?.status, 200);
  assert.equal(second!.headers.get('connection'), 'close');
  // A client that ignores the Connection: close: refused (Node's empty 503) or cut off, never forwarded.
  conn.write(get('/3'));
  const third = await conn.next();
  assert.ok(third === undefined || third.status === 503, `third request answered ${third?.status}`);
  assert.deepEqual(up.requests.map((r) => r.url), ['/1', '/2']);

  // The same with the requests pipelined in one write.
  const piped = await RawConnection.open(gw.url);
  t.after(() => piped.destroy());
  piped.write(get('/a') + get('/b') + get('/c'));
  assert.equal((await piped.next())?.status, 200);
  assert.equal((await piped.next())?.headers.get('connection'), 'close');
  const extra = await piped.next();
  assert.ok(extra === undefined || extra.status === 503, `pipelined third request answered ${extra?.status}`);
  assert.deepEqual(up.requests.slice(2).map((r) => r.url), ['/a', '/b']);
});

test('server.maxRequestsPerSocket: the gateway closes the connection itself after the last response', async (t) => {
  const { gw } = await setup(t, { maxRequestsPerSocket: 2, keepAliveTimeout: '5s' });
  const conn = await RawConnection.open(gw.url);
  t.after(() => conn.destroy());
  conn.write(get('/1') + get('/2'));
  await conn.next();
  await conn.next();
  const answered = performance.now();
  const closedAt = await Promise.race([conn.closed, sleep(1000).then(() => Infinity)]);
  assert.ok(closedAt - answered < 1000, 'connection still open 1 s after the last response');
});

test('server.keepAliveTimeout closes an idle connection, not a busy one', async (t) => {
  const { gw } = await setup(t, { keepAliveTimeout: '1s' });
  const conn = await RawConnection.open(gw.url);
  t.after(() => conn.destroy());
  conn.write(get('/1'));
  const first = await conn.next();
  assert.equal(first?.status, 200);
  assert.match(first!.headers.get('keep-alive') ?? '', /timeout=1\b/);
  // Used again within the timeout: still open.
  await sleep(500);
  assert.equal(conn.isClosed, false);
  conn.write(get('/2'));
  assert.equal((await conn.next())?.status, 200);
  const idleFrom = performance.now();
  const closedAt = await conn.closed;
  const idle = closedAt - idleFrom;
  t.diagnostic(`idle connection closed after ${Math.round(idle)} ms (keepAliveTimeout 1000 ms)`);
  // Node keeps the socket up to 1 s longer than it advertises (keepAliveTimeoutBuffer), so a client that honours
  // `Keep-Alive: timeout=1` never races the close.
  assert.ok(idle >= 900, `closed too early: ${idle} ms`);
  assert.ok(idle <= 3000, `closed too late: ${idle} ms`);
});

test('server.maxConnections refuses connections past the limit until one closes', async (t) => {
  const { gw, up } = await setup(t, { maxConnections: 2 });
  const held: RawConnection[] = [];
  t.after(() => {
    for (const c of held) c.destroy();
  });
  for (let i = 0; i < 2; i++) {
    const c = await RawConnection.open(gw.url);
    held.push(c);
    c.write(get(`/held-${i}`));
    assert.equal((await c.next())?.status, 200);
  }
  const extra = await RawConnection.open(gw.url);
  held.push(extra);
  extra.write(get('/extra'));
  assert.equal(await extra.next(), undefined, 'the connection past the limit got a response');
  assert.equal(up.requests.length, 2);

  held[0]!.destroy();
  let status: number | undefined;
  for (let attempt = 0; attempt < 40 && status === undefined; attempt++) {
    const c = await RawConnection.open(gw.url);
    held.push(c);
    c.write(get('/after'));
    status = (await c.next())?.status;
    if (status === undefined) await sleep(25);
  }
  assert.equal(status, 200);
  assert.deepEqual(up.requests.map((r) => r.url), ['/held-0', '/held-1', '/after']);
});
