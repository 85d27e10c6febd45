import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { RequestContext } from '../../src/core/context.ts';
import { hmacAuth } from '../../src/plugins/hmac-auth/plugin.ts';
import { parseDigest, parseParams, signingString } from '../../src/plugins/hmac-auth/signature.ts';
import type { AuthResult } from '../../src/identity/types.ts';
import { create, edits, schemaRefuses, scope } from './support.ts';

const SECRET = 'alice-shared-secret-0123456789';
const consumers = {
  alice: { groups: ['partners'], credentials: [{ type: 'hmac-auth', id: 'alice-hmac', username: 'alice', secret: SECRET }] },
  gone: { credentials: [{ type: 'hmac-auth', username: 'gone', secret: 'gone-shared-secret-0123456789', revoked: true }] },
  late: { credentials: [{ type: 'hmac-auth', username: 'late', secret: 'late-shared-secret-0123456789', expiresAt: '2020-01-01T00:00:00Z' }] },
};

interface Req { method?: string; target?: string; headers?: Record<string, string>; body?: string }

function ctxFor({ method = 'GET', target = '/things?a=1', headers = {}, body }: Req): RequestContext {
  const req = { headers, url: target, httpVersion: '1.1', httpVersionMajor: 1 } as unknown as IncomingMessage;
  const q = target.indexOf('?');
  const ctx = new RequestContext(req, method, 'gateway.test', q === -1 ? target : target.slice(0, q), q === -1 ? '' : target.slice(q + 1), 'http', '127.0.0.1', performance.now());
  if (body !== undefined) ctx.body = (async function* () { yield Buffer.from(body); })();
  return ctx;
}

/** Signs as a client following docs/authentication.md would. */
function signed(r: Req & { user?: string; secret?: string; algorithm?: string; sign?: string[] }): RequestContext {
  const { method = 'GET', target = '/things?a=1', user = 'alice', secret = SECRET, algorithm = 'hmac-sha256', sign = ['date', 'request-line'] } = r;
  const headers: Record<string, string> = { date: new Date().toUTCString(), ...r.headers };
  if (r.body !== undefined) {
    headers['content-length'] = String(Buffer.byteLength(r.body));
    headers.digest ??= `SHA-256=${createHash('sha256').update(r.body).digest('base64')}`;
  }
  const text = sign.map((h) => h === 'request-line' ? `${method} ${target} HTTP/1.1` : h === '(request-target)' ? `(request-target): ${method.toLowerCase()} ${target}` : `${h}: ${headers[h]}`).join('\n');
  const signature = createHmac(algorithm.slice(5), secret).update(text).digest('base64');
  headers.authorization = `hmac username="${user}", algorithm="${algorithm}", headers="${sign.join(' ')}", signature="${signature}"`;
  return ctxFor({ ...r, headers });
}

const plugin = (config: unknown = {}) => create(hmacAuth, config, scope({ consumers, auth: { realm: 'api' } }));
const run = async (ctx: RequestContext, config: unknown = {}): Promise<AuthResult> => plugin(config).authenticator!.authenticate(ctx);
const reason = (r: AuthResult) => (r.outcome === 'invalid' ? r.reason : r.outcome);

describe('hmac-auth', () => {
  it('accepts a request signed over date and request-line, as its consumer', async () => {
    const r = await run(signed({}));
    assert.ok(r.outcome === 'success', reason(r));
    assert.equal(r.identity.method, 'hmac-auth');
    assert.equal(r.identity.consumer?.name, 'alice');
    assert.equal(r.identity.subject, 'alice');
    assert.equal(r.identity.credentialId, 'alice-hmac');
  });

  it('accepts hmac-sha384 and hmac-sha512, x-date instead of date, and (request-target)', async () => {
    assert.equal(reason(await run(signed({ algorithm: 'hmac-sha384' }))), 'success');
    assert.equal(reason(await run(signed({ algorithm: 'hmac-sha512', sign: ['x-date', '(request-target)'], headers: { 'x-date': new Date().toUTCString() } }))), 'success');
  });

  it('accepts the draft-cavage forms: Authorization: Signature keyId=… and the Signature header', async () => {
    for (const form of ['authorization', 'signature'] as const) {
      const ctx = signed({});
      const params = ctx.req.headers.authorization!.replace(/^hmac username=/, 'keyId=');
      if (form === 'authorization') ctx.req.headers.authorization = `Signature ${params}`;
      else { delete ctx.req.headers.authorization; (ctx.req.headers as Record<string, string>).signature = params; }
      const r = await run(ctx);
      assert.equal(reason(r), 'success', form);
      assert.deepEqual(edits(ctx, 'requestHeaders').remove, [form]);
    }
  });

  it('is absent without a signature (or with another scheme)', async () => {
    assert.equal(reason(await run(ctxFor({}))), 'absent');
    assert.equal(reason(await run(ctxFor({ headers: { authorization: 'Basic YTpi' } }))), 'absent');
  });

  it('refuses tampered requests: method, path, query, signed header value, signature', async () => {
    const tamper = async (change: (ctx: RequestContext) => RequestContext) => reason(await run(change(signed({}))));
    const variant = (ctx: RequestContext, r: Req) => ctxFor({ method: ctx.method, target: ctx.req.url, headers: { ...ctx.req.headers } as Record<string, string>, ...r });
    assert.equal(await tamper((c) => variant(c, { method: 'DELETE' })), 'signature mismatch');
    assert.equal(await tamper((c) => variant(c, { target: '/things/../admin?a=1' })), 'signature mismatch');
    assert.equal(await tamper((c) => variant(c, { target: '/things?a=2' })), 'signature mismatch');
    assert.equal(await tamper((c) => variant(c, { headers: { ...c.req.headers as Record<string, string>, date: new Date(Date.now() - 1000).toUTCString() } })), 'signature mismatch');
    assert.equal(await tamper((c) => variant(c, { headers: { ...c.req.headers as Record<string, string>, authorization: c.req.headers.authorization!.replace(/signature="./, 'signature="A') } })), 'signature mismatch');
  });

  it('refuses a stale or future Date, one that is not a date, and a request without a signed date', async () => {
    const old = new Date(Date.now() - 301_000).toUTCString();
    assert.equal(reason(await run(signed({ headers: { date: old } }))), 'date outside the allowed clock skew');
    assert.equal(reason(await run(signed({ headers: { date: new Date(Date.now() + 301_000).toUTCString() } }))), 'date outside the allowed clock skew');
    assert.equal(reason(await run(signed({ headers: { date: old } }), { clockSkew: '10m' })), 'success');
    assert.equal(reason(await run(signed({ headers: { date: 'yesterday' } }))), 'date is not a date');
    assert.equal(reason(await run(signed({ sign: ['request-line'] }))), 'neither date nor x-date is signed');
  });

  it('refuses unknown users, revoked and expired credentials, algorithms not allowed and missing signed headers', async () => {
    assert.equal(reason(await run(signed({ user: 'bob' }))), 'unknown user');
    assert.equal(reason(await run(signed({ user: 'gone', secret: 'gone-shared-secret-0123456789' }))), 'credential revoked');
    assert.equal(reason(await run(signed({ user: 'late', secret: 'late-shared-secret-0123456789' }))), 'credential expired');
    assert.equal(reason(await run(signed({}), { algorithms: ['hmac-sha512'] })), 'algorithm "hmac-sha256" not allowed');
    assert.equal(reason(await run(signed({ sign: ['date', 'x-custom'] }))), 'signed header "x-custom" is missing');
    assert.equal(reason(await run(signed({ sign: ['date'] }), { enforceHeaders: ['request-line'] })), '"request-line" is not signed');
    assert.equal(reason(await run(ctxFor({ headers: { authorization: 'hmac username="alice"' } }))), 'malformed signature parameters');
  });

  it('checks the body against a signed SHA-256 Digest', async () => {
    const sign = ['date', 'request-line', 'digest'];
    assert.equal(reason(await run(signed({ method: 'POST', body: '{"n":1}', sign }))), 'success');
    assert.equal(reason(await run(signed({ method: 'POST', body: '{"n":2}', sign, headers: { digest: `SHA-256=${createHash('sha256').update('{"n":1}').digest('base64')}` } }))), 'digest does not match the body');
    assert.equal(reason(await run(signed({ method: 'POST', body: '{"n":1}' }))), 'digest is not signed');
    const noDigest = signed({ method: 'POST', body: 'x' });
    delete noDigest.req.headers.digest;
    assert.equal(reason(await run(noDigest)), 'body without a Digest header');
    assert.equal(reason(await run(signed({ method: 'POST', body: 'x', sign, headers: { digest: `MD5=${createHash('md5').update('x').digest('base64')}` } }))), 'no SHA-256 or SHA-512 value in the Digest header');
    assert.equal(reason(await run(signed({ method: 'POST', body: 'x', sign, headers: { digest: `SHA-512=${createHash('sha512').update('x').digest('base64')}` } }))), 'success');
    assert.equal(reason(await run(signed({ method: 'POST', body: 'x' }), { validateDigest: false })), 'success');
  });

  it('hides the Authorization header once accepted, unless hideCredentials is false, and challenges with the realm', async () => {
    const ctx = signed({});
    await run(ctx);
    assert.deepEqual(edits(ctx, 'requestHeaders').remove, ['authorization']);
    const kept = signed({});
    await run(kept, { hideCredentials: false });
    assert.deepEqual(edits(kept, 'requestHeaders').remove, []);
    assert.equal(plugin({ algorithms: ['hmac-sha512'] }).authenticator!.challenge, 'hmac realm="api", algorithms="hmac-sha512"');
    assert.deepEqual(plugin().secrets, { headers: ['signature'] });
  });

  it('refuses unknown algorithms and bad header names in its config', () => {
    assert.ok(schemaRefuses(hmacAuth, { algorithms: ['hmac-sha1'] }));
    assert.ok(schemaRefuses(hmacAuth, { algorithms: [] }));
    assert.ok(schemaRefuses(hmacAuth, { enforceHeaders: ['Bad Header'] }));
    assert.ok(schemaRefuses(hmacAuth, { clockSkew: 'soon' }));
  });
});

describe('hmac-auth signature parts', () => {
  it('parses auth-params, quoted (with escapes) or not, and refuses repeated or malformed ones', () => {
    assert.deepEqual([...parseParams('username="a b", algorithm=hmac-sha256 ,signature="x\\"y="')!], [['username', 'a b'], ['algorithm', 'hmac-sha256'], ['signature', 'x"y=']]);
    assert.equal(parseParams('a="1", a="2"'), undefined);
    assert.equal(parseParams('a="1" b="2"'), undefined);
    assert.equal(parseParams('="1"'), undefined);
  });

  it('builds the signing string from the raw target and header values', () => {
    const ctx = ctxFor({ method: 'PUT', target: '/a%2Fb?x=1&y', headers: { date: 'D', 'x-one': 'v' } });
    assert.equal(signingString(ctx, ['request-line', 'date', 'x-one', '(request-target)', '@request-target']),
      'PUT /a%2Fb?x=1&y HTTP/1.1\ndate: D\nx-one: v\n(request-target): put /a%2Fb?x=1&y\n@request-target: put /a%2Fb?x=1&y');
    assert.deepEqual(signingString(ctx, ['date', 'x-two']), { missing: 'x-two' });
  });

  it('reads the SHA-256 and SHA-512 entries of a Digest header', () => {
    const d = parseDigest('UNIXsum=30637, SHA-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=')!;
    assert.equal(d.length, 1);
    assert.equal(d[0]![0], 'sha256');
    assert.equal(parseDigest('md5=abc'), undefined);
    assert.equal(parseDigest('SHA-256=not base64!'), undefined);
  });
});
