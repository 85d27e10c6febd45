import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { RequestContext } from '../../src/core/context.ts';
import { keyAuth } from '../../src/plugins/key-auth/plugin.ts';
import { cookieValue, queryParam, withoutCookies, withoutParams } from '../../src/plugins/key-auth/sources.ts';
import { hashApiKey } from '../../src/identity/api-keys.ts';
import type { AuthResult, Authenticator } from '../../src/identity/types.ts';
import { assertConfigError, create, edits, schemaRefuses, scope } from './support.ts';

const SECRET = 'server-side-secret-0123456789';
const ALICE = 'exp_alice-key-0000000000000000000000000000000';
const BOB = 'exp_bob-key-hmac-000000000000000000000000000';
const OLD = 'exp_old-key-revoked-0000000000000000000000000';
const LATE = 'exp_late-key-expired-00000000000000000000000';

const consumers = {
  alice: { groups: ['staff'], credentials: [{ type: 'key-auth', id: 'alice-main', keyHash: hashApiKey(ALICE) }] },
  bob: {
    credentials: [
      { type: 'key-auth', keyHash: hashApiKey(BOB, SECRET) },
      { type: 'key-auth', id: 'bob-old', keyHash: hashApiKey(OLD), revoked: true },
      { type: 'key-auth', id: 'bob-late', keyHash: hashApiKey(LATE), expiresAt: '2020-01-01T00:00:00Z' },
    ],
  },
};
const withKeys = () => scope({ consumers, auth: { keySecret: SECRET, realm: 'shop' } });

function ctxFor({ headers = {}, query = '' }: { headers?: Record<string, string>; query?: string } = {}): RequestContext {
  const req = { headers: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v])) } as unknown as IncomingMessage;
  return new RequestContext(req, 'GET', 'gateway.test', '/things', query, 'http', '127.0.0.1', performance.now());
}

function authenticator(input: unknown = {}): Authenticator {
  return create(keyAuth, input, withKeys()).authenticator!;
}

function run(a: Authenticator, ctx: RequestContext): AuthResult {
  const r = a.authenticate(ctx);
  assert.ok(!(r instanceof Promise), 'key-auth answers synchronously');
  return r;
}

describe('key-auth', () => {
  it('accepts a SHA-256-hashed key in the apikey header as its consumer, labelled by credential id', () => {
    const r = run(authenticator(), ctxFor({ headers: { apikey: ALICE } }));
    assert.equal(r.outcome, 'success');
    assert.ok(r.outcome === 'success');
    assert.equal(r.identity.method, 'key-auth');
    assert.equal(r.identity.consumer?.name, 'alice');
    assert.equal(r.identity.subject, 'alice');
    assert.deepEqual(r.identity.consumer?.groups, ['staff']);
    assert.equal(r.identity.credentialId, 'alice-main');
  });

  it('accepts an HMAC-hashed key (auth.keySecret) in X-Api-Key; an unlabelled credential is named by position', () => {
    const r = run(authenticator(), ctxFor({ headers: { 'X-Api-Key': BOB } }));
    assert.ok(r.outcome === 'success');
    assert.equal(r.identity.consumer?.name, 'bob');
    assert.equal(r.identity.credentialId, 'bob/key-auth/0');
  });

  it('says absent without a key (and for an empty one), so another method or the anonymous consumer may apply', () => {
    const a = authenticator();
    assert.equal(run(a, ctxFor()).outcome, 'absent');
    assert.equal(run(a, ctxFor({ headers: { apikey: '' } })).outcome, 'absent');
    assert.equal(run(a, ctxFor({ headers: { authorization: 'Bearer x' } })).outcome, 'absent');
  });

  it('refuses unknown, revoked and expired keys alike (the reason is for the log only)', () => {
    const a = authenticator();
    const reasons = [ALICE + 'x', OLD, LATE, BOB.toUpperCase()].map((k) => {
      const r = run(a, ctxFor({ headers: { apikey: k } }));
      assert.equal(r.outcome, 'invalid');
      return r.outcome === 'invalid' ? r.reason : '';
    });
    assert.deepEqual(reasons, ['unknown key', 'key revoked', 'key expired', 'unknown key']);
  });

  it('checks expiry against the clock at each request, not at load', (t) => {
    const soon = new Date(Date.now() + 60_000).toISOString();
    const a = create(keyAuth, {}, scope({ consumers: { c: { credentials: [{ type: 'key-auth', keyHash: hashApiKey(ALICE), expiresAt: soon }] } } })).authenticator!;
    assert.equal(run(a, ctxFor({ headers: { apikey: ALICE } })).outcome, 'success');
    t.mock.timers.enable({ apis: ['Date'], now: Date.now() + 120_000 });
    assert.equal(run(a, ctxFor({ headers: { apikey: ALICE } })).outcome, 'invalid');
  });

  it('hides every copy of the key from the upstream once accepted, and nothing when refused', () => {
    const a = authenticator({ query: ['api_key'], cookies: ['session-key'] });
    const ok = ctxFor({ headers: { apikey: ALICE, 'x-api-key': 'other', cookie: 'a=1; session-key=zzz;b=2' }, query: 'x=%20&api_key=zzz&y' });
    assert.equal(run(a, ok).outcome, 'success');
    assert.deepEqual(edits(ok, 'requestHeaders'), { remove: ['apikey', 'x-api-key'], set: { cookie: 'a=1; b=2' }, add: [] });
    assert.equal(ok.upstreamQuery, 'x=%20&y');
    const bad = ctxFor({ headers: { apikey: 'nope' }, query: 'api_key=zzz' });
    assert.equal(run(a, bad).outcome, 'invalid');
    assert.deepEqual(edits(bad, 'requestHeaders'), { remove: [], set: {}, add: [] });
    assert.equal(bad.upstreamQuery, 'api_key=zzz');
  });

  it('leaves the key in place with hideCredentials: false', () => {
    const ctx = ctxFor({ headers: { apikey: ALICE } });
    assert.equal(run(authenticator({ hideCredentials: false }), ctx).outcome, 'success');
    assert.deepEqual(edits(ctx, 'requestHeaders'), { remove: [], set: {}, add: [] });
  });

  it('reads the key from a query parameter (percent-decoded) and strips only that parameter', () => {
    const a = authenticator({ headers: [], query: ['key', 'apikey'] });
    const ctx = ctxFor({ query: `a=1&apikey=${encodeURIComponent(ALICE)}&b=%2F` });
    assert.equal(run(a, ctx).outcome, 'success');
    assert.equal(ctx.upstreamQuery, 'a=1&b=%2F');
    assert.equal(run(a, ctxFor({ headers: { apikey: ALICE } })).outcome, 'absent');
  });

  it('reads the key from a cookie and removes the Cookie header when it was the only cookie', () => {
    const a = authenticator({ headers: [], cookies: ['k'] });
    const ctx = ctxFor({ headers: { cookie: `k="${ALICE}"` } });
    assert.equal(run(a, ctx).outcome, 'success');
    assert.deepEqual(edits(ctx, 'requestHeaders').remove, ['cookie']);
  });

  it('tries headers, then query parameters, then cookies', () => {
    const a = authenticator({ query: ['k'], cookies: ['k'] });
    const r = run(a, ctxFor({ headers: { 'x-api-key': ALICE, cookie: 'k=wrong' }, query: 'k=wrong' }));
    assert.equal(r.outcome, 'success');
    assert.equal(run(a, ctxFor({ headers: { cookie: `k=${ALICE}` }, query: 'k=wrong' })).outcome, 'invalid');
  });

  it('challenges with the realm and where the key goes, and declares its secrets for the access log', () => {
    const h = create(keyAuth, { query: ['api_key'], cookies: ['ck'] }, withKeys());
    assert.equal(h.authenticator!.challenge, 'ApiKey realm="shop", header="apikey", query="api_key", cookie="ck"');
    assert.deepEqual(h.secrets, { headers: ['apikey', 'x-api-key'], query: ['api_key'], cookies: ['ck'] });
    assert.equal(create(keyAuth, { headers: ['X-Key'] }).authenticator!.challenge, 'ApiKey realm="expeditor", header="x-key"');
  });

  it('works with no consumers at all (every key is unknown)', () => {
    const a = create(keyAuth, {}).authenticator!;
    assert.equal(run(a, ctxFor({ headers: { apikey: ALICE } })).outcome, 'invalid');
  });

  it('refuses a config that reads keys from nowhere, and bad names', () => {
    assertConfigError(keyAuth, { headers: [] }, 'headers', /at least one header, query parameter or cookie/);
    assert.ok(schemaRefuses(keyAuth, { headers: ['bad header'] }));
    assert.ok(schemaRefuses(keyAuth, { cookies: ['a;b'] }));
    assert.ok(schemaRefuses(keyAuth, { query: [''] }));
    assert.ok(schemaRefuses(keyAuth, { keyNames: ['x'] }));
  });
});

describe('key-auth sources', () => {
  it('finds a query parameter by decoded name, in the order of the names, skipping empty values', () => {
    assert.equal(queryParam('a=1&b=2&a=3', ['a']), '1');
    assert.equal(queryParam('a=1&b=2', ['b', 'a']), '2');
    assert.equal(queryParam('api%5Fkey=x+y%21', ['api_key']), 'x y!');
    assert.equal(queryParam('k=&k2=v', ['k', 'k2']), 'v');
    assert.equal(queryParam('k=%E0%A4%A', ['k']), '%E0%A4%A');
    assert.equal(queryParam('', ['k']), undefined);
  });

  it('strips parameters by decoded name and keeps the rest byte for byte', () => {
    assert.equal(withoutParams('a=%41&k=1&b&k=2&c=+', new Set(['k'])), 'a=%41&b&c=+');
    assert.equal(withoutParams('%6B=1&z=2', new Set(['k'])), 'z=2');
    assert.equal(withoutParams('k=1', new Set(['k'])), '');
    assert.equal(withoutParams('a=1', new Set(['k'])), 'a=1');
  });

  it('reads and removes cookies by name', () => {
    assert.equal(cookieValue('a=1; k=v=w; k=2', ['k']), 'v=w');
    assert.equal(cookieValue('a=1', ['k']), undefined);
    assert.equal(withoutCookies('a=1;k=2; b="3"', new Set(['k'])), 'a=1; b="3"');
    assert.equal(withoutCookies('k=2', new Set(['k'])), undefined);
  });
});
