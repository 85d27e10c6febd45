import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cors } from '../../src/plugins/cors/plugin.ts';
import { compileCorsPolicy, corsDecision, PREFLIGHT_VARY, preflightHeaders, type CorsPolicy } from '../../src/plugins/cors/policy.ts';
import { assertConfigError, configure, context, create, edits, schemaRefuses } from './support.ts';

const policy = (input: unknown): CorsPolicy => compileCorsPolicy(configure(cors, input));
const APP = 'https://app.example.com';

describe('cors: config', () => {
  it('refuses an origin that is not scheme://host[:port]', () => {
    assertConfigError(cors, { origins: [APP, 'app.example.com'] }, 'origins[1]', /is not an origin/);
    assertConfigError(cors, { origins: ['https://'] }, 'origins[0]', /is not an origin/);
  });

  it('refuses an origin that browsers would never send, suggesting the serialised one', () => {
    assertConfigError(cors, { origins: ['https://App.Example.com'] }, 'origins[0]', /did you mean "https:\/\/app\.example\.com"/);
    assertConfigError(cors, { origins: ['https://app.example.com/'] }, 'origins[0]', /did you mean "https:\/\/app\.example\.com"/);
    assertConfigError(cors, { origins: ['https://app.example.com:443'] }, 'origins[0]', /did you mean "https:\/\/app\.example\.com"/);
    assertConfigError(cors, { origins: ['https://app.example.com/path'] }, 'origins[0]', /did you mean/);
  });

  it('refuses the "null" origin', () => {
    assertConfigError(cors, { origins: ['null'] }, 'origins[0]', /sandboxed/);
  });

  it('accepts non-default ports and non-http schemes such as browser extensions', () => {
    assert.doesNotThrow(() => create(cors, { origins: ['http://localhost:3000', 'chrome-extension://abcdefghij'] }));
  });

  it('refuses an invalid regex at its path', () => {
    assertConfigError(cors, { origins: [APP, { regex: 'https://(a|b' }] }, 'origins[1].regex', /invalid regular expression/);
  });

  it('refuses "*" mixed with other origins', () => {
    assertConfigError(cors, { origins: ['*', APP] }, 'origins', /list it alone/);
  });

  it('refuses credentials with every origin, including the default origins', () => {
    assertConfigError(cors, { origins: ['*'], credentials: true }, 'credentials', /every origin/);
    assertConfigError(cors, { credentials: true }, 'credentials', /every origin/);
  });

  it('refuses "*" header wildcards with credentials, which browsers read literally', () => {
    assertConfigError(cors, { origins: [APP], credentials: true, allowHeaders: ['x-a', '*'] }, 'allowHeaders[1]', /wildcard/);
    assertConfigError(cors, { origins: [APP], credentials: true, exposeHeaders: ['*'] }, 'exposeHeaders[0]', /wildcard/);
    assert.doesNotThrow(() => create(cors, { allowHeaders: ['*'], exposeHeaders: ['*'] }));
  });

  it('refuses malformed methods and header names, negative maxAge and an empty origin list in the schema', () => {
    assert.ok(schemaRefuses(cors, { methods: ['GET POST'] }));
    assert.ok(schemaRefuses(cors, { allowHeaders: ['x a'] }));
    assert.ok(schemaRefuses(cors, { maxAge: -1 }));
    assert.ok(schemaRefuses(cors, { origins: [] }));
    assert.ok(schemaRefuses(cors, { origins: [{ regex: 'x', flags: 'i' }] }));
  });
});

describe('cors: corsDecision (Access-Control-Allow-Origin of a response)', () => {
  it('answers "*" for every request when every origin is allowed, even without Origin', () => {
    const p = policy({});
    assert.equal(corsDecision(p, 'https://anything.example'), '*');
    assert.equal(corsDecision(p, undefined), '*');
  });

  it('reflects an exact origin and refuses others, and requests without Origin', () => {
    const p = policy({ origins: [APP] });
    assert.equal(corsDecision(p, APP), APP);
    assert.equal(corsDecision(p, 'https://evil.example'), undefined);
    assert.equal(corsDecision(p, 'http://app.example.com'), undefined);
    assert.equal(corsDecision(p, 'null'), undefined);
    assert.equal(corsDecision(p, undefined), undefined);
  });

  it('matches a regex against the whole origin', () => {
    const p = policy({ origins: [{ regex: 'https://[a-z0-9-]+\\.example\\.com' }] });
    assert.equal(corsDecision(p, 'https://shop.example.com'), 'https://shop.example.com');
    assert.equal(corsDecision(p, 'https://shop.example.com.evil.net'), undefined);
    assert.equal(corsDecision(p, 'evil://x.https://shop.example.com'), undefined);
  });
});

describe('cors: preflightHeaders', () => {
  it('allows a listed origin and method with every preflight header', () => {
    const p = policy({ origins: [APP], credentials: true, maxAge: 60, methods: ['GET', 'POST'] });
    assert.deepEqual({ ...preflightHeaders(p, APP, 'POST', 'content-type,x-token') }, {
      'access-control-allow-origin': APP,
      'access-control-allow-methods': 'GET, POST',
      'access-control-allow-headers': 'content-type,x-token',
      'access-control-allow-credentials': 'true',
      'access-control-max-age': '60',
      vary: PREFLIGHT_VARY,
    });
  });

  it('answers "*" without credentials when every origin is allowed', () => {
    const h = preflightHeaders(policy({}), 'https://x.example', 'DELETE', undefined);
    assert.equal(h['access-control-allow-origin'], '*');
    assert.equal(h['access-control-allow-credentials'], undefined);
    assert.equal(h['access-control-allow-headers'], undefined);
  });

  it('refuses a disallowed origin or method with Vary only', () => {
    const p = policy({ origins: [APP], methods: ['GET'] });
    assert.deepEqual({ ...preflightHeaders(p, 'https://evil.example', 'GET', undefined) }, { vary: PREFLIGHT_VARY });
    assert.deepEqual({ ...preflightHeaders(p, APP, 'DELETE', undefined) }, { vary: PREFLIGHT_VARY });
    // Methods are case-sensitive in Fetch: `get` is not `GET`.
    assert.deepEqual({ ...preflightHeaders(p, APP, 'get', undefined) }, { vary: PREFLIGHT_VARY });
  });

  it('sends the configured allowHeaders instead of reflecting, and none for an empty list', () => {
    const p = policy({ origins: [APP], allowHeaders: ['Content-Type', 'X-Token', 'content-type'] });
    assert.equal(preflightHeaders(p, APP, 'GET', 'x-other')['access-control-allow-headers'], 'Content-Type, X-Token');
    const none = policy({ origins: [APP], allowHeaders: [] });
    assert.equal(preflightHeaders(none, APP, 'GET', 'x-other')['access-control-allow-headers'], undefined);
    assert.equal(preflightHeaders(none, APP, 'GET', 'x-other')['access-control-allow-origin'], APP);
  });

  it('refuses to reflect a malformed Access-Control-Request-Headers', () => {
    const p = policy({ origins: [APP] });
    assert.deepEqual({ ...preflightHeaders(p, APP, 'GET', 'x-a, x b') }, { vary: PREFLIGHT_VARY });
    assert.equal(preflightHeaders(p, APP, 'GET', ' x-a , x-b ')['access-control-allow-headers'], ' x-a , x-b ');
  });
});

describe('cors: handlers', () => {
  const preflight = (extra: Record<string, string> = {}) => context({
    method: 'OPTIONS',
    headers: { origin: APP, 'access-control-request-method': 'PUT', ...extra },
  });

  it('answers a preflight with 204 in rewrite and leaves the response alone', () => {
    const h = create(cors, { origins: [APP] });
    const ctx = preflight({ 'access-control-request-headers': 'x-token' });
    const reply = h.rewrite!(ctx);
    assert.ok(reply && !(reply instanceof Promise));
    assert.equal(reply.status, 204);
    assert.equal(reply.headers?.['access-control-allow-origin'], APP);
    assert.equal(reply.headers?.['access-control-allow-headers'], 'x-token');
    h.response!(ctx, 204);
    assert.ok(ctx.responseHeaders.empty);
  });

  it('answers a refused preflight with 204 and no Access-Control-Allow-* header', () => {
    const h = create(cors, { origins: [APP] });
    const reply = h.rewrite!(preflight({ origin: 'https://evil.example' }));
    assert.ok(reply && !(reply instanceof Promise));
    assert.equal(reply.status, 204);
    assert.deepEqual(Object.keys(reply.headers ?? {}), ['vary']);
  });

  it('lets OPTIONS without Origin or Access-Control-Request-Method through', () => {
    const h = create(cors, { origins: [APP] });
    assert.equal(h.rewrite!(context({ method: 'OPTIONS', headers: { origin: APP } })), undefined);
    assert.equal(h.rewrite!(context({ method: 'OPTIONS', headers: { 'access-control-request-method': 'GET' } })), undefined);
    assert.equal(h.rewrite!(context({ method: 'GET', headers: { origin: APP, 'access-control-request-method': 'GET' } })), undefined);
  });

  it('with preflightContinue, passes the preflight on and adds its headers to the backend response', () => {
    const h = create(cors, { origins: [APP], preflightContinue: true });
    const ctx = preflight();
    assert.equal(h.rewrite!(ctx), undefined);
    h.response!(ctx, 200);
    const e = edits(ctx, 'responseHeaders');
    assert.equal(e.set['access-control-allow-origin'], APP);
    assert.equal(e.set['access-control-allow-methods'], 'GET, HEAD, PUT, PATCH, POST, DELETE');
    assert.deepEqual(e.add, [`vary: ${PREFLIGHT_VARY}`]);
  });

  it('adds the allowed origin, credentials and exposed headers to an actual response, and adds (never sets) Vary', () => {
    const h = create(cors, { origins: [APP], credentials: true, exposeHeaders: ['X-Total', 'ETag'] });
    const ctx = context({ headers: { origin: APP } });
    assert.equal(h.rewrite!(ctx), undefined);
    h.response!(ctx, 200);
    assert.deepEqual(edits(ctx, 'responseHeaders'), {
      remove: [],
      set: {
        'access-control-allow-origin': APP,
        'access-control-allow-credentials': 'true',
        'access-control-expose-headers': 'X-Total, ETag',
      },
      add: ['vary: Origin'],
    });
  });

  it('adds only Vary: Origin for a disallowed or missing Origin, so caches keep answers apart', () => {
    const h = create(cors, { origins: [APP] });
    for (const headers of [{ origin: 'https://evil.example' }, {}] as Array<Record<string, string>>) {
      const ctx = context({ headers });
      h.response!(ctx, 200);
      assert.deepEqual(edits(ctx, 'responseHeaders'), { remove: [], set: {}, add: ['vary: Origin'] });
    }
  });

  it('answers "*" without Vary when every origin is allowed', () => {
    const h = create(cors, {});
    const ctx = context({ headers: { origin: APP } });
    h.response!(ctx, 500);
    assert.deepEqual(edits(ctx, 'responseHeaders'), { remove: [], set: { 'access-control-allow-origin': '*' }, add: [] });
  });
});
