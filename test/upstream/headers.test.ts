import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, startUpstream, simpleConfig, type TestGateway, type TestUpstream } from '../helpers/gateway.ts';
import { jsonBodyOf, rawRequest, statusOf } from '../helpers/raw.ts';
import { parseRaw, rawUpstream, rawValues, readHead } from './support.ts';

type Echo = { method: string; url: string; headers: Record<string, string>; rawHeaders: string[]; body: string };

/** Sends one raw request (closing the connection after it) and returns what the upstream echoed. */
async function echoed(gw: TestGateway, head: string, body = ''): Promise<Echo> {
  const raw = await rawRequest(gw.url, `${head.trim().split('\n').map((l) => l.trim()).join('\r\n')}\r\n\r\n${body}`);
  assert.equal(statusOf(raw), 200, raw);
  return jsonBodyOf(raw) as unknown as Echo;
}

async function setup(t: { after(fn: () => Promise<void>): void }, extra: Record<string, unknown> = {}): Promise<{ gw: TestGateway; up: TestUpstream }> {
  const up = await startUpstream();
  const gw = await startGateway(simpleConfig(up.url, [{ name: 'all', match: { path: '/*' } }], extra));
  t.after(async () => { await gw.close(); await up.close(); });
  return { gw, up };
}

const HOP_BY_HOP = ['connection', 'keep-alive', 'te', 'trailer', 'proxy-connection', 'upgrade', 'proxy-authorization', 'proxy-authenticate', 'transfer-encoding'];

describe('hop-by-hop headers', () => {
  it('are removed from the request, with every header the client names in Connection', async (t) => {
    const { gw } = await setup(t);
    const e = await echoed(gw, `
      POST /h HTTP/1.1
      Host: gw.test
      Connection: close, Upgrade, X-Drop-Me
      Connection: x-also-drop
      Keep-Alive: timeout=99
      TE: trailers
      Trailer: X-Trail
      Proxy-Connection: keep-alive
      Upgrade: h2c
      Proxy-Authorization: Basic Zm9vOmJhcg==
      X-Drop-Me: 1
      X-Also-Drop: 2
      X-Keep: yes
      Content-Length: 5`, 'hello');
    // The upstream connection's own management (undici's keep-alive) is all that may remain.
    assert.deepEqual(rawValues(e.rawHeaders, 'connection'), ['keep-alive']);
    const names = new Set(e.rawHeaders.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase()));
    for (const h of [...HOP_BY_HOP.filter((n) => n !== 'connection'), 'x-drop-me', 'x-also-drop']) {
      assert.ok(!names.has(h), `${h} was forwarded: ${e.rawHeaders.join(' | ')}`);
    }
    assert.equal(e.headers['x-keep'], 'yes');
    assert.equal(e.body, 'hello');
  });

  it('are removed from the response, with every header the upstream names in Connection', async (t) => {
    const up = await rawUpstream(async (s) => {
      await readHead(s);
      s.end([
        'HTTP/1.1 200 OK', 'Content-Type: text/plain', 'Content-Length: 2',
        'Connection: keep-alive, X-Up-Drop', 'Connection: X-Up-Drop-2',
        'Keep-Alive: timeout=99, max=7', 'X-Up-Drop: 1', 'X-Up-Drop-2: 2', 'Trailer: X-T', 'Proxy-Connection: keep-alive',
        'Upgrade: h2c', 'Proxy-Authenticate: Basic realm="x"', 'TE: trailers', 'X-Up-Keep: yes', '', 'ok',
      ].join('\r\n'));
    });
    const gw = await startGateway(simpleConfig(up.url, [{ name: 'all', match: { path: '/*' } }]));
    t.after(async () => { await gw.close(); await up.close(); });
    const r = parseRaw(await rawRequest(gw.url, 'GET /x HTTP/1.1\r\nHost: gw.test\r\nConnection: close\r\n\r\n'));
    assert.equal(r.status, 200);
    const values = (n: string) => r.headers.filter(([k]) => k === n).map(([, v]) => v);
    // The gateway's own connection management (Connection: close, asked by this client) is all that remains.
    assert.deepEqual(values('connection'), ['close']);
    for (const h of ['keep-alive', 'x-up-drop', 'x-up-drop-2', 'trailer', 'proxy-connection', 'upgrade', 'proxy-authenticate', 'te']) {
      assert.deepEqual(values(h), [], `${h} relayed`);
    }
    assert.deepEqual(values('x-up-keep'), ['yes']);
    assert.equal(r.body, 'ok');
  });

  it('a client Connection header cannot remove the headers the gateway adds', async (t) => {
    const { gw } = await setup(t, { plugins: { 'request-id': {} } });
    const e = await echoed(gw, `
      GET /c HTTP/1.1
      Host: gw.test
      Connection: close, X-Forwarded-For, X-Request-Id, Forwarded, X-Forwarded-Proto, X-Forwarded-Host, Host
      X-Forwarded-For: 6.6.6.6
      X-Request-Id: client-id-1`);
    assert.deepEqual(rawValues(e.rawHeaders, 'x-forwarded-for'), ['127.0.0.1']);
    assert.deepEqual(rawValues(e.rawHeaders, 'x-request-id'), ['client-id-1']);
    assert.deepEqual(rawValues(e.rawHeaders, 'x-forwarded-proto'), ['http']);
    assert.deepEqual(rawValues(e.rawHeaders, 'x-forwarded-host'), ['gw.test']);
    assert.equal(rawValues(e.rawHeaders, 'forwarded').length, 1);
    assert.equal(rawValues(e.rawHeaders, 'host').length, 1);
  });
});

describe('end-to-end request headers', () => {
  it('are forwarded in order; several Cookie lines become one', async (t) => {
    const { gw } = await setup(t);
    const e = await echoed(gw, `
      GET /k HTTP/1.1
      Host: gw.test
      Connection: close
      Accept: text/plain
      Cookie: a=1
      X-Multi: one
      Cookie: b=2
      X-Multi: two`);
    assert.deepEqual(rawValues(e.rawHeaders, 'cookie'), ['a=1; b=2']);
    assert.deepEqual(rawValues(e.rawHeaders, 'x-multi'), ['one', 'two']);
    assert.deepEqual(rawValues(e.rawHeaders, 'accept'), ['text/plain']);
  });
});

describe('request framing sent upstream', () => {
  const framing = (e: Echo) => ({ cl: rawValues(e.rawHeaders, 'content-length'), te: rawValues(e.rawHeaders, 'transfer-encoding') });

  it('a Content-Length body goes with Content-Length only', async (t) => {
    const { gw } = await setup(t);
    const e = await echoed(gw, 'POST /cl HTTP/1.1\nHost: gw.test\nConnection: close\nContent-Length: 11', 'hello world');
    assert.deepEqual(framing(e), { cl: ['11'], te: [] });
    assert.equal(e.body, 'hello world');
  });

  it('a chunked body goes chunked only', async (t) => {
    const { gw } = await setup(t);
    const e = await echoed(gw, 'POST /te HTTP/1.1\nHost: gw.test\nConnection: close\nTransfer-Encoding: chunked', '5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n');
    assert.deepEqual(framing(e), { cl: [], te: ['chunked'] });
    assert.equal(e.body, 'hello world');
  });

  it('a request without a body carries no Transfer-Encoding (and no Content-Length for GET)', async (t) => {
    const { gw } = await setup(t);
    const get = await echoed(gw, 'GET /none HTTP/1.1\nHost: gw.test\nConnection: close');
    assert.deepEqual(framing(get), { cl: [], te: [] });
    const post = await echoed(gw, 'POST /none HTTP/1.1\nHost: gw.test\nConnection: close\nContent-Length: 0');
    assert.deepEqual(framing(post), { cl: ['0'], te: [] });
    assert.equal(post.body, '');
  });

  it('naming Content-Length in Connection does not break the framing', async (t) => {
    const { gw } = await setup(t);
    const e = await echoed(gw, 'POST /cl HTTP/1.1\nHost: gw.test\nConnection: close, Content-Length\nContent-Length: 5', 'hello');
    const f = framing(e);
    assert.equal(f.cl.length + f.te.length, 1, JSON.stringify(f));
    assert.equal(e.body, 'hello');
  });
});

describe('forwarding headers', () => {
  const spoof = `
    GET /f HTTP/1.1
    Host: gw.test:8080
    Connection: close
    X-Forwarded-For: 6.6.6.6
    X-Forwarded-For: 7.7.7.7
    X-Forwarded-Proto: https
    X-Forwarded-Host: evil.example
    Forwarded: for=6.6.6.6;proto=https
    X-Real-IP: 6.6.6.6
    X-Consumer-ID: admin
    X-Consumer-Username: root
    X-Authenticated-Userid: root
    X-Authenticated-Scope: all
    X-Expeditor-Internal: 1`;
  const owned = (e: Echo) => e.rawHeaders.filter((n, i) => i % 2 === 0 && /^x-(consumer|authenticated|expeditor)-/i.test(n));

  it('from an untrusted peer, incoming values are replaced and identity headers removed', async (t) => {
    const { gw } = await setup(t);
    const e = await echoed(gw, spoof);
    assert.deepEqual(rawValues(e.rawHeaders, 'x-forwarded-for'), ['127.0.0.1']);
    assert.deepEqual(rawValues(e.rawHeaders, 'x-forwarded-proto'), ['http']);
    assert.deepEqual(rawValues(e.rawHeaders, 'x-forwarded-host'), ['gw.test:8080']);
    assert.deepEqual(rawValues(e.rawHeaders, 'forwarded'), ['for=127.0.0.1;host="gw.test:8080";proto=http']);
    assert.deepEqual(rawValues(e.rawHeaders, 'x-real-ip'), []);
    assert.deepEqual(owned(e), []);
  });

  it('from a trusted proxy, incoming values are kept and this hop appended; identity headers still removed', async (t) => {
    const { gw } = await setup(t, { server: { trustedProxies: ['127.0.0.1/32'] } });
    const e = await echoed(gw, spoof);
    assert.deepEqual(rawValues(e.rawHeaders, 'x-forwarded-for'), ['6.6.6.6, 7.7.7.7, 127.0.0.1']);
    assert.deepEqual(rawValues(e.rawHeaders, 'x-forwarded-proto'), ['https']);
    assert.deepEqual(rawValues(e.rawHeaders, 'x-forwarded-host'), ['evil.example']);
    assert.deepEqual(rawValues(e.rawHeaders, 'forwarded'), ['for=6.6.6.6;proto=https, for=127.0.0.1;host="gw.test:8080";proto=http']);
    assert.deepEqual(rawValues(e.rawHeaders, 'x-real-ip'), ['6.6.6.6']);
    assert.deepEqual(owned(e), []);
  });

  it('a trusted peer that sends none gets this hop only', async (t) => {
    const { gw } = await setup(t, { server: { trustedProxies: ['127.0.0.1/32'] } });
    const e = await echoed(gw, 'GET /f HTTP/1.1\nHost: gw.test\nConnection: close');
    assert.deepEqual(rawValues(e.rawHeaders, 'x-forwarded-for'), ['127.0.0.1']);
    assert.deepEqual(rawValues(e.rawHeaders, 'x-forwarded-proto'), ['http']);
    assert.deepEqual(rawValues(e.rawHeaders, 'forwarded'), ['for=127.0.0.1;host="gw.test";proto=http']);
  });
});
