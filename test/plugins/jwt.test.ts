import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, jwtVerify, type JWTPayload } from 'jose';
import { jwt } from '../../src/plugins/jwt/plugin.ts';
import { JwksCache } from '../../src/plugins/jwt/jwks-cache.ts';
import type { PluginHandlers } from '../../src/core/plugin.ts';
import type { AuthResult } from '../../src/identity/types.ts';
import { assertConfigError, context, create, edits, schemaRefuses, scope } from './support.ts';

const SECRET = 'a-secret-of-thirty-two-bytes-0123456789';
const ISS = 'https://id.example.com';
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const ed = generateKeyPairSync('ed25519');
const pem = (k: KeyObject) => k.export({ type: 'spki', format: 'pem' }) as string;
const now = () => Math.floor(Date.now() / 1000);

async function sign(key: KeyObject | Uint8Array, alg: string, claims: JWTPayload = {}, header: Record<string, unknown> = {}): Promise<string> {
  return new SignJWT({ iss: ISS, sub: 'shop-client', exp: now() + 300, iat: now(), ...claims })
    .setProtectedHeader({ alg, ...header })
    .sign(key);
}
const hs = (claims: JWTPayload = {}, header: Record<string, unknown> = {}) => sign(new TextEncoder().encode(SECRET), 'HS256', claims, header);

function hsIssuer(extra: Record<string, unknown> = {}) {
  return { issuer: ISS, keys: [{ secret: SECRET }], algorithms: ['HS256'], ...extra };
}

async function run(h: PluginHandlers, headers: Record<string, string>, query = ''): Promise<{ result: AuthResult; ctx: ReturnType<typeof context> }> {
  const ctx = context({ headers });
  if (query !== '') Object.assign(ctx, { query, upstreamQuery: query });
  return { result: await h.authenticator!.authenticate(ctx), ctx };
}
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

function assertInvalid(r: AuthResult, reason: RegExp): void {
  assert.equal(r.outcome, 'invalid', JSON.stringify(r));
  assert.match((r as { reason: string }).reason, reason);
  assert.equal((r as { challenge?: string }).challenge, 'Bearer realm="expeditor", error="invalid_token"');
}

function identity(r: AuthResult) {
  assert.equal(r.outcome, 'success', JSON.stringify(r));
  return (r as Extract<AuthResult, { outcome: 'success' }>).identity;
}

const consumers = {
  consumers: {
    shop: { groups: ['partners'], credentials: [{ type: 'token', subject: 'shop-client' }] },
    bound: { credentials: [{ type: 'token', subject: 'bound-client', issuer: 'https://other.example.com' }] },
    gone: { credentials: [{ type: 'token', subject: 'gone-client', revoked: true }] },
  },
};

describe('jwt config', () => {
  it('never accepts the "none" algorithm, nor an empty algorithm list', () => {
    assert.ok(schemaRefuses(jwt, { issuers: [{ ...hsIssuer(), algorithms: ['none'] }] }));
    assert.ok(schemaRefuses(jwt, { issuers: [{ ...hsIssuer(), algorithms: [] }] }));
    assert.ok(schemaRefuses(jwt, { issuers: [] }));
  });

  it('refuses HMAC algorithms with a JWKS: its public keys must never serve as HMAC secrets', () => {
    assertConfigError(jwt, { issuers: [{ issuer: ISS, jwksUri: `${ISS}/jwks`, algorithms: ['RS256', 'HS256'] }] }, 'issuers[0].algorithms', /HS256 needs an inline `secret`/);
    assertConfigError(jwt, { issuers: [{ issuer: ISS, discovery: true, algorithms: ['HS512'] }] }, 'issuers[0].algorithms', /HS512/);
  });

  it('binds algorithms to key types: HS* to secrets, RS/PS/ES/EdDSA to public keys of that type', () => {
    assertConfigError(jwt, { issuers: [{ issuer: ISS, keys: [{ publicKey: pem(rsa.publicKey) }], algorithms: ['RS256', 'HS256'] }] }, 'issuers[0].keys', /HS256 is allowed but no `secret`/);
    assertConfigError(jwt, { issuers: [{ issuer: ISS, keys: [{ secret: SECRET }], algorithms: ['RS256'] }] }, 'issuers[0].keys[0].secret', /needs an HS256/);
    assertConfigError(jwt, { issuers: [{ issuer: ISS, keys: [{ publicKey: pem(rsa.publicKey) }], algorithms: ['ES256'] }] }, 'issuers[0].keys[0]', /rsa key fits none/);
    assertConfigError(jwt, { issuers: [{ issuer: ISS, keys: [{ publicKey: pem(ec.publicKey) }], algorithms: ['ES384'] }] }, 'issuers[0].keys[0]', /EC prime256v1 key fits none/);
    assertConfigError(jwt, { issuers: [{ issuer: ISS, keys: [{ secret: SECRET }], algorithms: ['HS256', 'RS256'] }] }, 'issuers[0].keys', /RS256 is allowed but no public key fits it/);
  });

  it('refuses short HMAC secrets (RFC 7518 §3.2), private keys and unreadable keys', () => {
    assertConfigError(jwt, { issuers: [{ issuer: ISS, keys: [{ secret: 'short' }], algorithms: ['HS256'] }] }, 'issuers[0].keys[0].secret', /5 bytes: HS256 needs at least 32/);
    assertConfigError(jwt, { issuers: [{ issuer: ISS, keys: [{ secret: SECRET }], algorithms: ['HS512'] }] }, 'issuers[0].keys[0].secret', /HS512 needs at least 64/);
    const privatePem = ec.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    assertConfigError(jwt, { issuers: [{ issuer: ISS, keys: [{ publicKey: privatePem }], algorithms: ['ES256'] }] }, 'issuers[0].keys[0].publicKey', /private key/);
    const privateJwk = ec.privateKey.export({ format: 'jwk' });
    assertConfigError(jwt, { issuers: [{ issuer: ISS, keys: [{ jwk: privateJwk }], algorithms: ['ES256'] }] }, 'issuers[0].keys[0].jwk', /private key/);
    assertConfigError(jwt, { issuers: [{ issuer: ISS, keys: [{ publicKey: 'not a key' }], algorithms: ['ES256'] }] }, 'issuers[0].keys[0].publicKey', /not a usable public key/);
    assertConfigError(jwt, { issuers: [{ issuer: ISS, keys: [{ secret: SECRET, publicKey: pem(ec.publicKey) }], algorithms: ['ES256', 'HS256'] }] }, 'issuers[0].keys[0]', /exactly one of/);
  });

  it('wants exactly one key source, an issuer for remote keys, and distinct issuers', () => {
    assertConfigError(jwt, { issuers: [{ issuer: ISS, algorithms: ['RS256'] }] }, 'issuers[0]', /exactly one key source/);
    assertConfigError(jwt, { issuers: [{ issuer: ISS, jwksUri: `${ISS}/jwks`, discovery: true, algorithms: ['RS256'] }] }, 'issuers[0]', /exactly one key source/);
    assertConfigError(jwt, { issuers: [{ jwksUri: `${ISS}/jwks`, algorithms: ['RS256'] }] }, 'issuers[0].issuer', /required/);
    assertConfigError(jwt, { issuers: [hsIssuer(), hsIssuer()] }, 'issuers[1].issuer', /listed twice/);
    assertConfigError(jwt, { issuers: [hsIssuer({ issuer: undefined }), hsIssuer({ issuer: undefined })] }, 'issuers[1].issuer', /only one entry/);
    assertConfigError(jwt, { issuers: [hsIssuer()], tokenFrom: { authorization: false } }, 'tokenFrom', /from nowhere/);
    assertConfigError(jwt, { issuers: [hsIssuer()], jwks: { minTtl: '2h', maxTtl: '1h' } }, 'jwks.minTtl', /longer than/);
  });

  it('does not fetch anything when a config is built', () => {
    create(jwt, { issuers: [{ issuer: 'http://127.0.0.1:1', jwksUri: 'http://127.0.0.1:1/never', algorithms: ['RS256'] }] });
    const settings = { defaultTtl: 300_000, minTtl: 30_000, maxTtl: 86_400_000, timeout: 5000, refreshInterval: 30_000, retryMax: 30_000 };
    assert.equal(JwksCache.shared('http://127.0.0.1:1/never', settings).document.fetches, 0);
  });
});

describe('jwt with inline keys', () => {
  it('accepts an HS256 token: subject, scopes from scope and scp, claims, and the mapped consumer', async () => {
    const h = create(jwt, { issuers: [hsIssuer()] }, scope(consumers));
    const { result } = await run(h, bearer(await hs({ scope: 'orders:read orders:write', scp: ['admin'] })));
    const id = identity(result);
    assert.equal(id.method, 'jwt');
    assert.equal(id.subject, 'shop-client');
    assert.deepEqual(id.scopes, ['orders:read', 'orders:write', 'admin']);
    assert.equal(id.consumer?.name, 'shop');
    assert.equal(id.claims?.iss, ISS);
  });

  it('accepts ES256 (PEM) and EdDSA (JWK) tokens', async () => {
    const h = create(jwt, {
      issuers: [
        { issuer: ISS, keys: [{ publicKey: pem(ec.publicKey) }], algorithms: ['ES256'] },
        { issuer: 'https://ed.example.com', keys: [{ jwk: ed.publicKey.export({ format: 'jwk' }) }], algorithms: ['EdDSA'] },
      ],
    });
    assert.equal(identity((await run(h, bearer(await sign(ec.privateKey, 'ES256')))).result).subject, 'shop-client');
    const edToken = await sign(ed.privateKey, 'EdDSA', { iss: 'https://ed.example.com' });
    assert.equal(identity((await run(h, bearer(edToken))).result).claims?.iss, 'https://ed.example.com');
  });

  it('tries every configured secret (a secret rotation), but only keys with the token\'s kid when both name one', async () => {
    const h = create(jwt, { issuers: [{ issuer: ISS, keys: [{ secret: 'the-old-secret-of-thirty-two-bytes!!' }, { secret: SECRET, kid: 'k2' }], algorithms: ['HS256'] }] });
    identity((await run(h, bearer(await hs()))).result);
    identity((await run(h, bearer(await hs({}, { kid: 'k2' })))).result);
    assertInvalid((await run(h, bearer(await hs({}, { kid: 'k9' })))).result, /signature verification failed/);
  });

  it('refuses an RS256 public key used as the HMAC secret of an HS256 token (algorithm confusion)', async () => {
    const publicPem = pem(rsa.publicKey);
    const h = create(jwt, { issuers: [{ issuer: ISS, keys: [{ publicKey: publicPem }, { secret: SECRET }], algorithms: ['RS256', 'HS256'] }] });
    const forged = await sign(new TextEncoder().encode(publicPem), 'HS256');
    assertInvalid((await run(h, bearer(forged))).result, /signature verification failed/);
    // jose itself refuses a public key for an HMAC algorithm, whatever the caller passes.
    await assert.rejects(jwtVerify(forged, rsa.publicKey, { algorithms: ['HS256'] }), TypeError);
    const onlyRs = create(jwt, { issuers: [{ issuer: ISS, keys: [{ publicKey: publicPem }], algorithms: ['RS256'] }] });
    assertInvalid((await run(onlyRs, bearer(forged))).result, /algorithm HS256 not allowed/);
  });

  it('refuses an unsigned token (alg none)', async () => {
    const h = create(jwt, { issuers: [hsIssuer()] });
    const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const unsigned = `${b64({ alg: 'none' })}.${b64({ iss: ISS, sub: 'shop-client', exp: now() + 60 })}.`;
    assertInvalid((await run(h, bearer(unsigned))).result, /algorithm none not allowed/);
  });

  it('honours the clock skew for exp, nbf and iat (default 30s)', async () => {
    const h = create(jwt, { issuers: [hsIssuer()] });
    identity((await run(h, bearer(await hs({ exp: now() - 20 })))).result);
    assertInvalid((await run(h, bearer(await hs({ exp: now() - 40 })))).result, /ERR_JWT_EXPIRED/);
    identity((await run(h, bearer(await hs({ nbf: now() + 20 })))).result);
    assertInvalid((await run(h, bearer(await hs({ nbf: now() + 40 })))).result, /"nbf" claim/);
    identity((await run(h, bearer(await hs({ iat: now() + 20 })))).result);
    assertInvalid((await run(h, bearer(await hs({ iat: now() + 40 })))).result, /"iat" claim is in the future/);
    const strict = create(jwt, { issuers: [hsIssuer()], clockSkew: 0 });
    assertInvalid((await run(strict, bearer(await hs({ exp: now() - 2 })))).result, /ERR_JWT_EXPIRED/);
  });

  it('refuses tokens older than maxTokenAge, and tokens without exp or a required claim', async () => {
    const h = create(jwt, { issuers: [hsIssuer({ requiredClaims: ['tenant'] })], maxTokenAge: '1h' });
    identity((await run(h, bearer(await hs({ tenant: 't1' })))).result);
    assertInvalid((await run(h, bearer(await hs({ tenant: 't1', iat: now() - 7200 })))).result, /"iat" claim timestamp check failed/);
    assertInvalid((await run(h, bearer(await hs({ tenant: 't1', exp: undefined })))).result, /"exp" claim/);
    assertInvalid((await run(h, bearer(await hs()))).result, /"tenant" claim/);
  });

  it('checks the audience, and refuses sender-constrained (cnf) tokens', async () => {
    const h = create(jwt, { issuers: [hsIssuer({ audiences: ['https://api.example.com', 'orders'] })] });
    identity((await run(h, bearer(await hs({ aud: ['x', 'orders'] })))).result);
    assertInvalid((await run(h, bearer(await hs({ aud: 'billing' })))).result, /"aud" claim/);
    assertInvalid((await run(h, bearer(await hs({ aud: 'orders', cnf: { jkt: 'abc' } })))).result, /sender-constrained/);
  });

  it('picks the issuer by iss: an unknown issuer is refused, unless an entry without issuer takes the rest', async () => {
    const h = create(jwt, { issuers: [hsIssuer()] });
    assertInvalid((await run(h, bearer(await hs({ iss: 'https://evil.example.com' })))).result, /not trusted/);
    const withFallback = create(jwt, { issuers: [{ keys: [{ secret: SECRET }], algorithms: ['HS256'] }] });
    identity((await run(withFallback, bearer(await hs({ iss: 'anything' })))).result);
    identity((await run(withFallback, bearer(await hs({ iss: undefined })))).result);
  });

  it('maps consumers by consumerClaim and issuer; requireConsumer refuses unmapped tokens; a revoked credential refuses', async () => {
    const s = scope(consumers);
    const byClientId = create(jwt, { issuers: [hsIssuer({ consumerClaim: 'client_id' })] }, s);
    assert.equal(identity((await run(byClientId, bearer(await hs({ sub: 'user-7', client_id: 'shop-client' })))).result).consumer?.name, 'shop');
    const open = create(jwt, { issuers: [hsIssuer()] }, s);
    const unmapped = identity((await run(open, bearer(await hs({ sub: 'bound-client' })))).result);
    assert.equal(unmapped.consumer, undefined, 'the credential is bound to another issuer');
    assert.equal(unmapped.subject, 'bound-client');
    const strict = create(jwt, { issuers: [hsIssuer({ requireConsumer: true })] }, s);
    assertInvalid((await run(strict, bearer(await hs({ sub: 'nobody' })))).result, /maps to no consumer/);
    assertInvalid((await run(open, bearer(await hs({ sub: 'gone-client' })))).result, /revoked/);
  });
});

/** Serves JSON documents by path on a free port, counting requests. */
async function startDocs(t: { after(fn: () => Promise<void>): void }, docs: (base: string) => Record<string, unknown>) {
  let served: Record<string, unknown> = {};
  const hits: string[] = [];
  const server = http.createServer((req, res) => {
    hits.push(req.url!);
    const doc = served[req.url!];
    if (doc === undefined) res.writeHead(404).end();
    else res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(doc));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  served = docs(base);
  return { base, hits };
}

describe('jwt with remote keys', () => {
  it('checks a token without kid against each key of its algorithm in the JWKS', async (t) => {
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = (k: KeyObject) => ({ ...k.export({ format: 'jwk' }), use: 'sig' });
    const s = await startDocs(t, () => ({ '/jwks': { keys: [jwk(other.publicKey), jwk(ec.publicKey)] } }));
    const h = create(jwt, { issuers: [{ issuer: ISS, jwksUri: `${s.base}/jwks`, algorithms: ['ES256'] }] });
    identity((await run(h, bearer(await sign(ec.privateKey, 'ES256')))).result);
    identity((await run(h, bearer(await sign(other.privateKey, 'ES256')))).result);
    const stranger = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    assertInvalid((await run(h, bearer(await sign(stranger.privateKey, 'ES256')))).result, /signature verification failed/);
    assert.deepEqual(s.hits, ['/jwks']);
  });

  it('refuses a discovery document naming another issuer: the keys are unavailable (503), not the token invalid', async (t) => {
    const s = await startDocs(t, (base) => ({
      '/.well-known/openid-configuration': { issuer: 'https://evil.example.com', jwks_uri: `${base}/jwks` },
      '/jwks': { keys: [{ ...ec.publicKey.export({ format: 'jwk' }) }] },
    }));
    const h = create(jwt, { issuers: [{ issuer: s.base, discovery: true, algorithms: ['ES256'] }] });
    const r = (await run(h, bearer(await sign(ec.privateKey, 'ES256', { iss: s.base })))).result;
    assert.equal(r.outcome, 'unavailable');
    assert.match((r as { reason: string }).reason, /its issuer "https:\/\/evil.example.com" is not/);
    assert.deepEqual(s.hits, ['/.well-known/openid-configuration'], 'the JWKS it names is never fetched');
  });
});

describe('jwt token sources', () => {
  it('is absent without a bearer token, and refuses a malformed or non-JWT one', async () => {
    const h = create(jwt, { issuers: [hsIssuer()] });
    assert.equal((await run(h, {})).result.outcome, 'absent');
    assert.equal((await run(h, { authorization: 'Basic dXNlcjpwYXNz' })).result.outcome, 'absent');
    assertInvalid((await run(h, { authorization: 'Bearer a b' })).result, /well-formed/);
    assertInvalid((await run(h, { authorization: 'Bearer' })).result, /well-formed/);
    assertInvalid((await run(h, bearer('opaque-token-value'))).result, /not a JWT/);
    assert.equal(h.authenticator!.challenge, 'Bearer realm="expeditor"');
  });

  it('reads a cookie or query parameter when configured, declares them secret, and hides them upstream', async () => {
    const h = create(jwt, { issuers: [hsIssuer()], tokenFrom: { authorization: false, cookie: 'at', query: 'access_token' }, hideCredentials: true });
    assert.deepEqual(h.secrets, { cookies: ['at'], query: ['access_token'] });
    const token = await hs();
    const fromCookie = await run(h, { cookie: `theme=dark; at=${token}; lang=fr` });
    identity(fromCookie.result);
    assert.deepEqual(edits(fromCookie.ctx, 'requestHeaders').set, { cookie: 'theme=dark; lang=fr' });
    const fromQuery = await run(h, {}, `page=2&access_token=${token}&x=1`);
    identity(fromQuery.result);
    assert.equal(fromQuery.ctx.upstreamQuery, 'page=2&x=1');
    assert.equal((await run(h, bearer(token))).result.outcome, 'absent', 'Authorization is not read');
  });

  it('hides the Authorization header only when hideCredentials is set', async () => {
    const token = await hs();
    const kept = await run(create(jwt, { issuers: [hsIssuer()] }), bearer(token));
    assert.deepEqual(edits(kept.ctx, 'requestHeaders').remove, []);
    const hidden = await run(create(jwt, { issuers: [hsIssuer()], hideCredentials: true }), bearer(token));
    assert.deepEqual(edits(hidden.ctx, 'requestHeaders').remove, ['authorization']);
  });

  it('uses jose errors for the reasons (never shown to clients)', async () => {
    const h = create(jwt, { issuers: [hsIssuer()] });
    const tampered = (await hs()).replace(/\.[^.]+$/, '.AAAA');
    const r = (await run(h, bearer(tampered))).result;
    assertInvalid(r, /ERR_JWS_SIGNATURE_VERIFICATION_FAILED/);
  });
});
