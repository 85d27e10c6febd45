import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startGateway, startUpstream, simpleConfig, type TestGateway } from '../helpers/gateway.ts';
import { rawRequest } from '../helpers/raw.ts';
import { parseRaw, rawUpstream, readHead } from './support.ts';

async function through(t: { after(fn: () => Promise<void>): void }, handler: http.RequestListener): Promise<TestGateway> {
  const up = await startUpstream(handler);
  const gw = await startGateway(simpleConfig(up.url, [{ name: 'all', match: { path: '/*' } }]));
  t.after(async () => { await gw.close(); await up.close(); });
  return gw;
}

/** Two requests on one connection: the second is answered correctly only if the first response was framed right. */
async function twoOnOneConnection(gw: TestGateway, first: string): Promise<string> {
  return rawRequest(gw.url, `${first} HTTP/1.1\r\nHost: gw.test\r\n\r\nGET /second HTTP/1.1\r\nHost: gw.test\r\nConnection: close\r\n\r\n`);
}

describe('responses relayed to the client', () => {
  it('status, headers and every Set-Cookie are relayed as sent', async (t) => {
    const gw = await through(t, (_req, res) => {
      res.setHeader('set-cookie', ['a=1; Path=/; HttpOnly', 'b=2; Secure', 'c=3']);
      res.setHeader('x-multi', ['one', 'two']);
      res.setHeader('cache-control', 'no-store');
      res.writeHead(418, { 'content-type': 'text/plain', 'content-length': '6' });
      res.end('teapot');
    });
    const r = parseRaw(await rawRequest(gw.url, 'GET /tea HTTP/1.1\r\nHost: gw.test\r\nConnection: close\r\n\r\n'));
    assert.equal(r.status, 418);
    const values = (n: string) => r.headers.filter(([k]) => k === n).map(([, v]) => v);
    assert.deepEqual(values('set-cookie'), ['a=1; Path=/; HttpOnly', 'b=2; Secure', 'c=3']);
    assert.deepEqual(values('x-multi'), ['one', 'two']);
    assert.deepEqual(values('cache-control'), ['no-store']);
    assert.deepEqual(values('content-length'), ['6']);
    assert.equal(r.body, 'teapot');
  });

  it('upstream errors are relayed as they are, not turned into gateway problems', async (t) => {
    const gw = await through(t, (_req, res) => {
      res.writeHead(503, { 'content-type': 'text/html', 'retry-after': '7', 'content-length': '11' });
      res.end('<p>busy</p>');
    });
    const r = parseRaw(await rawRequest(gw.url, 'GET /busy HTTP/1.1\r\nHost: gw.test\r\nConnection: close\r\n\r\n'));
    assert.equal(r.status, 503);
    assert.deepEqual(r.headers.filter(([k]) => k === 'retry-after'), [['retry-after', '7']]);
    assert.equal(r.body, '<p>busy</p>');
  });

  it('HEAD keeps the upstream Content-Length and sends no body', async (t) => {
    const gw = await through(t, (req, res) => {
      if (req.url === '/second') return void res.end('second');
      assert.equal(req.method, 'HEAD');
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '1234' });
      res.end();
    });
    const raw = await twoOnOneConnection(gw, 'HEAD /head');
    const [first, second] = raw.split(/(?=HTTP\/1\.1 )/);
    const r = parseRaw(first!);
    assert.equal(r.status, 200);
    assert.deepEqual(r.headers.filter(([k]) => k === 'content-length'), [['content-length', '1234']]);
    assert.equal(r.body, '');
    assert.equal(parseRaw(second!).body, 'second');
  });

  it('204 and 304 are relayed without a body or body framing', async (t) => {
    const gw = await through(t, (req, res) => {
      if (req.url === '/second') return void res.end('second');
      if (req.url === '/nc') {
        res.writeHead(204, { 'x-done': '1' });
        return void res.end();
      }
      res.writeHead(304, { etag: '"v1"', 'cache-control': 'max-age=60' });
      res.end();
    });
    for (const [path, status] of [['/nc', 204], ['/nm', 304]] as const) {
      const raw = await twoOnOneConnection(gw, `GET ${path}`);
      const [first, second] = raw.split(/(?=HTTP\/1\.1 )/);
      const r = parseRaw(first!);
      assert.equal(r.status, status);
      assert.equal(r.body, '');
      assert.deepEqual(r.headers.filter(([k]) => k === 'transfer-encoding'), []);
      if (status === 204) assert.deepEqual(r.headers.filter(([k]) => k === 'content-length'), []);
      else assert.deepEqual(r.headers.filter(([k]) => k === 'etag'), [['etag', '"v1"']]);
      assert.equal(parseRaw(second!).body, 'second');
    }
  });

  it('a chunked upstream response is relayed chunked, chunk by chunk', async (t) => {
    let next!: () => void;
    const gw = await through(t, (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('part one;');
      // The rest only once the client has seen the first part: proves the gateway does not buffer.
      next = () => res.end('part two');
    });
    const body = await new Promise<{ te: string | undefined; chunks: string[] }>((resolve, reject) => {
      http.get(`${gw.url}/chunked`, { agent: false }, (res) => {
        const chunks: string[] = [];
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          chunks.push(c);
          if (chunks.length === 1) next();
        });
        res.on('end', () => resolve({ te: res.headers['transfer-encoding'], chunks }));
      }).on('error', reject);
    });
    assert.equal(body.te, 'chunked');
    assert.equal(body.chunks[0], 'part one;');
    assert.equal(body.chunks.join(''), 'part one;part two');
  });

  it('a response without Content-Length from an HTTP/1.0-style upstream (close-delimited) is relayed whole', async (t) => {
    const up = await rawUpstream(async (s) => {
      await readHead(s);
      s.end('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\nuntil the end');
    });
    const gw = await startGateway(simpleConfig(up.url, [{ name: 'all', match: { path: '/*' } }]));
    t.after(async () => { await gw.close(); await up.close(); });
    const raw = await twoOnOneConnection(gw, 'GET /eof');
    const [first, second] = raw.split(/(?=HTTP\/1\.1 )/);
    assert.equal(parseRaw(first!).status, 200);
    assert.match(first!, /until the end/);
    assert.equal(parseRaw(second!).status, 200);
  });
});
