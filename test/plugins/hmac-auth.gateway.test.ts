import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { createHash, createHmac } from 'node:crypto';
import { simpleConfig, startGateway, startUpstream } from '../helpers/gateway.ts';

const SECRET = 'partner-shared-secret-0123456789';

interface Response { status: number; headers: http.IncomingHttpHeaders; json: Record<string, unknown> & { code?: string; body?: string; url?: string; method?: string; headers?: Record<string, string> } }

/** Sends a request exactly as given (method, raw target, headers, body) over HTTP/1.1. */
function send(base: string, method: string, target: string, headers: Record<string, string>, body?: string): Promise<Response> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${base}${target}`, { method, headers, path: target, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, json: JSON.parse(Buffer.concat(chunks).toString() || '{}') }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

interface Signing { method?: string; target?: string; body?: string; date?: Date; sign?: string[]; secret?: string; user?: string; algorithm?: string; extra?: Record<string, string> }

/** Headers a client following docs/authentication.md sends: Date, Digest for a body, and the signature over them. */
function signHeaders({ method = 'GET', target = '/orders?page=2', body, date = new Date(), sign, secret = SECRET, user = 'acme', algorithm = 'hmac-sha256', extra = {} }: Signing): Record<string, string> {
  const headers: Record<string, string> = { date: date.toUTCString(), ...extra };
  if (body !== undefined) headers.digest = `SHA-256=${createHash('sha256').update(body).digest('base64')}`;
  const names = sign ?? (body !== undefined ? ['date', 'request-line', 'digest'] : ['date', 'request-line']);
  const text = names.map((h) => (h === 'request-line' ? `${method} ${target} HTTP/1.1` : `${h}: ${headers[h]}`)).join('\n');
  const signature = createHmac(algorithm.replace('hmac-', ''), secret).update(text).digest('base64');
  headers.authorization = `hmac username="${user}", algorithm="${algorithm}", headers="${names.join(' ')}", signature="${signature}"`;
  return headers;
}

async function setup(t: { after(fn: () => Promise<void>): void }, plugin: Record<string, unknown> = {}) {
  const up = await startUpstream();
  t.after(() => up.close());
  const gw = await startGateway(simpleConfig(up.url, [{ name: 'api', match: { path: '/*' }, plugins: { 'hmac-auth': plugin } }], {
    consumers: {
      acme: { groups: ['partners'], credentials: [{ type: 'hmac-auth', username: 'acme', secret: SECRET }] },
      former: { credentials: [{ type: 'hmac-auth', username: 'former', secret: 'former-shared-secret-0123456', revoked: true }] },
    },
  }));
  t.after(() => gw.close());
  return { up, gw };
}

describe('hmac-auth through a gateway', () => {
  it('lets a correctly signed GET through with identity headers and without the signature', async (t) => {
    const { gw } = await setup(t, { enforceHeaders: ['request-line'] });
    const r = await send(gw.url, 'GET', '/orders?page=2', signHeaders({}));
    assert.equal(r.status, 200);
    assert.equal(r.json.url, '/orders?page=2');
    assert.equal(r.json.headers!['x-consumer-username'], 'acme');
    assert.equal(r.json.headers!['x-consumer-groups'], 'partners');
    assert.equal(r.json.headers!.authorization, undefined);
  });

  it('lets a signed POST through with its Digest, and forwards the body unchanged', async (t) => {
    const { gw } = await setup(t);
    const body = JSON.stringify({ item: 'espresso', qty: 2 });
    const r = await send(gw.url, 'POST', '/orders', { ...signHeaders({ method: 'POST', target: '/orders', body }), 'content-type': 'application/json' }, body);
    assert.equal(r.status, 200);
    assert.equal(r.json.body, body);
    assert.equal(r.json.method, 'POST');
  });

  it('refuses a tampered method, path, query, body or Date with 401 invalid_credentials, before the upstream', async (t) => {
    const { up, gw } = await setup(t);
    const body = '{"qty":1}';
    const post = signHeaders({ method: 'POST', target: '/orders', body });
    const cases: Array<[string, Promise<Response>]> = [
      ['method', send(gw.url, 'DELETE', '/orders?page=2', signHeaders({}))],
      ['path', send(gw.url, 'GET', '/admin?page=2', signHeaders({}))],
      ['query', send(gw.url, 'GET', '/orders?page=3', signHeaders({}))],
      ['body', send(gw.url, 'POST', '/orders', post, '{"qty":9}')],
      ['date', send(gw.url, 'GET', '/orders?page=2', { ...signHeaders({}), date: new Date(Date.now() + 2000).toUTCString() })],
    ];
    for (const [what, pending] of cases) {
      const r = await pending;
      assert.equal(r.status, 401, what);
      assert.equal(r.json.code, 'invalid_credentials', what);
      assert.equal(r.headers['www-authenticate'], 'hmac realm="expeditor", algorithms="hmac-sha256 hmac-sha384 hmac-sha512"');
    }
    assert.equal(up.requests.length, 0);
  });

  it('refuses a stale Date, a Digest that does not match the body, an unsigned Digest and a revoked credential', async (t) => {
    const { up, gw } = await setup(t);
    const stale = await send(gw.url, 'GET', '/orders?page=2', signHeaders({ date: new Date(Date.now() - 10 * 60_000) }));
    assert.equal(stale.status, 401);
    const body = 'abc';
    const wrongDigest = signHeaders({ method: 'PUT', target: '/orders', body: 'abd' });
    assert.equal((await send(gw.url, 'PUT', '/orders', wrongDigest, body)).status, 401);
    const unsigned = signHeaders({ method: 'PUT', target: '/orders', body, sign: ['date', 'request-line'] });
    assert.equal((await send(gw.url, 'PUT', '/orders', unsigned, body)).status, 401);
    const noDigest = signHeaders({ method: 'PUT', target: '/orders', sign: ['date', 'request-line'] });
    assert.equal((await send(gw.url, 'PUT', '/orders', noDigest, body)).status, 401);
    const revoked = await send(gw.url, 'GET', '/orders?page=2', signHeaders({ user: 'former', secret: 'former-shared-secret-0123456' }));
    assert.equal(revoked.status, 401);
    assert.equal(revoked.json.code, 'invalid_credentials');
    assert.equal(up.requests.length, 0);
  });

  it('answers 401 unauthorized with its challenge when the request is not signed', async (t) => {
    const { gw } = await setup(t, { algorithms: ['hmac-sha512'] });
    const r = await send(gw.url, 'GET', '/orders', {});
    assert.equal(r.status, 401);
    assert.equal(r.json.code, 'unauthorized');
    assert.equal(r.headers['www-authenticate'], 'hmac realm="expeditor", algorithms="hmac-sha512"');
    const ok = await send(gw.url, 'GET', '/orders?page=2', signHeaders({ algorithm: 'hmac-sha512' }));
    assert.equal(ok.status, 200);
  });

  it('requires the headers in enforceHeaders to be signed', async (t) => {
    const { gw } = await setup(t, { enforceHeaders: ['request-line', 'x-tenant'] });
    const missing = await send(gw.url, 'GET', '/orders?page=2', signHeaders({ extra: { 'x-tenant': 't1' } }));
    assert.equal(missing.status, 401);
    const ok = await send(gw.url, 'GET', '/orders?page=2', signHeaders({ extra: { 'x-tenant': 't1' }, sign: ['date', 'request-line', 'x-tenant'] }));
    assert.equal(ok.status, 200);
  });

  it('never forwards client-sent identity headers', async (t) => {
    const { gw } = await setup(t);
    const r = await send(gw.url, 'GET', '/orders?page=2', { ...signHeaders({}), 'x-consumer-username': 'root', 'x-consumer-groups': 'admins' });
    assert.equal(r.json.headers!['x-consumer-username'], 'acme');
    assert.equal(r.json.headers!['x-consumer-groups'], 'partners');
  });
});
