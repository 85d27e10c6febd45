import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import http2 from 'node:http2';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import aws4 from 'aws4';
import { SignatureV4 } from '@smithy/signature-v4';
import { Hash } from '@smithy/hash-node';
import { startGateway, startUpstream, type TestGateway, type TestUpstream } from '../helpers/gateway.ts';
import { assertProblem, makeCertificates, tempDir } from '../upstream/support.ts';

const ALICE = { accessKeyId: 'AKIDALICE0001', secretAccessKey: 'alice-secret-access-key-0001' };
const BOB = { accessKeyId: 'AKIDBOB00001', secretAccessKey: 'bob-secret-access-key-00001' };
const CAROL = { accessKeyId: 'AKIDCAROL001', secretAccessKey: 'carol-secret-access-key-001' };
const MALLORY = { accessKeyId: 'AKIDMALLORY1', secretAccessKey: 'mallory-secret-access-key-1' };

let up: TestUpstream;
let gw: TestGateway;
let host: string;

before(async () => {
  up = await startUpstream();
  gw = await startGateway({
    upstreams: { up: { targets: [{ url: up.url }] } },
    consumers: {
      alice: { groups: ['partners'], credentials: [{ type: 'aws-sigv4', id: 'alice-key', ...ALICE }] },
      bob: { credentials: [{ type: 'aws-sigv4', ...BOB, revoked: true }] },
      carol: { credentials: [{ type: 'aws-sigv4', ...CAROL, expiresAt: '2020-01-01T00:00:00Z' }] },
    },
    routes: [
      { name: 'sig', match: { path: '/sig/*' }, upstream: 'up', plugins: { 'aws-sigv4': {} } },
      { name: 'eu', match: { path: '/eu/*' }, upstream: 'up', plugins: { 'aws-sigv4': { regions: ['eu-west-1'], requiredSignedHeaders: ['content-type'] } } },
      { name: 's3', match: { path: '/s3/*' }, upstream: 'up', plugins: { 'aws-sigv4': { services: ['s3'], uriEscapePath: false, allowUnsignedPayload: true, allowPresigned: true, maxPresignedExpires: '24h' } } },
      { name: 'presigned', match: { path: '/pre/*' }, upstream: 'up', plugins: { 'aws-sigv4': { allowPresigned: true, maxPresignedExpires: '1h' } } },
      { name: 'small', match: { path: '/small/*' }, upstream: 'up', maxBodyBytes: 16, plugins: { 'aws-sigv4': {} } },
    ],
  });
  host = new URL(gw.url).host;
});

after(async () => {
  await gw?.close();
  await up?.close();
});

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** Sends exactly this request line and these headers (http.request keeps the path as given). */
function send(method: string, path: string, headers: Record<string, string>, body?: string | Buffer): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: new URL(gw.url).port, method, path, headers, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** What the upstream received (the echo upstream's JSON). */
function echoed(a: Answer): { method: string; url: string; headers: Record<string, string>; body: string } {
  assert.equal(a.status, 200, a.body);
  return JSON.parse(a.body);
}

function assertRefused(a: Answer): void {
  assertProblem(a.status, a.headers['content-type'], a.body, 401, 'invalid_credentials');
  assert.equal(a.headers['www-authenticate'], 'AWS4-HMAC-SHA256 realm="expeditor"');
  assert.equal(JSON.parse(a.body).detail, 'credentials not accepted', 'the reason never reaches the client');
}

type SignerRequest = Parameters<SignatureV4['presign']>[0];

const escapeUri = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

interface SmithyRequest {
  method?: string;
  /** The path as sent (already percent-encoded). */
  path: string;
  query?: Record<string, string | string[]>;
  headers?: Record<string, string>;
  body?: string;
  region?: string;
  service?: string;
  date?: Date;
  key?: typeof ALICE;
  uriEscapePath?: boolean;
  applyChecksum?: boolean;
  /** Leave `host` out of what is signed (it is still sent). */
  unsignedHost?: boolean;
}

function signer(r: SmithyRequest): SignatureV4 {
  return new SignatureV4({
    credentials: r.key ?? ALICE, region: r.region ?? 'us-east-1', service: r.service ?? 'execute-api',
    sha256: Hash.bind(null, 'sha256'), uriEscapePath: r.uriEscapePath ?? true, applyChecksum: r.applyChecksum ?? true,
  });
}

function wireQuery(query: Record<string, string | string[] | null> = {}): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(query)) for (const one of [v ?? ''].flat()) parts.push(`${escapeUri(k)}=${escapeUri(String(one))}`);
  return parts.length === 0 ? '' : `?${parts.join('&')}`;
}

/** Signs with the AWS SDK for JavaScript's signer; returns what to send. */
async function smithySign(r: SmithyRequest): Promise<{ method: string; path: string; headers: Record<string, string>; body?: string }> {
  const method = r.method ?? 'GET';
  const headers: Record<string, string> = { ...(r.unsignedHost ? {} : { host }), ...r.headers };
  const signed = await signer(r).sign({ method, protocol: 'http:', hostname: '127.0.0.1', path: r.path, query: r.query ?? {}, headers, body: r.body } as SignerRequest,
    { signingDate: r.date ?? new Date() });
  return { method, path: r.path + wireQuery(r.query), headers: signed.headers as Record<string, string>, body: r.body };
}

async function sendSigned(r: SmithyRequest, tamper: (s: Awaited<ReturnType<typeof smithySign>>) => void = () => {}): Promise<Answer> {
  const s = await smithySign(r);
  tamper(s);
  return send(s.method, s.path, s.headers, s.body);
}

/** Signs with aws4 (a signer we did not write, and that builds the canonical request its own way). */
function aws4Sign(opts: { method?: string; path: string; body?: string; headers?: Record<string, string>; service?: string; region?: string }) {
  return aws4.sign({ host, method: opts.method ?? 'GET', path: opts.path, body: opts.body, headers: { ...opts.headers }, service: opts.service ?? 'execute-api', region: opts.region ?? 'us-east-1' }, ALICE);
}

describe('aws-sigv4: accepted signatures', () => {
  it('GET with repeated and encoded query parameters (AWS SDK signer): the consumer reaches the upstream, the signature does not', async () => {
    const query = { b: ['2', '1', '1'], a: 'x y/z', 'é': '✓', empty: '' };
    const seen = echoed(await sendSigned({ path: '/sig/items', query, headers: { 'x-consumer-id': 'admin', 'x-extra': '  spaced   out  ' } }));
    assert.equal(seen.headers['x-consumer-id'], 'alice', 'a client-sent X-Consumer-Id never reaches the upstream');
    assert.equal(seen.headers['x-consumer-username'], 'alice');
    assert.equal(seen.headers['x-consumer-groups'], 'partners');
    assert.equal(seen.headers['x-authenticated-subject'], ALICE.accessKeyId);
    assert.equal(seen.headers.authorization, undefined, 'hideCredentials removes the signature');
    assert.match(seen.url, /^\/sig\/items\?b=2&b=1&b=1&a=x%20y%2Fz/);
  });

  it('GET with a query, signed by aws4', async () => {
    const s = aws4Sign({ path: '/sig/a?z=1&y=%2A&y=%21&q=a+b' });
    echoed(await send('GET', s.path!, s.headers as Record<string, string>));
  });

  it('POST with a JSON body: hashed by aws4 (no x-amz-content-sha256), and signed as x-amz-content-sha256 by the SDK', async () => {
    const body = JSON.stringify({ order: 42, note: 'héllo' });
    const s = aws4Sign({ method: 'POST', path: '/sig/orders', body, headers: { 'content-type': 'application/json' } });
    const seen = echoed(await send('POST', s.path!, s.headers as Record<string, string>, body));
    assert.equal(seen.body, body, 'the body read for the hash is forwarded intact');
    const seen2 = echoed(await sendSigned({ method: 'POST', path: '/sig/orders', body, headers: { 'content-type': 'application/json' } }));
    assert.equal(seen2.body, body);
    assert.equal(seen2.headers['x-amz-content-sha256']?.length, 64);
  });

  it('a path with characters that need encoding (double-encoded in the canonical request), by both signers', async () => {
    const path = '/sig/a%20b/caf%C3%A9/%2A%28x%29/~tilde';
    echoed(await sendSigned({ path }));
    const s = aws4Sign({ path });
    const seen = echoed(await send('GET', s.path!, s.headers as Record<string, string>));
    assert.equal(seen.url, path);
  });

  it('S3-style (uriEscapePath: false, UNSIGNED-PAYLOAD allowed): the path signed as sent, the body not hashed', async () => {
    const path = '/s3/bucket/my%20key.txt';
    const body = 'file contents';
    const seen = echoed(await sendSigned({ method: 'PUT', path, service: 's3', uriEscapePath: false, body, headers: { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' } }));
    assert.equal(seen.body, body);
    const s = aws4Sign({ method: 'PUT', path, service: 's3', body });
    assert.equal(echoed(await send('PUT', s.path!, s.headers as Record<string, string>, body)).body, body);
  });

  it('curl --aws-sigv4 (the curl installed here)', async (t) => {
    const run = promisify(execFile);
    try {
      await run('curl', ['--help', 'all']).then(({ stdout }) => assert.match(stdout, /--aws-sigv4/));
    } catch {
      if (process.env.CI === 'true') throw new Error('this test needs curl with --aws-sigv4 (curl 7.75 or later)');
      return t.skip('curl without --aws-sigv4');
    }
    const user = `${ALICE.accessKeyId}:${ALICE.secretAccessKey}`;
    const get = await run('curl', ['-sS', '-m', '5', '--aws-sigv4', 'aws:amz:us-east-1:execute-api', '--user', user, `${gw.url}/sig/curl?n=1&q=a%20b`]);
    assert.equal(JSON.parse(get.stdout).headers['x-consumer-username'], 'alice');
    const post = await run('curl', ['-sS', '-m', '5', '--aws-sigv4', 'aws:amz:us-east-1:execute-api', '--user', user,
      '-H', 'content-type: application/json', '--data', '{"a":1}', `${gw.url}/sig/curl`]);
    assert.equal(JSON.parse(post.stdout).body, '{"a":1}');
  });
});

describe('aws-sigv4: refused (401 invalid_credentials, same answer whatever the reason)', () => {
  it('a tampered method, path, query, body or signed header value', async () => {
    const body = '{"n":1}';
    assertRefused(await sendSigned({ method: 'PUT', path: '/sig/x', body }, (s) => void (s.method = 'POST')));
    assertRefused(await sendSigned({ path: '/sig/x' }, (s) => void (s.path = '/sig/y')));
    assertRefused(await sendSigned({ path: '/sig/x', query: { a: '1' } }, (s) => void (s.path = '/sig/x?a=2')));
    assertRefused(await sendSigned({ path: '/sig/x', query: { a: '1' } }, (s) => void (s.path = '/sig/x?a=1&a=1')));
    // The SDK signs x-amz-content-sha256: the signature verifies, the body does not match it.
    assertRefused(await sendSigned({ method: 'POST', path: '/sig/x', body }, (s) => void (s.body = '{"n":2}')));
    // aws4 does not: the body is in the signature itself.
    const s = aws4Sign({ method: 'POST', path: '/sig/x', body, headers: { 'content-type': 'application/json' } });
    assertRefused(await send('POST', '/sig/x', s.headers as Record<string, string>, '{"n":2}'));
    assertRefused(await sendSigned({ path: '/sig/x', headers: { 'x-tenant': 'a' } }, (s2) => void (s2.headers['x-tenant'] = 'b')));
  });

  it('a date outside the clock skew (±6 min), or a scope date that is not X-Amz-Date\'s', async () => {
    assertRefused(await sendSigned({ path: '/sig/x', date: new Date(Date.now() - 6 * 60_000) }));
    assertRefused(await sendSigned({ path: '/sig/x', date: new Date(Date.now() + 6 * 60_000) }));
    echoed(await sendSigned({ path: '/sig/x', date: new Date(Date.now() - 4 * 60_000) }));
    assertRefused(await sendSigned({ path: '/sig/x' }, (s) => {
      s.headers.authorization = s.headers.authorization!.replace(/\/(\d{8})\//, (_, d: string) => `/${String(Number(d) - 1)}/`);
    }));
  });

  it('an unknown, revoked or expired access key; a signature made with another secret', async () => {
    assertRefused(await sendSigned({ path: '/sig/x', key: MALLORY }));
    assertRefused(await sendSigned({ path: '/sig/x', key: BOB }));
    assertRefused(await sendSigned({ path: '/sig/x', key: CAROL }));
    assertRefused(await sendSigned({ path: '/sig/x', key: { accessKeyId: ALICE.accessKeyId, secretAccessKey: MALLORY.secretAccessKey } }));
  });

  it('a region or service the route does not accept; a required header left unsigned', async () => {
    const ct = { 'content-type': 'application/json' };
    echoed(await sendSigned({ method: 'POST', path: '/eu/x', region: 'eu-west-1', headers: ct, body: '{}' }));
    assertRefused(await sendSigned({ method: 'POST', path: '/eu/x', region: 'us-east-1', headers: ct, body: '{}' }));
    assertRefused(await sendSigned({ path: '/sig/x', service: 'lambda' }));
    assertRefused(await sendSigned({ method: 'POST', path: '/eu/x', region: 'eu-west-1', body: '{}' }));
  });

  it('host not signed; UNSIGNED-PAYLOAD where not allowed; a session token', async () => {
    assertRefused(await sendSigned({ path: '/sig/x', unsignedHost: true }, (s) => void (s.headers.host = host)));
    assertRefused(await sendSigned({ method: 'POST', path: '/sig/x', body: 'x', headers: { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' } }));
    const token = await signer({ path: '/' }).sign({ method: 'GET', protocol: 'http:', hostname: '127.0.0.1', path: '/sig/x', query: {}, headers: { host } } as SignerRequest);
    (token.headers as Record<string, string>)['x-amz-security-token'] = 'session';
    assertRefused(await send('GET', '/sig/x', token.headers as Record<string, string>));
  });

  it('a chunked body over the route limit while it is read for the hash: 413', async () => {
    const s = await smithySign({ method: 'POST', path: '/small/x', body: 'x'.repeat(64), applyChecksum: false });
    const a = await send('POST', s.path, { ...s.headers, 'transfer-encoding': 'chunked' }, s.body);
    assertProblem(a.status, a.headers['content-type'], a.body, 413, 'payload_too_large');
  });

  it('no credentials at all: 401 unauthorized with the challenge', async () => {
    const a = await send('GET', '/sig/x', {});
    assertProblem(a.status, a.headers['content-type'], a.body, 401, 'unauthorized');
    assert.equal(a.headers['www-authenticate'], 'AWS4-HMAC-SHA256 realm="expeditor"');
    assertRefused(await send('GET', '/sig/x', { authorization: 'AWS4-HMAC-SHA256 garbage' }));
  });
});

describe('aws-sigv4 over HTTP/2', () => {
  it('verifies `host` against :authority, and hashes a streamed body', async (t) => {
    const tmp = tempDir('expeditor-sigv4-');
    t.after(() => tmp.remove());
    const certs = makeCertificates(tmp.dir);
    const tls = await startGateway({
      listen: { tls: { cert: certs.cert, key: certs.key } },
      upstreams: { up: { targets: [{ url: up.url }] } },
      consumers: { alice: { credentials: [{ type: 'aws-sigv4', ...ALICE }] } },
      routes: [{ name: 'sig', match: { path: '/sig/*' }, upstream: 'up', plugins: { 'aws-sigv4': {} } }],
    });
    t.after(() => tls.close());
    const authority = new URL(tls.url).host;
    const session = http2.connect(tls.url, { ca: readFileSync(certs.ca) });
    t.after(() => session.close());
    for (const body of [undefined, '{"h2":true}']) {
      const method = body === undefined ? 'GET' : 'POST';
      const signed = await signer({ path: '/' }).sign({ method, protocol: 'https:', hostname: '127.0.0.1', path: '/sig/h2', query: { q: '1' }, headers: { host: authority }, body } as SignerRequest);
      const headers: Record<string, string> = { ':method': method, ':path': '/sig/h2?q=1' };
      for (const [k, v] of Object.entries(signed.headers as Record<string, string>)) if (k !== 'host') headers[k] = v;
      const stream = session.request(headers, { endStream: body === undefined });
      if (body !== undefined) stream.end(body);
      const [res] = await once(stream, 'response') as [http2.IncomingHttpHeaders];
      let text = '';
      stream.setEncoding('utf8');
      stream.on('data', (c: string) => (text += c));
      await once(stream, 'end');
      assert.equal(res[':status'], 200, text);
      assert.equal(JSON.parse(text).headers['x-consumer-username'], 'alice');
      assert.equal(JSON.parse(text).body, body ?? '');
    }
  });
});

describe('aws-sigv4: presigned URLs', () => {
  async function presign(path: string, query: Record<string, string>, expiresIn = 300, date = new Date(), key = ALICE): Promise<string> {
    const r = await signer({ path, key }).presign({ method: 'GET', protocol: 'http:', hostname: '127.0.0.1', path, query, headers: { host } } as SignerRequest,
      { expiresIn, signingDate: date });
    return path + wireQuery(r.query as Record<string, string>);
  }

  it('accepted where allowed, with the X-Amz-* parameters removed upstream', async () => {
    const url = await presign('/pre/report.csv', { format: 'csv', 'a b': 'c&d' });
    const seen = echoed(await send('GET', url, { host }));
    assert.equal(seen.url, '/pre/report.csv?format=csv&a%20b=c%26d');
    assert.equal(seen.headers['x-consumer-username'], 'alice');
    // aws4 presigns without X-Amz-Expires: such a URL lives as long as a header signature (clockSkew).
    const s = aws4.sign({ host, path: '/pre/x?y=1', service: 'execute-api', region: 'us-east-1', signQuery: true }, ALICE);
    echoed(await send('GET', s.path!, { host }));
  });

  it('S3-style presigned URLs (payload UNSIGNED-PAYLOAD, X-Amz-Expires 24h) where the route allows both', async () => {
    const s = aws4.sign({ host, path: '/s3/bucket/a%20file.txt?versionId=3', service: 's3', region: 'us-east-1', signQuery: true }, ALICE);
    assert.match(s.path!, /X-Amz-Expires=86400/);
    assert.equal(echoed(await send('GET', s.path!, { host })).url, '/s3/bucket/a%20file.txt?versionId=3');
  });

  it('refused where not allowed, once expired, beyond maxPresignedExpires, or tampered', async () => {
    assertRefused(await send('GET', await presign('/sig/x', {}), { host }));
    assertRefused(await send('GET', await presign('/pre/x', {}, 60, new Date(Date.now() - 120_000)), { host }));
    assertRefused(await send('GET', await presign('/pre/x', {}, 7200), { host }));
    assertRefused(await send('GET', (await presign('/pre/x', { n: '1' })).replace('n=1', 'n=2'), { host }));
  });
});

describe('aws-sigv4 and Expect: 100-continue', () => {
  it('invites the body (100 Continue) before hashing it, and forwards it', async () => {
    const body = JSON.stringify({ order: 'tiramisu' });
    const opts = aws4.sign({
      host, path: '/sig/continue', method: 'POST', service: 'execute-api', region: 'us-east-1', body,
      headers: { 'content-type': 'application/json' },
    }, ALICE);
    const answer = await new Promise<Answer>((resolve, reject) => {
      const req = http.request({
        host: '127.0.0.1', port: new URL(gw.url).port, method: 'POST', path: '/sig/continue', agent: false,
        headers: { ...(opts.headers as Record<string, string>), expect: '100-continue' },
      }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: text }));
      });
      req.on('error', reject);
      // The client holds the body back until the gateway says 100 Continue.
      req.once('continue', () => req.end(body));
      req.flushHeaders();
    });
    const seen = echoed(answer);
    assert.equal(seen.body, body);
    assert.equal(seen.headers['x-consumer-username'], 'alice');
  });
});
