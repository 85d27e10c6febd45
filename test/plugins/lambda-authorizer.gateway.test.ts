import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startGateway, startUpstream, type TestGateway, type TestUpstream } from '../helpers/gateway.ts';
import { Gateway } from '../../src/server/gateway.ts';
import { silentLogger } from '../../src/core/logger.ts';

/** Authorizers that count their own invocations (`calls` in their context), and a function that echoes its event. */
const HANDLERS = `
let calls = 0;
const policy = (principalId, effect, resource, context) => ({
  principalId, policyDocument: { Version: '2012-10-17', Statement: [{ Action: 'execute-api:Invoke', Effect: effect, Resource: resource }] }, context,
});
export const token = async (event) => {
  calls++;
  const t = event.authorizationToken;
  if (t === 'Bearer nope') throw new Error('Unauthorized');
  if (t === 'Bearer boom') throw new Error('kaput');
  if (t === 'Bearer junk') return { hello: 'world' };
  const api = event.methodArn.split('/')[0];
  const who = t.slice(7);
  if (who === 'reader') return policy('user-reader', 'Allow', [api + '/*/GET/items/*', api + '/*/GET/up/public-?'], { calls });
  return policy('user-' + who, who === 'mallory' ? 'Deny' : 'Allow', api + '/*', { calls, tier: 'gold', admin: false, n: 7, methodArn: event.methodArn, type: event.type });
};
export const request = async (event) => {
  calls++;
  return policy('user-' + event.headers['x-user'], 'Allow', event.methodArn, {
    calls, type: event.type, resource: event.resource, path: event.path, app: event.queryStringParameters.app, methodArn: event.methodArn,
  });
};
export const simple = async (event) => {
  calls++;
  const user = event.headers['x-user'];
  return { isAuthorized: user !== 'mallory', context: { user, calls, routeArn: event.routeArn, sources: event.identitySource.join(','), version: event.version, type: event.type } };
};
export const echo = async (event) => ({ statusCode: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify(event) });
`;

interface Answer { status: number; headers: Headers; json: any }

async function send(url: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Answer> {
  const res = await fetch(url, { method, headers });
  const text = await res.text();
  return { status: res.status, headers: res.headers, json: text === '' ? undefined : JSON.parse(text) };
}

describe('lambda-authorizer plugin', () => {
  let dir: string;
  let upstream: TestUpstream;
  let gw: TestGateway;
  const invocations = (fn: string) => gw.gateway.runtime.functions.get(fn)!.invoker.stats().invocations;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'expeditor-authorizer-'));
    writeFileSync(join(dir, 'auth.mjs'), HANDLERS);
    upstream = await startUpstream();
    const fn = (h: string) => ({ handler: `auth.${h}`, codeDir: dir });
    const token = { 'lambda-authorizer': { function: 'token' } };
    gw = await startGateway({
      functions: { token: fn('token'), request: fn('request'), simple: fn('simple'), echo: fn('echo'), uncached: fn('token'), validated: fn('token'), unmapped: fn('token') },
      consumers: { alice: { id: 'user-alice' } },
      upstreams: { echo: { targets: [{ url: upstream.url }] } },
      routes: [
        { name: 'up', match: { path: '/up/*' }, upstream: 'echo', plugins: token },
        { name: 'items', match: { path: '/items/:id' }, function: { name: 'echo', payloadFormat: '1.0' }, plugins: token },
        { name: 'items-v2', match: { path: '/v2/items/:id' }, function: { name: 'echo' }, plugins: token },
        {
          name: 'req', match: { path: '/req/:id' }, function: { name: 'echo', payloadFormat: '1.0' },
          plugins: { 'lambda-authorizer': { function: 'request', type: 'REQUEST', identitySource: { headers: ['x-user'], query: ['app'] } } },
        },
        {
          name: 'simple', match: { path: '/simple' }, function: { name: 'echo' },
          plugins: { 'lambda-authorizer': { function: 'simple', payloadFormat: '2.0', simpleResponses: true, identitySource: { headers: ['x-user'] } } },
        },
        { name: 'unmapped', match: { path: '/unmapped' }, upstream: 'echo', plugins: { 'lambda-authorizer': { function: 'unmapped', consumerFrom: 'none' } } },
        { name: 'uncached', match: { path: '/uncached' }, upstream: 'echo', plugins: { 'lambda-authorizer': { function: 'uncached', ttl: 0 } } },
        { name: 'validated', match: { path: '/validated' }, upstream: 'echo', plugins: { 'lambda-authorizer': { function: 'validated', validationExpression: 'Bearer [a-z]+' } } },
      ],
    });
  });
  after(async () => {
    await gw.close();
    await upstream.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('TOKEN, Allow: the upstream gets the principal and the context as gateway-owned headers', async () => {
    const r = await send(`${gw.url}/up/a`, { authorization: 'Bearer alice', 'x-authorizer-tier': 'forged', 'x-authorizer-extra': 'forged' });
    assert.equal(r.status, 200);
    const h = r.json.headers;
    assert.equal(h['x-authenticated-subject'], 'user-alice');
    assert.equal(h['x-authorizer-tier'], 'gold');
    assert.equal(h['x-authorizer-admin'], 'false');
    assert.equal(h['x-authorizer-n'], '7');
    assert.equal(h['x-authorizer-type'], 'TOKEN');
    assert.equal(h['x-authorizer-methodarn'], 'arn:aws:execute-api:us-east-1:123456789012:expeditor/$default/GET/up/a');
    assert.equal(h['x-authorizer-extra'], undefined, 'a client\'s own X-Authorizer-* header never reaches the upstream');
  });

  it('a principalId that is a consumer\'s id makes the request that consumer\'s (unless consumerFrom: none)', async () => {
    const mapped = await send(`${gw.url}/up/x`, { authorization: 'Bearer alice' });
    assert.equal(mapped.status, 200);
    assert.equal(mapped.json.headers['x-consumer-username'], 'alice');
    assert.equal(mapped.json.headers['x-consumer-id'], 'user-alice');
    const stranger = await send(`${gw.url}/up/x`, { authorization: 'Bearer bob' });
    assert.equal(stranger.json.headers['x-consumer-username'], undefined, 'user-bob is no consumer');
    const unmapped = await send(`${gw.url}/unmapped`, { authorization: 'Bearer alice' });
    assert.equal(unmapped.status, 200);
    assert.equal(unmapped.json.headers['x-consumer-username'], undefined);
  });

  it('caches the answer by token for the ttl: the second request does not invoke the authorizer', async () => {
    const first = await send(`${gw.url}/up/b`, { authorization: 'Bearer carol' });
    const before = invocations('token');
    const second = await send(`${gw.url}/up/c`, { authorization: 'Bearer carol' });
    assert.equal(second.status, 200);
    assert.equal(invocations('token'), before);
    assert.equal(second.json.headers['x-authorizer-calls'], first.json.headers['x-authorizer-calls']);
    // The cached context is the first request's (its methodArn), as API Gateway caches it.
    assert.match(second.json.headers['x-authorizer-methodarn'], /\/GET\/up\/b$/);
    await send(`${gw.url}/up/d`, { authorization: 'Bearer dave' });
    assert.equal(invocations('token'), before + 1, 'another token is another invocation');
  });

  it('ttl 0 invokes the authorizer for every request', async () => {
    await send(`${gw.url}/uncached`, { authorization: 'Bearer erin' });
    const before = invocations('uncached');
    await send(`${gw.url}/uncached`, { authorization: 'Bearer erin' });
    assert.equal(invocations('uncached'), before + 1);
  });

  it('Deny is 403 forbidden, from the cache too', async () => {
    const r = await send(`${gw.url}/up/x`, { authorization: 'Bearer mallory' });
    assert.equal(r.status, 403);
    assert.equal(r.json.code, 'forbidden');
    const before = invocations('token');
    assert.equal((await send(`${gw.url}/up/y`, { authorization: 'Bearer mallory' })).status, 403);
    assert.equal(invocations('token'), before);
  });

  it('evaluates the cached policy against each request\'s method ARN, with * and ? wildcards', async () => {
    const reader = { authorization: 'Bearer reader' };
    assert.equal((await send(`${gw.url}/items/1`, reader)).status, 200);
    const before = invocations('token');
    assert.equal((await send(`${gw.url}/items/2`, reader)).status, 200);
    assert.equal((await send(`${gw.url}/items/2`, reader, 'DELETE')).status, 403);
    assert.equal(invocations('token'), before);
    // Each route's instance has its own cache (a global instance shares one): one more invocation for /up.
    assert.equal((await send(`${gw.url}/up/public-1`, reader)).status, 200);
    assert.equal((await send(`${gw.url}/up/public-12`, reader)).status, 403);
    assert.equal((await send(`${gw.url}/up/private`, reader)).status, 403);
    assert.equal(invocations('token'), before + 1);
  });

  it('401 when the identity source is missing or the authorizer says Unauthorized', async () => {
    const missing = await send(`${gw.url}/up/a`);
    assert.equal(missing.status, 401);
    assert.equal(missing.json.code, 'unauthorized');
    const nope = await send(`${gw.url}/up/a`, { authorization: 'Bearer nope' });
    assert.equal(nope.status, 401);
    assert.equal(nope.json.code, 'invalid_credentials');
  });

  it('a failing or malformed authorizer is 500 authorizer_error', async () => {
    for (const token of ['Bearer boom', 'Bearer junk']) {
      const r = await send(`${gw.url}/up/a`, { authorization: token });
      assert.equal(r.status, 500, token);
      assert.equal(r.json.code, 'authorizer_error');
    }
  });

  it('validationExpression refuses a token that does not match without invoking the authorizer', async () => {
    const before = invocations('validated');
    const r = await send(`${gw.url}/validated`, { authorization: 'Bearer Not-Lower' });
    assert.equal(r.status, 401);
    assert.equal(invocations('validated'), before);
    assert.equal((await send(`${gw.url}/validated`, { authorization: 'Bearer frank' })).status, 200);
  });

  it('puts {principalId, ...context} in a 1.0 function event\'s requestContext.authorizer', async () => {
    const r = await send(`${gw.url}/items/9`, { authorization: 'Bearer grace' });
    assert.equal(r.status, 200);
    const a = r.json.requestContext.authorizer;
    assert.equal(a.principalId, 'user-grace');
    assert.equal(a.tier, 'gold');
    assert.equal(a.admin, false);
    assert.equal(a.n, 7);
  });

  it('puts {lambda: context} in a 2.0 function event', async () => {
    const r = await send(`${gw.url}/v2/items/9`, { authorization: 'Bearer heidi' });
    assert.equal(r.status, 200);
    const a = r.json.requestContext.authorizer;
    assert.deepEqual(Object.keys(a), ['lambda']);
    assert.equal(a.lambda.tier, 'gold');
    assert.equal(a.lambda.principalId, undefined);
  });

  it('REQUEST 1.0: the authorizer sees the request; every identity source is required and keys the cache', async () => {
    const r = await send(`${gw.url}/req/5?app=web`, { 'x-user': 'ivan' });
    assert.equal(r.status, 200);
    const a = r.json.requestContext.authorizer;
    assert.equal(a.principalId, 'user-ivan');
    assert.equal(a.type, 'REQUEST');
    assert.equal(a.resource, '/req/{id}');
    assert.equal(a.path, '/req/5');
    assert.equal(a.app, 'web');
    assert.equal(a.methodArn, 'arn:aws:execute-api:us-east-1:123456789012:expeditor/$default/GET/req/5');
    assert.equal((await send(`${gw.url}/req/5`, { 'x-user': 'ivan' })).status, 401);
    const before = invocations('request');
    await send(`${gw.url}/req/5?app=web`, { 'x-user': 'ivan' });
    assert.equal(invocations('request'), before);
    await send(`${gw.url}/req/5?app=cli`, { 'x-user': 'ivan' });
    assert.equal(invocations('request'), before + 1);
  });

  it('2.0 simple responses: isAuthorized decides, context reaches the event as {lambda}', async () => {
    const r = await send(`${gw.url}/simple`, { 'x-user': 'judy' });
    assert.equal(r.status, 200);
    const ctx = r.json.requestContext.authorizer.lambda;
    assert.equal(ctx.user, 'judy');
    assert.equal(ctx.version, '2.0');
    assert.equal(ctx.type, 'REQUEST');
    assert.equal(ctx.sources, 'judy');
    assert.equal(ctx.routeArn, 'arn:aws:execute-api:us-east-1:123456789012:expeditor/$default/GET/simple');
    const before = invocations('simple');
    assert.equal((await send(`${gw.url}/simple`, { 'x-user': 'judy' })).json.requestContext.authorizer.lambda.calls, ctx.calls);
    assert.equal(invocations('simple'), before);
    const denied = await send(`${gw.url}/simple`, { 'x-user': 'mallory' });
    assert.equal(denied.status, 403);
    assert.equal(denied.json.code, 'forbidden');
  });

  it('refuses a config naming a function that does not exist', async () => {
    await assert.rejects(Gateway.start({
      listen: { port: 0, host: '127.0.0.1' }, admin: { enabled: false },
      routes: [{ name: 'x', match: { path: '/x' }, upstream: 'u', plugins: { 'lambda-authorizer': { function: 'ghost' } } }],
      upstreams: { u: { targets: [{ url: upstream.url }] } },
    }, { logger: silentLogger }), (err: { issues?: Array<{ path: string }> }) => {
      assert.ok(err.issues?.some((i) => i.path === 'routes[0].plugins.lambda-authorizer.function'), JSON.stringify(err.issues));
      return true;
    });
  });
});
