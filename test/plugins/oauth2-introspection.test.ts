import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { oauth2Introspection } from '../../src/plugins/oauth2-introspection/plugin.ts';
import { AnswerCache, tokenKey, type Answer } from '../../src/plugins/oauth2-introspection/answer-cache.ts';
import { basicCredentials } from '../../src/plugins/oauth2-introspection/introspect.ts';
import type { PluginHandlers } from '../../src/core/plugin.ts';
import type { AuthResult } from '../../src/identity/types.ts';
import { assertConfigError, context, create, edits, schemaRefuses, scope } from './support.ts';

type After = { after(fn: () => Promise<void>): void };

interface Seen {
  authorization: string | undefined;
  form: URLSearchParams;
}

/** An introspection endpoint answering what the test says; it records what it was sent. */
async function startServer(t: After, answer: (form: URLSearchParams) => { status?: number; body: unknown } | 'hang') {
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    let data = '';
    req.on('data', (c: Buffer) => { data += c.toString(); });
    req.on('end', () => {
      const form = new URLSearchParams(data);
      seen.push({ authorization: req.headers.authorization, form });
      const a = answer(form);
      if (a === 'hang') return;
      const body = typeof a.body === 'string' ? a.body : JSON.stringify(a.body);
      res.writeHead(a.status ?? 200, { 'content-type': 'application/json' }).end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }));
  return { endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}/introspect`, seen };
}

const now = () => Math.floor(Date.now() / 1000);
const consumers = scope({
  consumers: {
    shop: { groups: ['partners'], credentials: [{ type: 'token', subject: 'shop-app' }] },
    alice: { credentials: [{ type: 'token', subject: 'alice', issuer: 'https://as.example.com' }] },
  },
});

function plugin(endpoint: string, extra: Record<string, unknown> = {}) {
  return { endpoint, clientId: 'gateway', clientSecret: 'gateway-secret', ...extra };
}

async function run(h: PluginHandlers, token: string | undefined): Promise<{ result: AuthResult; ctx: ReturnType<typeof context> }> {
  const ctx = context({ headers: token === undefined ? {} : { authorization: `Bearer ${token}` } });
  return { result: await h.authenticator!.authenticate(ctx), ctx };
}

function identity(r: AuthResult) {
  assert.equal(r.outcome, 'success', JSON.stringify(r));
  return (r as Extract<AuthResult, { outcome: 'success' }>).identity;
}

function assertInvalid(r: AuthResult, reason: RegExp): void {
  assert.equal(r.outcome, 'invalid', JSON.stringify(r));
  assert.match((r as { reason: string }).reason, reason);
  assert.equal((r as { challenge?: string }).challenge, 'Bearer realm="expeditor", error="invalid_token"');
}

let tokens = 0;
/** A token no other test uses (caches are shared per endpoint and settings). */
const fresh = () => `tok-${process.pid}-${++tokens}-${Math.random().toString(36).slice(2)}`;

describe('oauth2-introspection config', () => {
  it('wants an endpoint, or an issuer with discovery, and client credentials', () => {
    assert.ok(schemaRefuses(oauth2Introspection, { endpoint: 'https://as.example.com/introspect', clientId: 'gw' }));
    assert.ok(schemaRefuses(oauth2Introspection, { endpoint: 'ftp://as', clientId: 'gw', clientSecret: 's' }));
    assertConfigError(oauth2Introspection, { clientId: 'gw', clientSecret: 's' }, 'endpoint', /give the `endpoint`/);
    assertConfigError(oauth2Introspection, { endpoint: 'https://as.example.com/i', discovery: true, issuer: 'https://as.example.com', clientId: 'gw', clientSecret: 's' }, 'endpoint', /not both/);
    assertConfigError(oauth2Introspection, { discovery: true, clientId: 'gw', clientSecret: 's' }, 'issuer', /required with `discovery`/);
    assertConfigError(oauth2Introspection, { endpoint: 'https://as.example.com/i', clientId: 'gw', clientSecret: 's', tokenFrom: { authorization: false } }, 'tokenFrom', /from nowhere/);
  });

  it('form-encodes the client id and secret before Basic encoding (RFC 6749 §2.3.1)', () => {
    const header = basicCredentials('my app:1', 'p@ss/w+rd');
    assert.equal(Buffer.from(header.slice('Basic '.length), 'base64').toString(), 'my+app%3A1:p%40ss%2Fw%2Brd');
  });

  it('keys cached answers by a hash of the token, never the token', () => {
    const key = tokenKey('secret-token');
    assert.match(key, /^[A-Za-z0-9_-]{43}$/);
    assert.ok(!key.includes('secret-token'));
    assert.equal(tokenKey('secret-token'), key);
  });
});

describe('introspection answer cache', () => {
  const active = (exp?: number): Answer => ({ kind: 'active', claims: exp === undefined ? {} : { exp } });
  const clock = () => { const c = { t: 1_000_000_000, now: () => c.t }; return c; };

  it('reuses an active answer for ttl, never beyond the token\'s exp, and an inactive one for negativeTtl', async () => {
    const c = clock();
    const cache = new AnswerCache({ ttl: 30_000, negativeTtl: 5_000, maxEntries: 10 }, c.now);
    let calls = 0;
    const ask = (a: Answer) => async () => { calls++; return a; };
    await cache.get('a', ask(active()));
    await cache.get('short', ask(active(c.t / 1000 + 10)));
    await cache.get('no', ask({ kind: 'inactive' }));
    assert.equal(calls, 3);
    c.t += 4_000;
    for (const k of ['a', 'short', 'no']) await cache.get(k, ask(active()));
    assert.equal(calls, 3);
    c.t += 1_000;
    await cache.get('no', ask({ kind: 'inactive' }));
    assert.equal(calls, 4, 'negativeTtl over');
    c.t += 5_000;
    await cache.get('short', ask(active()));
    assert.equal(calls, 5, 'exp reached before ttl');
    await cache.get('a', ask(active()));
    assert.equal(calls, 5);
    c.t += 20_000;
    await cache.get('a', ask(active()));
    assert.equal(calls, 6, 'ttl over');
  });

  it('never caches unavailable answers, a rejected call, or anything when the ttl is 0', async () => {
    const cache = new AnswerCache({ ttl: 0, negativeTtl: 0, maxEntries: 10 });
    let calls = 0;
    await cache.get('a', async () => { calls++; return { kind: 'unavailable', reason: 'down' }; });
    const failed = await cache.get('a', async () => { calls++; throw new Error('boom'); });
    assert.deepEqual(failed, { kind: 'unavailable', reason: 'Error: boom' });
    await cache.get('a', async () => { calls++; return active(); });
    await cache.get('a', async () => { calls++; return { kind: 'inactive' }; });
    await cache.get('a', async () => { calls++; return active(); });
    assert.equal(calls, 5);
    assert.equal(cache.size, 0);
  });

  it('holds at most maxEntries, dropping the least recently used', async () => {
    const cache = new AnswerCache({ ttl: 60_000, negativeTtl: 60_000, maxEntries: 2 });
    let calls = 0;
    const ask = async (): Promise<Answer> => { calls++; return active(); };
    await cache.get('a', ask);
    await cache.get('b', ask);
    await cache.get('a', ask);
    await cache.get('c', ask);
    assert.equal(cache.size, 2);
    assert.equal(calls, 3);
    await cache.get('a', ask);
    assert.equal(calls, 3, 'a was used recently and stayed');
    await cache.get('b', ask);
    assert.equal(calls, 4, 'b was dropped');
  });

  it('shares one call among concurrent lookups of the same token', async () => {
    const cache = new AnswerCache({ ttl: 60_000, negativeTtl: 60_000, maxEntries: 10 });
    let calls = 0;
    let release!: (a: Answer) => void;
    const ask = () => { calls++; return new Promise<Answer>((resolve) => { release = resolve; }); };
    const all = Array.from({ length: 20 }, () => cache.get('a', ask));
    release(active());
    const answers = await Promise.all(all);
    assert.equal(calls, 1);
    assert.ok(answers.every((a) => a.kind === 'active'));
  });
});

describe('oauth2-introspection against an introspection endpoint', () => {
  it('asks with Basic client credentials, the token and its type hint; maps the consumer by client_id', async (t) => {
    const s = await startServer(t, () => ({ body: { active: true, client_id: 'shop-app', sub: 'user-1', scope: 'orders:read', exp: now() + 60 } }));
    const h = create(oauth2Introspection, plugin(s.endpoint), consumers);
    const token = fresh();
    const id = identity((await run(h, token)).result);
    assert.equal(id.method, 'oauth2-introspection');
    assert.equal(id.consumer?.name, 'shop');
    assert.equal(id.subject, 'user-1');
    assert.deepEqual(id.scopes, ['orders:read']);
    assert.equal(s.seen.length, 1);
    assert.equal(s.seen[0]!.authorization, basicCredentials('gateway', 'gateway-secret'));
    assert.equal(s.seen[0]!.form.get('token'), token);
    assert.equal(s.seen[0]!.form.get('token_type_hint'), 'access_token');
    identity((await run(h, token)).result);
    assert.equal(s.seen.length, 1, 'the second request used the cache');
  });

  it('maps by another claim and issuer; requireConsumer refuses unmapped tokens', async (t) => {
    const s = await startServer(t, () => ({ body: { active: true, client_id: 'spa', sub: 'alice', iss: 'https://as.example.com' } }));
    const bySub = create(oauth2Introspection, plugin(s.endpoint, { consumerClaim: 'sub', issuer: 'https://as.example.com', tokenTypeHint: '' }), consumers);
    assert.equal(identity((await run(bySub, fresh())).result).consumer?.name, 'alice');
    assert.equal(s.seen[0]!.form.has('token_type_hint'), false);
    const strict = create(oauth2Introspection, plugin(s.endpoint, { requireConsumer: true, ttl: 0 }), consumers);
    assertInvalid((await run(strict, fresh())).result, /maps to no consumer/);
  });

  it('refuses inactive tokens, another issuer\'s, another audience\'s, and sender-constrained ones', async (t) => {
    const answers: Record<string, unknown> = {
      inactive: { active: false },
      truthy: { active: 'true', client_id: 'shop-app' },
      iss: { active: true, iss: 'https://evil.example.com' },
      aud: { active: true, aud: ['https://billing.example.com'] },
      cnf: { active: true, aud: 'https://orders.example.com', cnf: { jkt: 'x' } },
      jwt: 'unsupported',
    };
    const s = await startServer(t, (form) => {
      const a = answers[form.get('token')!.split('.')[0]!];
      return a === 'unsupported' ? { status: 400, body: { error: 'unsupported_token_type' } } : { body: a };
    });
    const h = create(oauth2Introspection, plugin(s.endpoint, { issuer: 'https://as.example.com', audiences: ['https://orders.example.com'] }));
    assertInvalid((await run(h, `inactive.${fresh()}`)).result, /not active/);
    assertInvalid((await run(h, `truthy.${fresh()}`)).result, /not active/);
    assertInvalid((await run(h, `iss.${fresh()}`)).result, /issuer/);
    assertInvalid((await run(h, `aud.${fresh()}`)).result, /audience/);
    assertInvalid((await run(h, `cnf.${fresh()}`)).result, /sender-constrained/);
    assertInvalid((await run(h, `jwt.${fresh()}`)).result, /not active/);
  });

  it('is unavailable (never invalid) when the server fails, answers nonsense or times out, and does not cache that', async (t) => {
    let mode = 'error';
    const s = await startServer(t, () => mode === 'hang' ? 'hang' : mode === 'error' ? { status: 500, body: { error: 'server_error' } }
      : mode === 'html' ? { body: '<html>' } : mode === 'bad-request' ? { status: 400, body: { error: 'invalid_client' } } : { body: { active: true } });
    const h = create(oauth2Introspection, plugin(s.endpoint, { timeout: '200ms' }));
    const token = fresh();
    for (const m of ['error', 'html', 'bad-request', 'hang']) {
      mode = m;
      const r = (await run(h, token)).result;
      assert.equal(r.outcome, 'unavailable', `${m}: ${JSON.stringify(r)}`);
    }
    mode = 'ok';
    identity((await run(h, token)).result);
    assert.equal(s.seen.length, 5);
  });

  it('is absent without a bearer token; reads and hides a cookie token when configured', async (t) => {
    const s = await startServer(t, () => ({ body: { active: true, client_id: 'shop-app' } }));
    const h = create(oauth2Introspection, plugin(s.endpoint, { tokenFrom: { cookie: 'session' }, hideCredentials: true }), consumers);
    assert.equal((await run(h, undefined)).result.outcome, 'absent');
    assert.deepEqual(h.secrets, { cookies: ['session'] });
    const ctx = context({ headers: { cookie: `session=${fresh()}` } });
    identity(await h.authenticator!.authenticate(ctx));
    assert.deepEqual(edits(ctx, 'requestHeaders').remove, ['cookie']);
  });
});
