import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import { once } from 'node:events';
import { execFile, execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { TLSSocket } from 'node:tls';
import { startGateway, startUpstream, type TestGateway, type TestUpstream } from '../helpers/gateway.ts';
import { assertProblem, makeCertificates, tempDir, within } from '../upstream/support.ts';

interface Client {
  cert: Buffer;
  key: Buffer;
  certPath: string;
  keyPath: string;
  fingerprint256: string;
}

/** A client CA (distinct from the server's) and client certificates, made with openssl. */
function makeClientCertificates(dir: string) {
  const p = (n: string) => join(dir, n);
  const run = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  run('req', '-x509', ...ec, '-days', '1', '-subj', '/CN=Expeditor client CA', '-keyout', p('client-ca.key'), '-out', p('client-ca.pem'));
  const issue = (name: string, cn: string, san: string | undefined, opts: { selfSigned?: boolean; days?: string } = {}): Client => {
    const ext = p(`${name}.ext`);
    writeFileSync(ext, `${san === undefined ? '' : `subjectAltName=${san}\n`}extendedKeyUsage=clientAuth\n`);
    if (opts.selfSigned) {
      run('req', '-x509', ...ec, '-days', '1', '-subj', `/CN=${cn}`, '-keyout', p(`${name}.key`), '-out', p(`${name}.pem`));
    } else {
      run('req', ...ec, '-subj', `/CN=${cn}`, '-keyout', p(`${name}.key`), '-out', p(`${name}.csr`));
      run('x509', '-req', '-in', p(`${name}.csr`), '-CA', p('client-ca.pem'), '-CAkey', p('client-ca.key'), '-CAcreateserial',
        '-days', opts.days ?? '1', '-extfile', ext, '-out', p(`${name}.pem`));
    }
    const fp = run('x509', '-in', p(`${name}.pem`), '-noout', '-fingerprint', '-sha256').toString().trim().split('=')[1]!;
    return { cert: readFileSync(p(`${name}.pem`)), key: readFileSync(p(`${name}.key`)), certPath: p(`${name}.pem`), keyPath: p(`${name}.key`), fingerprint256: fp };
  };
  return {
    ca: p('client-ca.pem'),
    alice: issue('alice', 'alice', 'email:alice@example.com'),
    bob: issue('bob', 'bob-device-7', 'DNS:Bob.Devices.example.com, URI:spiffe://example.com/bob'),
    carol: issue('carol', 'carol-laptop', undefined),
    dave: issue('dave', 'dave', undefined),
    eve: issue('eve', 'eve', undefined),
    expired: issue('expired', 'alice', undefined, { days: '-1' }),
    mallory: issue('mallory', 'alice', undefined, { selfSigned: true }),
  };
}

let tmp: ReturnType<typeof tempDir>;
let serverCerts: ReturnType<typeof makeCertificates>;
let serverCa: Buffer;
let clients: ReturnType<typeof makeClientCertificates>;
let up: TestUpstream;
let gw: TestGateway;

before(async () => {
  tmp = tempDir('expeditor-mtls-');
  const server = serverCerts = makeCertificates(tmp.dir);
  serverCa = readFileSync(server.ca);
  clients = makeClientCertificates(tmp.dir);
  up = await startUpstream();
  gw = await startGateway({
    listen: { tls: { cert: server.cert, key: server.key, clientCertificates: 'request', clientCa: clients.ca } },
    upstreams: { up: { targets: [{ url: up.url }] } },
    consumers: {
      alice: { groups: ['staff'], credentials: [{ type: 'mtls', subject: 'alice' }] },
      bob: { credentials: [{ type: 'mtls', san: 'DNS:bob.devices.example.com' }] },
      carol: { credentials: [{ type: 'mtls', id: 'carol-laptop-2026', fingerprint256: clients.carol.fingerprint256 }] },
      eve: { credentials: [{ type: 'mtls', subject: 'eve' }, { type: 'mtls', fingerprint256: clients.eve.fingerprint256, revoked: true }] },
    },
    routes: [
      { name: 'mtls', match: { path: '/mtls/*' }, upstream: 'up', plugins: { 'mtls-auth': {} } },
      { name: 'loose', match: { path: '/loose/*' }, upstream: 'up', plugins: { 'mtls-auth': { requireConsumer: false } } },
      { name: 'open', match: { path: '/open/*' }, upstream: 'up' },
    ],
  });
});

after(async () => {
  await gw?.close();
  await up?.close();
  tmp?.remove();
});

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function get(path: string, client?: Client, url = gw.url): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = https.request(`${url}${path}`, { ca: serverCa, cert: client?.cert, key: client?.key, agent: false, headers: { 'x-consumer-id': 'admin' } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

function upstreamSaw(a: Answer): Record<string, string> {
  assert.equal(a.status, 200, a.body);
  return (JSON.parse(a.body) as { headers: Record<string, string> }).headers;
}

function assertRefused(a: Answer, code = 'invalid_credentials'): void {
  assertProblem(a.status, a.headers['content-type'], a.body, 401, code);
  assert.equal(a.headers['www-authenticate'], 'ClientCertificate realm="expeditor"');
}

describe('mtls-auth (listener in request mode)', () => {
  it('maps a certificate from the client CA to its consumer by subject CN; a spoofed X-Consumer-Id is replaced', async () => {
    const h = upstreamSaw(await get('/mtls/x', clients.alice));
    assert.equal(h['x-consumer-username'], 'alice');
    assert.equal(h['x-consumer-id'], 'alice');
    assert.equal(h['x-consumer-groups'], 'staff');
    assert.equal(h['x-authenticated-subject'], 'alice');
  });

  it('by SAN (DNS names compared case-insensitively), and by pinned fingerprint', async () => {
    const bob = upstreamSaw(await get('/mtls/x', clients.bob));
    assert.equal(bob['x-consumer-username'], 'bob');
    assert.equal(bob['x-authenticated-subject'], 'bob-device-7');
    assert.equal(upstreamSaw(await get('/mtls/x', clients.carol))['x-consumer-username'], 'carol');
  });

  it('refuses a self-signed certificate, an expired one, one that maps to nobody, and one whose credential is revoked', async () => {
    assertRefused(await get('/mtls/x', clients.mallory));
    assertRefused(await get('/mtls/x', clients.expired));
    assertRefused(await get('/mtls/x', clients.dave));
    assertRefused(await get('/mtls/x', clients.eve), 'invalid_credentials');
  });

  it('without a certificate: 401 unauthorized on the mtls route, 200 on a route without mtls-auth', async () => {
    assertRefused(await get('/mtls/x'), 'unauthorized');
    const open = upstreamSaw(await get('/open/x'));
    assert.equal(open['x-consumer-id'], undefined, 'identity headers from the client are removed on every route');
    upstreamSaw(await get('/open/x', clients.mallory));
  });

  it('requireConsumer: false lets a verified certificate in without a consumer, its CN as subject; never an unverified one', async () => {
    const h = upstreamSaw(await get('/loose/x', clients.dave));
    assert.equal(h['x-consumer-username'], undefined);
    assert.equal(h['x-authenticated-subject'], 'dave');
    assertRefused(await get('/loose/x', clients.mallory));
  });

  it('over HTTP/2, every stream of the connection is the certificate\'s consumer', async (t) => {
    const session = http2.connect(gw.url, { ca: serverCa, cert: clients.alice.cert, key: clients.alice.key });
    t.after(() => session.close());
    await within(once(session, 'connect'), 3000, 'h2 connect');
    assert.equal((session.socket as TLSSocket).alpnProtocol, 'h2');
    for (let i = 0; i < 2; i++) {
      const stream = session.request({ ':path': `/mtls/h2/${i}` });
      const [headers] = await within(once(stream, 'response'), 3000, 'response') as [http2.IncomingHttpHeaders];
      let body = '';
      stream.setEncoding('utf8');
      stream.on('data', (c: string) => (body += c));
      await once(stream, 'end');
      assert.equal(headers[':status'], 200, body);
      assert.equal(JSON.parse(body).headers['x-consumer-username'], 'alice');
    }
  });

  it('curl --cert --key --cacert (the docs example)', async (t) => {
    const run = promisify(execFile);
    try {
      await run('curl', ['--version']);
    } catch {
      if (process.env.CI === 'true') throw new Error('this test needs curl (apt-get install -y curl)');
      return t.skip('no curl');
    }
    const out = await run('curl', ['-sS', '-m', '5', '--cert', clients.alice.certPath, '--key', clients.alice.keyPath, '--cacert', serverCerts.ca, `${gw.url}/mtls/curl`]);
    assert.equal(JSON.parse(out.stdout).headers['x-consumer-username'], 'alice');
  });
});

describe('listen.tls.clientCertificates: require', () => {
  let strict: TestGateway;
  before(async () => {
    const server = serverCerts;
    strict = await startGateway({
      listen: { tls: { cert: server.cert, key: server.key, clientCertificates: 'require', clientCa: [clients.ca] } },
      upstreams: { up: { targets: [{ url: up.url }] } },
      routes: [{ name: 'open', match: { path: '/*' }, upstream: 'up' }],
    });
  });
  after(() => strict?.close());

  it('fails the handshake without a certificate, or with one the client CA did not sign', async () => {
    await assert.rejects(get('/x', undefined, strict.url));
    await assert.rejects(get('/x', clients.mallory, strict.url));
    upstreamSaw(await get('/x', clients.dave, strict.url));
  });

  it('over HTTP/2 too: no stream without a certificate, streams with one', async (t) => {
    const bare = http2.connect(strict.url, { ca: serverCa });
    bare.on('error', () => {});
    const stream = bare.request({ ':path': '/x' });
    const failed = await within(new Promise<boolean>((resolve) => {
      stream.on('error', () => resolve(true));
      stream.on('response', () => resolve(false));
      stream.on('close', () => resolve(true));
    }), 3000, 'h2 without a certificate');
    bare.destroy();
    assert.equal(failed, true);
    const session = http2.connect(strict.url, { ca: serverCa, cert: clients.dave.cert, key: clients.dave.key });
    t.after(() => session.close());
    const ok = session.request({ ':path': '/x' });
    const [headers] = await within(once(ok, 'response'), 3000, 'response') as [http2.IncomingHttpHeaders];
    ok.resume();
    assert.equal(headers[':status'], 200);
  });

  it('is refused at start without clientCa', async () => {
    const server = serverCerts;
    await assert.rejects(startGateway({
      listen: { tls: { cert: server.cert, key: server.key, clientCertificates: 'require' } },
      routes: [],
    }), /listen\.tls\.clientCa/);
  });
});
