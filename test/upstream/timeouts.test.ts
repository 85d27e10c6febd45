import { describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import http from 'node:http';
import { once } from 'node:events';
import { createConnection } from 'node:net';
import { startGateway, startUpstream, simpleConfig } from '../helpers/gateway.ts';
import { assertProblem, closedPort, rawUpstream, readHead, within } from './support.ts';

// A timeout must fire within ±20% of its configured value.
const SECOND = 1000;
const LOW = 0.8 * SECOND;
const HIGH = 1.2 * SECOND;

interface Answer { status: number; contentType: string | undefined; body: string; elapsed: number }

/** GET through a fresh connection; resolves when the response is complete, with the time from sending it. */
function timedGet(base: string, path: string): Promise<Answer> {
  const start = performance.now();
  return new Promise((resolve, reject) => {
    http.get(`${base}${path}`, { agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, contentType: res.headers['content-type'], body, elapsed: performance.now() - start }));
    }).on('error', reject);
  });
}

/**
 * GET whose response starts and is then cut: resolves with the time from the first body byte (or from sending the
 * request) to the moment the connection was cut, and whether the response was complete.
 */
function timedCut(base: string, path: string, from: 'request' | 'first-byte'): Promise<{ elapsed: number; complete: boolean; body: string }> {
  let start = performance.now();
  return new Promise((resolve, reject) => {
    http.get(`${base}${path}`, { agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        if (body === '' && from === 'first-byte') start = performance.now();
        body += c;
      });
      res.on('error', () => {});
      res.once('close', () => resolve({ elapsed: performance.now() - start, complete: res.complete, body }));
    }).on('error', reject);
  });
}

/** An upstream that takes requests and never answers. */
async function hungUpstream(t: TestContext) {
  const up = await rawUpstream((s) => void readHead(s));
  t.after(() => up.close());
  return up;
}

describe('upstream timeouts', () => {
  it('a hung upstream answers 504 upstream_timeout after timeouts.response (upstream level)', async (t) => {
    const up = await hungUpstream(t);
    const gw = await startGateway({
      upstreams: { up: { targets: [{ url: up.url }], timeouts: { connect: '1s', response: '1s', idle: '5s', total: '0ms' } } },
      routes: [{ name: 'r', match: { path: '/*' }, upstream: 'up' }],
    });
    t.after(() => gw.close());
    const a = await timedGet(gw.url, '/hang');
    t.diagnostic(`response timeout 1s fired after ${a.elapsed.toFixed(0)} ms`);
    assertProblem(a.status, a.contentType, a.body, 504, 'upstream_timeout', up.port);
    assert.ok(a.elapsed >= LOW && a.elapsed <= HIGH, `fired after ${a.elapsed} ms`);
  });

  it('a route timeouts.response overrides the upstream one, and a longer timeout is as precise', async (t) => {
    const up = await hungUpstream(t);
    const gw = await startGateway(simpleConfig(up.url, [
      { name: 'short', match: { path: '/short' }, timeouts: { response: '1s' } },
      { name: 'long', match: { path: '/long' }, timeouts: { response: '2500ms' } },
    ]));
    t.after(() => gw.close());
    const [a, b] = await Promise.all([timedGet(gw.url, '/short'), timedGet(gw.url, '/long')]);
    t.diagnostic(`route response timeouts 1s / 2.5s fired after ${a.elapsed.toFixed(0)} / ${b.elapsed.toFixed(0)} ms`);
    assertProblem(a.status, a.contentType, a.body, 504, 'upstream_timeout');
    assertProblem(b.status, b.contentType, b.body, 504, 'upstream_timeout');
    assert.ok(a.elapsed >= LOW && a.elapsed <= HIGH, `1s fired after ${a.elapsed} ms`);
    assert.ok(b.elapsed >= 2.5 * LOW && b.elapsed <= 2.5 * HIGH, `2.5s fired after ${b.elapsed} ms`);
  });

  it('an upstream idle between body chunks gets the client connection cut after timeouts.idle', async (t) => {
    const up = await startUpstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('first chunk');
    });
    t.after(() => up.close());
    const gw = await startGateway(simpleConfig(up.url, [{ name: 'r', match: { path: '/*' }, timeouts: { response: '5s', idle: '1s' } }]));
    t.after(() => gw.close());
    const r = await timedCut(gw.url, '/stall', 'first-byte');
    t.diagnostic(`idle timeout 1s cut the client after ${r.elapsed.toFixed(0)} ms`);
    assert.equal(r.body, 'first chunk');
    assert.equal(r.complete, false, 'the client must see an incomplete response');
    assert.ok(r.elapsed >= LOW && r.elapsed <= HIGH, `cut after ${r.elapsed} ms`);
  });

  it('a slow client does not count as upstream idle time', async (t) => {
    // 16 MB answered at once (more than the socket buffers hold, so the gateway must pause reading the upstream);
    // the client reads nothing for 1.5 s (longer than idle), then everything.
    const payload = Buffer.alloc(16 * 1024 * 1024, 'a');
    const up = await startUpstream((_req, res) => res.end(payload));
    t.after(() => up.close());
    const gw = await startGateway(simpleConfig(up.url, [{ name: 'r', match: { path: '/*' }, timeouts: { idle: '1s' } }]));
    t.after(() => gw.close());
    const res = await new Promise<http.IncomingMessage>((resolve) => http.get(`${gw.url}/big`, { agent: false }, resolve));
    res.pause();
    await new Promise((resolve) => setTimeout(resolve, 1500));
    let n = 0;
    res.on('data', (c: Buffer) => (n += c.length));
    res.resume();
    await within(once(res, 'end'), 5000, 'response end');
    assert.equal(n, payload.length);
  });

  it('timeouts.total cuts a response that keeps trickling', async (t) => {
    const up = await startUpstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      const timer = setInterval(() => res.write('.'), 100);
      res.once('close', () => clearInterval(timer));
    });
    t.after(() => up.close());
    const gw = await startGateway(simpleConfig(up.url, [{ name: 'r', match: { path: '/*' }, timeouts: { response: '5s', idle: '5s', total: '1s' } }]));
    t.after(() => gw.close());
    const r = await timedCut(gw.url, '/trickle', 'request');
    t.diagnostic(`total timeout 1s cut the client after ${r.elapsed.toFixed(0)} ms`);
    assert.equal(r.complete, false);
    assert.ok(r.body.length >= 3, 'the response had started');
    assert.ok(r.elapsed >= LOW && r.elapsed <= HIGH, `cut after ${r.elapsed} ms`);
  });

  it('timeouts.total answers 504 when no response has started', async (t) => {
    const up = await hungUpstream(t);
    const gw = await startGateway(simpleConfig(up.url, [{ name: 'r', match: { path: '/*' }, timeouts: { response: '5s', total: '1s' } }]));
    t.after(() => gw.close());
    const a = await timedGet(gw.url, '/hang');
    t.diagnostic(`total timeout 1s (before headers) fired after ${a.elapsed.toFixed(0)} ms`);
    assertProblem(a.status, a.contentType, a.body, 504, 'upstream_timeout', up.port);
    assert.ok(a.elapsed >= LOW && a.elapsed <= HIGH, `fired after ${a.elapsed} ms`);
  });

  it('timeouts.connect answers 504 when the upstream never accepts the connection', async (t) => {
    // A listener with a full accept queue drops further SYNs: the connection hangs as it would to a black hole.
    // Node accepts every connection it is offered, so the listener is a python socket that never calls accept().
    const py = spawn('python3', ['-c', [
      'import socket, sys',
      's = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(0)',
      'print(s.getsockname()[1], flush=True)',
      'sys.stdin.read()',
    ].join('\n')], { stdio: ['pipe', 'pipe', 'ignore'] });
    const spawned = await Promise.race([once(py, 'spawn').then(() => true), once(py, 'error').then(() => false)]);
    if (!spawned) return t.skip('python3 is needed to hold a listener that never accepts');
    t.after(() => void py.kill());
    const [line] = await within(once(py.stdout, 'data'), 5000, 'python listener') as [Buffer];
    const port = Number(String(line).trim());
    // Fill the accept queue: the first connection completes and stays queued; the next one hangs.
    const filler = createConnection(port, '127.0.0.1');
    filler.on('error', () => {});
    await once(filler, 'connect');
    t.after(() => void filler.destroy());

    const gw = await startGateway({
      upstreams: { up: { targets: [{ url: `http://127.0.0.1:${port}` }], timeouts: { connect: '1s', response: '5s', idle: '5s', total: '0ms' } } },
      routes: [{ name: 'r', match: { path: '/*' }, upstream: 'up' }],
    });
    t.after(() => gw.close());
    const a = await timedGet(gw.url, '/connect');
    t.diagnostic(`connect timeout 1s fired after ${a.elapsed.toFixed(0)} ms`);
    assertProblem(a.status, a.contentType, a.body, 504, 'upstream_timeout', port);
    assert.ok(a.elapsed >= LOW && a.elapsed <= HIGH, `fired after ${a.elapsed} ms`);
  });
});

describe('upstream failures', () => {
  it('a refused connection answers 502 upstream_unavailable', async (t) => {
    const port = await closedPort();
    const gw = await startGateway(simpleConfig(`http://127.0.0.1:${port}`, [{ name: 'r', match: { path: '/*' } }]));
    t.after(() => gw.close());
    const a = await timedGet(gw.url, '/refused');
    assertProblem(a.status, a.contentType, a.body, 502, 'upstream_unavailable', port);
  });

  it('an upstream resetting the connection mid-headers answers 502', async (t) => {
    const up = await rawUpstream(async (s) => {
      await readHead(s);
      s.write('HTTP/1.1 200 OK\r\nContent-Type: text/pl');
      setImmediate(() => s.resetAndDestroy());
    });
    t.after(() => up.close());
    const gw = await startGateway(simpleConfig(up.url, [{ name: 'r', match: { path: '/*' } }]));
    t.after(() => gw.close());
    const a = await timedGet(gw.url, '/reset');
    assert.equal(a.status, 502);
    assertProblem(a.status, a.contentType, a.body, 502, JSON.parse(a.body).code, up.port);
    assert.match(JSON.parse(a.body).code, /^upstream_(unavailable|error)$/);
  });

  it('an upstream closing the connection without answering answers 502', async (t) => {
    const up = await rawUpstream(async (s) => {
      await readHead(s);
      s.end();
    });
    t.after(() => up.close());
    const gw = await startGateway(simpleConfig(up.url, [{ name: 'r', match: { path: '/*' } }]));
    t.after(() => gw.close());
    const a = await timedGet(gw.url, '/closed');
    assertProblem(a.status, a.contentType, a.body, 502, JSON.parse(a.body).code, up.port);
  });

  it('a malformed upstream response answers 502 upstream_error', async (t) => {
    const up = await rawUpstream(async (s) => {
      await readHead(s);
      s.end('HTTP/1.1 200 OK\r\nBad Header Name: x\r\nContent-Length: 0\r\n\r\n');
    });
    t.after(() => up.close());
    const gw = await startGateway(simpleConfig(up.url, [{ name: 'r', match: { path: '/*' } }]));
    t.after(() => gw.close());
    const a = await timedGet(gw.url, '/malformed');
    assertProblem(a.status, a.contentType, a.body, 502, 'upstream_error', up.port);
  });
});
