import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignatureV4 } from '@smithy/signature-v4';
import { Hash } from '@smithy/hash-node';
import { RequestContext } from '../../src/core/context.ts';
import type { PluginHandlers } from '../../src/core/plugin.ts';
import type { AuthResult } from '../../src/identity/types.ts';
import { awsSigv4 } from '../../src/plugins/aws-sigv4/plugin.ts';
import { formatAmzDate, parseAmzDate, parseAuthorization, parseQuery, parseQueryAuth, withoutSignatureParams } from '../../src/plugins/aws-sigv4/parse.ts';
import { assertConfigError, context, create, schemaRefuses, scope } from './support.ts';

const ALICE = { accessKeyId: 'AKIDALICE0001', secretAccessKey: 'alice-secret-access-key-0001' };
const SIG = 'a'.repeat(64);
const CRED = `${ALICE.accessKeyId}/20261128/us-east-1/execute-api/aws4_request`;

describe('aws-sigv4 parsing', () => {
  it('reads the Authorization header in any component order, and refuses anything else that claims AWS', () => {
    const r = parseAuthorization(`AWS4-HMAC-SHA256 Signature=${SIG},Credential=${CRED},  SignedHeaders=host;x-amz-date`, '20261128T120000Z');
    assert.ok(r.ok);
    assert.deepEqual(r.claim, {
      form: 'header', accessKeyId: ALICE.accessKeyId, scopeDate: '20261128', region: 'us-east-1', service: 'execute-api',
      signedHeaders: ['host', 'x-amz-date'], signature: SIG, amzDate: '20261128T120000Z',
    });
    const bad = (v: string) => {
      const p = parseAuthorization(v, undefined);
      assert.ok(!p.ok, v);
      return p.reason;
    };
    assert.match(bad('AWS4-ECDSA-P256-SHA256 Credential=x'), /algorithm/);
    assert.match(bad(`AWS4-HMAC-SHA256 Credential=${CRED}, SignedHeaders=host`), /exactly/);
    assert.match(bad(`AWS4-HMAC-SHA256 Credential=${CRED}, Credential=${CRED}, SignedHeaders=host, Signature=${SIG}`), /repeats/);
    assert.match(bad(`AWS4-HMAC-SHA256 Credential=${CRED}, SignedHeaders=x-amz-date;host, Signature=${SIG}`), /sorted/);
    assert.match(bad(`AWS4-HMAC-SHA256 Credential=${CRED}, SignedHeaders=Host, Signature=${SIG}`), /SignedHeaders/);
    assert.match(bad(`AWS4-HMAC-SHA256 Credential=${CRED}, SignedHeaders=host, Signature=${SIG.toUpperCase()}`), /signature/);
    assert.match(bad(`AWS4-HMAC-SHA256 Credential=AKID/20261128/us-east-1/execute-api/aws3_request, SignedHeaders=host, Signature=${SIG}`), /scope/);
    assert.match(bad(`AWS4-HMAC-SHA256 Credential=AK_ID/20261128/us-east-1/execute-api/aws4_request, SignedHeaders=host, Signature=${SIG}`), /key id/);
  });

  it('reads the presigned form; no X-Amz-* signature parameter at all is not a claim', () => {
    assert.equal(parseQueryAuth(parseQuery('a=1&X-Amz-Date=1')!), undefined);
    const q = parseQuery(`X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=${encodeURIComponent(CRED)}&X-Amz-Date=20261128T120000Z&X-Amz-Expires=300&X-Amz-SignedHeaders=host&X-Amz-Signature=${SIG}`)!;
    const r = parseQueryAuth(q);
    assert.ok(r?.ok);
    assert.equal(r.claim.expires, 300);
    assert.equal(r.claim.form, 'query');
    q.set('X-Amz-Expires', ['0300']);
    assert.ok(parseQueryAuth(q)?.ok === false);
    q.set('X-Amz-Expires', ['1', '2']);
    assert.ok(parseQueryAuth(q)?.ok === false);
    q.delete('X-Amz-Expires');
    assert.equal((parseQueryAuth(q) as { claim: { expires?: number } }).claim.expires, undefined);
    q.set('X-Amz-Algorithm', ['AWS4-ECDSA-P256-SHA256']);
    assert.ok(parseQueryAuth(q)?.ok === false);
  });

  it('X-Amz-Date: only real instants, written exactly', () => {
    assert.equal(parseAmzDate('20261128T120000Z'), Date.UTC(2026, 10, 28, 12));
    assert.equal(formatAmzDate(Date.UTC(2026, 10, 28, 12)), '20261128T120000Z');
    for (const bad of ['20261340T120000Z', '20261128T250000Z', '20261128T120000', '2026-11-28T12:00:00Z', '']) assert.ok(Number.isNaN(parseAmzDate(bad)), bad);
  });

  it('the query: repeated names kept in order, `+` a space, bad escapes refused; signature parameters removable', () => {
    assert.deepEqual([...parseQuery('b=2&a=1&b=1&flag&x=a+b%2Bc&=v&&')!], [['b', ['2', '1']], ['a', ['1']], ['flag', ['']], ['x', ['a b+c']], ['', ['v']]]);
    assert.equal(parseQuery('a=%E0%A4%A'), undefined);
    assert.equal(withoutSignatureParams(`a=1&X-Amz-Signature=${SIG}&X-Amz-Date=x&b&X-Amz-Credential=c`), 'a=1&b');
  });
});

describe('aws-sigv4 config', () => {
  it('refuses a presigned lifetime over 7 days, and service or region names that no scope can carry', () => {
    assertConfigError(awsSigv4, { maxPresignedExpires: '169h' }, 'maxPresignedExpires', /7 days/);
    assert.ok(schemaRefuses(awsSigv4, { services: [] }));
    assert.ok(schemaRefuses(awsSigv4, { regions: ['US East'] }));
    assert.ok(schemaRefuses(awsSigv4, { requiredSignedHeaders: ['Content-Type'] }));
  });

  it('declares the presigned parameters and the session token as secrets, and a challenge in the realm', () => {
    const h = create(awsSigv4, {}, scope({ auth: { realm: 'shop' } }));
    assert.ok(h.secrets?.query?.includes('X-Amz-Signature'));
    assert.ok(h.secrets?.query?.includes('X-Amz-Credential'));
    assert.deepEqual(h.secrets?.headers, ['x-amz-security-token']);
    assert.equal(h.authenticator?.challenge, 'AWS4-HMAC-SHA256 realm="shop"');
  });

  it('leaves other schemes to other methods (absent), and claims every AWS one', async () => {
    const h = create(awsSigv4, {});
    const outcome = async (headers: Record<string, string>) => (await h.authenticator!.authenticate(context({ headers })));
    assert.deepEqual(await outcome({}), { outcome: 'absent' });
    assert.deepEqual(await outcome({ authorization: 'Bearer abc' }), { outcome: 'absent' });
    assert.equal((await outcome({ authorization: 'AWS AKID:signaturev2' })).outcome, 'invalid');
    assert.equal((await outcome({ authorization: 'AWS4-ECDSA-P256-SHA256 Credential=x' })).outcome, 'invalid');
  });
});

/**
 * Real requests on a real socket, straight into one plugin instance: the test sees the AuthResult itself (the
 * gateway answers every refusal alike, by design), so each refusal is checked for its own reason.
 */
describe('aws-sigv4 verification of real requests', () => {
  let server: http.Server;
  let port: number;
  let plugin: PluginHandlers;
  let last: { result: AuthResult; ctx: RequestContext };
  const consumers = {
    alice: { credentials: [{ type: 'aws-sigv4', ...ALICE }] },
    bob: { credentials: [{ type: 'aws-sigv4', accessKeyId: 'AKIDBOB00001', secretAccessKey: 'bob-secret-access-key-00001', revoked: true }] },
  };

  before(async () => {
    plugin = create(awsSigv4, { requiredSignedHeaders: ['x-amz-content-sha256'], allowUnsignedPayload: true }, scope({ consumers }));
    server = http.createServer((req, res) => {
      const q = req.url!.indexOf('?');
      const ctx = new RequestContext(req, req.method!, 'h', q === -1 ? req.url! : req.url!.slice(0, q), q === -1 ? '' : req.url!.slice(q + 1), 'http', '127.0.0.1', performance.now());
      Promise.resolve(plugin.authenticator!.authenticate(ctx)).then((result) => {
        last = { result, ctx };
        res.end();
      }, (err: Error) => {
        res.statusCode = 500;
        res.end(err.message);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });

  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  async function run(opts: { method?: string; path: string; headers?: Record<string, string>; body?: string; date?: Date; key?: typeof ALICE },
    tamper?: (h: Record<string, string>) => void, sendBody?: string): Promise<AuthResult> {
    const host = `127.0.0.1:${port}`;
    const [path, query] = opts.path.split('?') as [string, string | undefined];
    const signer = new SignatureV4({ credentials: opts.key ?? ALICE, region: 'us-east-1', service: 'execute-api', sha256: Hash.bind(null, 'sha256') });
    const signed = await signer.sign({
      method: opts.method ?? 'GET', protocol: 'http:', hostname: '127.0.0.1', path, body: opts.body,
      query: Object.fromEntries(new URLSearchParams(query ?? '')), headers: { host, ...opts.headers },
    } as Parameters<SignatureV4['presign']>[0], { signingDate: opts.date ?? new Date() });
    const headers = signed.headers as Record<string, string>;
    tamper?.(headers);
    await new Promise<void>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, method: opts.method ?? 'GET', path: opts.path, headers, agent: false }, (res) => {
        res.resume();
        res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`status ${res.statusCode}`))));
      });
      req.on('error', reject);
      req.end(sendBody ?? opts.body);
    });
    return last.result;
  }

  const reason = (r: AuthResult) => (r.outcome === 'invalid' ? r.reason : r.outcome);

  it('accepts a good signature, maps the key to its consumer, and hides the Authorization header upstream', async () => {
    const r = await run({ path: '/a?x=1' });
    assert.equal(r.outcome, 'success');
    assert.equal(r.outcome === 'success' && r.identity.consumer?.name, 'alice');
    assert.equal(r.outcome === 'success' && r.identity.subject, ALICE.accessKeyId);
    assert.equal(r.outcome === 'success' && r.identity.credentialId, 'alice/aws-sigv4/0');
    assert.ok(last.ctx.requestHeaders.remove?.has('authorization'));
  });

  it('gives each refusal its own reason', async () => {
    assert.equal(reason(await run({ path: '/a' }, (h) => void (h.authorization = h.authorization!.replace(/.$/, (c) => (c === '0' ? '1' : '0'))))), 'signature mismatch');
    assert.equal(reason(await run({ path: '/a', date: new Date(Date.now() - 360_000) })), 'X-Amz-Date outside the allowed clock skew');
    assert.equal(reason(await run({ path: '/a' }, (h) => void (h.authorization = h.authorization!.replace('AKIDALICE0001', 'AKIDNOBODY01')))), 'unknown access key id');
    assert.equal(reason(await run({ path: '/a', key: { accessKeyId: 'AKIDBOB00001', secretAccessKey: 'x' } })), 'access key revoked');
    assert.equal(reason(await run({ path: '/a' }, (h) => void (h.authorization = h.authorization!.replace('/us-east-1/', '/us-east-2/')))), 'signature mismatch');
    assert.equal(reason(await run({ path: '/a' }, (h) => void (h.authorization = h.authorization!.replace('/execute-api/', '/lambda/')))), 'service "lambda" not accepted');
    assert.equal(reason(await run({ path: '/a' }, (h) => void (h.authorization = h.authorization!.replace(/\/2\d{7}\//, '/20000101/')))), 'credential scope date is not the X-Amz-Date date');
    assert.equal(reason(await run({ path: '/a' }, (h) => void (h['x-amz-security-token'] = 't'))), 'session tokens (X-Amz-Security-Token) are not accepted');
    assert.equal(reason(await run({ path: '/a', headers: { 'x-amz-content-sha256': 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD' } })), 'unsupported x-amz-content-sha256 (streaming or malformed)');
    assert.equal(reason(await run({ method: 'POST', path: '/a', body: 'one' }, undefined, 'two')), 'body does not match x-amz-content-sha256');
    assert.equal(reason(await run({ path: '/a' }, (h) => void (h['x-tenant'] = 'b'))), 'success', 'an unsigned header is not covered');
    assert.equal(reason(await run({ path: '/a', headers: { 'x-tenant': 'a' } }, (h) => void (h['x-tenant'] = 'b'))), 'signature mismatch');
    assert.equal(reason(await run({ path: '/a', headers: { 'x-tenant': 'a' } }, (h) => void delete h['x-tenant'])), 'signed header x-tenant not in the request');
    assert.equal(reason(await run({ path: '/a', headers: { host: undefined as never } }, (h) => void delete h.host)), 'host not signed');
  });

  it('UNSIGNED-PAYLOAD where allowed: the body is not read (it stays a stream for the upstream)', async () => {
    const r = await run({ method: 'PUT', path: '/a', body: 'data', headers: { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' } });
    assert.equal(r.outcome, 'success');
    assert.equal(last.ctx.body, undefined);
  });
});
