import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, startUpstream, simpleConfig, type TestGateway, type TestUpstream } from '../helpers/gateway.ts';
import { jsonBodyOf, rawRequest, statusOf } from '../helpers/raw.ts';

// Edge hygiene (docs/limits.md): requests a proxy must not pass on, sent as raw bytes to a real gateway in front of
// a real upstream. Some are refused by Node's strict parser (answered by the gateway's clientError handler), some
// by checkRequest (src/server/hygiene.ts), some by path normalisation; all must be problem+json with a stable
// code, must close the connection, and must leave the upstream untouched.

async function setup(t: TestContext): Promise<{ gw: TestGateway; up: TestUpstream }> {
  const up = await startUpstream();
  t.after(() => up.close());
  const gw = await startGateway(simpleConfig(up.url, [{ name: 'all', match: { path: '/*' } }]));
  t.after(() => gw.close());
  return { gw, up };
}

/** Lower-cased header names of the first response. */
function headersOf(raw: string): Map<string, string> {
  const head = raw.slice(0, raw.indexOf('\r\n\r\n')).split('\r\n').slice(1);
  return new Map(head.map((line) => {
    const colon = line.indexOf(':');
    return [line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim()] as const;
  }));
}

function assertRefused(raw: string, code: string, up: TestUpstream, closes = true): void {
  assert.equal(statusOf(raw), 400, raw);
  const headers = headersOf(raw);
  assert.equal(headers.get('content-type'), 'application/problem+json');
  if (closes) assert.equal(headers.get('connection')?.toLowerCase(), 'close');
  const body = jsonBodyOf(raw);
  assert.equal(body.code, code, String(body.detail));
  assert.equal(body.status, 400);
  assert.equal(up.requests.length, 0, `upstream received ${up.requests.map((r) => `${r.method} ${r.url}`).join(', ')}`);
}

const H = 'Host: gw.test\r\n';

interface Case {
  name: string;
  request: string | Buffer;
  code: 'request_smuggling' | 'bad_request' | 'invalid_path';
  /** Which layer refuses it today; informational, the client-facing contract is the code. */
  by: 'node parser' | 'checkRequest' | 'path normalisation' | 'connect handler';
  /** False for a well-framed request whose connection may carry the next one (an invalid path). */
  closes?: boolean;
}

const CASES: Case[] = [
  // Framing: whoever refuses it, the code is request_smuggling.
  { name: 'Content-Length and Transfer-Encoding together', by: 'node parser', code: 'request_smuggling',
    request: `POST / HTTP/1.1\r\n${H}Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n` },
  { name: 'duplicate Content-Length, same value', by: 'node parser', code: 'request_smuggling',
    request: `POST / HTTP/1.1\r\n${H}Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello` },
  { name: 'duplicate Content-Length, different values', by: 'node parser', code: 'request_smuggling',
    request: `POST / HTTP/1.1\r\n${H}Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!` },
  { name: 'Content-Length as a list', by: 'node parser', code: 'request_smuggling',
    request: `POST / HTTP/1.1\r\n${H}Content-Length: 5, 5\r\n\r\nhello` },
  { name: 'Content-Length with a sign', by: 'node parser', code: 'request_smuggling',
    request: `POST / HTTP/1.1\r\n${H}Content-Length: +5\r\n\r\nhello` },
  { name: 'Transfer-Encoding: gzip, chunked', by: 'checkRequest', code: 'request_smuggling',
    request: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n` },
  { name: 'Transfer-Encoding: chunked, gzip', by: 'node parser', code: 'request_smuggling',
    request: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n` },
  { name: 'Transfer-Encoding: identity', by: 'checkRequest', code: 'request_smuggling',
    request: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: identity\r\n\r\n` },
  { name: 'two Transfer-Encoding headers, chunked twice', by: 'node parser', code: 'request_smuggling',
    request: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n` },
  { name: 'two Transfer-Encoding headers, gzip then chunked', by: 'checkRequest', code: 'request_smuggling',
    request: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n` },
  { name: 'Transfer-Encoding in an HTTP/1.0 request', by: 'checkRequest', code: 'request_smuggling',
    request: `POST / HTTP/1.0\r\n${H}Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n` },
  { name: 'a chunk size that is not hex', by: 'node parser', code: 'request_smuggling',
    request: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n` },
  { name: 'chunk lines ended by bare LF', by: 'node parser', code: 'request_smuggling',
    request: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n3\nabc\n0\n\n` },
  // Never the insecure parser: bare LF, bare CR and obs-fold are refused, not repaired.
  { name: 'a header line ended by bare LF', by: 'node parser', code: 'request_smuggling',
    request: `GET / HTTP/1.1\r\nHost: gw.test\nX-Other: 1\r\n\r\n` },
  { name: 'a bare CR inside the header section', by: 'node parser', code: 'request_smuggling',
    request: `GET / HTTP/1.1\r\nHost: gw.test\rX-Other: 1\r\n\r\n` },
  { name: 'a request line ended by bare LF', by: 'node parser', code: 'request_smuggling',
    request: `GET / HTTP/1.1\n${H}\r\n` },
  { name: 'a header section ended by a bare LF', by: 'node parser', code: 'request_smuggling',
    request: `GET / HTTP/1.1\r\n${H}\n` },
  { name: 'an obs-fold header continuation', by: 'node parser', code: 'bad_request',
    request: `GET / HTTP/1.1\r\n${H}X-Folded: a\r\n b\r\n\r\n` },
  { name: 'an obs-fold continuation of Transfer-Encoding', by: 'node parser', code: 'bad_request',
    request: `POST / HTTP/1.1\r\n${H}Transfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n` },
  // Identity headers.
  { name: 'duplicate Host', by: 'checkRequest', code: 'bad_request',
    request: `GET / HTTP/1.1\r\n${H}Host: other.test\r\n\r\n` },
  { name: 'no Host in HTTP/1.1', by: 'checkRequest', code: 'bad_request',
    request: 'GET / HTTP/1.1\r\n\r\n' },
  { name: 'duplicate Authorization', by: 'checkRequest', code: 'bad_request',
    request: `GET / HTTP/1.1\r\n${H}Authorization: Bearer a\r\nAuthorization: Bearer b\r\n\r\n` },
  // Request targets the gateway does not serve.
  { name: 'absolute-form target', by: 'checkRequest', code: 'bad_request',
    request: `GET http://evil/ HTTP/1.1\r\n${H}\r\n` },
  { name: 'asterisk-form target', by: 'checkRequest', code: 'bad_request',
    request: `OPTIONS * HTTP/1.1\r\n${H}\r\n` },
  { name: 'CONNECT', by: 'connect handler', code: 'bad_request',
    request: 'CONNECT evil.test:443 HTTP/1.1\r\nHost: evil.test:443\r\n\r\n' },
  { name: '"#" in the target', by: 'path normalisation', code: 'invalid_path', closes: false,
    request: `GET /public#/../admin HTTP/1.1\r\n${H}\r\n` },
  { name: 'a control byte in the target', by: 'node parser', code: 'invalid_path',
    request: `GET /a\x01b HTTP/1.1\r\n${H}\r\n` },
  { name: 'DEL in the target', by: 'node parser', code: 'invalid_path',
    request: `GET /a\x7fb HTTP/1.1\r\n${H}\r\n` },
  { name: 'a non-ASCII byte in the target', by: 'node parser', code: 'invalid_path',
    request: Buffer.from(`GET /caf\xe9 HTTP/1.1\r\n${H}\r\n`, 'latin1') },
  { name: 'a raw backslash in the target', by: 'path normalisation', code: 'invalid_path', closes: false,
    request: `GET /public\\..\\admin HTTP/1.1\r\n${H}\r\n` },
  { name: 'the HTTP/2 prior-knowledge preface', by: 'node parser', code: 'bad_request',
    request: 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n' },
];

for (const c of CASES) {
  test(`${c.name}: 400 ${c.code} (${c.by}), nothing forwarded`, async (t) => {
    const { gw, up } = await setup(t);
    assertRefused(await rawRequest(gw.url, c.request), c.code, up, c.closes);
  });
}

test('a request pipelined behind a refused one is not forwarded either', async (t) => {
  const { gw, up } = await setup(t);
  const smuggled = `GET /smuggled HTTP/1.1\r\n${H}\r\n`;
  // Refused by checkRequest after Node has framed the body, so Node goes on to parse what follows.
  for (const first of [
    `POST / HTTP/1.1\r\n${H}Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n`,
    `GET / HTTP/1.1\r\n${H}Host: other.test\r\n\r\n`,
    `GET http://evil/ HTTP/1.1\r\n${H}\r\n`,
  ]) {
    const raw = await rawRequest(gw.url, first + smuggled);
    assertRefused(raw, jsonBodyOf(raw).code as string, up);
    assert.equal(raw.lastIndexOf('HTTP/1.1 '), 0, `more than one response: ${raw}`);
  }
  assert.equal(up.requests.length, 0);
});

test('well-formed framing still passes: Content-Length, chunked (any case), HTTP/1.0 without Host', async (t) => {
  const { gw, up } = await setup(t);
  const bodies: string[] = [];
  for (const request of [
    `POST /cl HTTP/1.1\r\n${H}Content-Length: 5\r\nConnection: close\r\n\r\nhello`,
    `POST /te HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n0\r\n\r\n`,
    `POST /te HTTP/1.1\r\n${H}Transfer-Encoding: Chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n0\r\n\r\n`,
    'GET /old HTTP/1.0\r\n\r\n',
  ]) {
    const raw = await rawRequest(gw.url, request);
    assert.equal(statusOf(raw), 200, raw);
    bodies.push(jsonBodyOf(raw).body as string);
  }
  assert.deepEqual(bodies, ['hello', 'hello', 'hello', '']);
  assert.equal(up.requests.length, 4);
});

test('Upgrade: h2c is an ordinary request: the upstream sees no Upgrade, HTTP2-Settings or Connection-listed header', async (t) => {
  const { gw, up } = await setup(t);
  const raw = await rawRequest(gw.url, `GET /h2c HTTP/1.1\r\n${H}Connection: Upgrade, HTTP2-Settings, X-Hop\r\n`
    + 'Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\nX-Hop: 1\r\nX-End-To-End: 2\r\n\r\n');
  assert.equal(statusOf(raw), 200, raw);
  assert.equal(up.requests.length, 1);
  const received = up.requests[0]!;
  assert.equal(received.url, '/h2c');
  const names = received.rawHeaders.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase());
  for (const hop of ['upgrade', 'http2-settings', 'x-hop']) assert.ok(!names.includes(hop), `${hop} was forwarded`);
  // The upstream connection's own Connection header is the client library's, never the client's.
  assert.doesNotMatch(String(received.headers.connection), /upgrade|http2-settings/i);
  assert.equal(received.headers['x-end-to-end'], '2');
});
