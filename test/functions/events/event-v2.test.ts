import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { eventV2 } from '../../../src/functions/events/index.ts';
import { view } from './support.ts';

describe('payload 2.0 event', () => {
  it('carries version, routeKey, rawPath and rawQueryString ("" when empty)', () => {
    const e = eventV2(view({ rawPath: '/items/4%202', pathParameters: { id: '4 2' } }));
    assert.equal(e.version, '2.0');
    assert.equal(e.routeKey, 'GET /items/{id}');
    assert.equal(e.rawPath, '/items/4%202');
    assert.equal(e.rawQueryString, '');
    assert.deepEqual(e.pathParameters, { id: '4 2' });
  });

  it('uses the route method in routeKey when the route takes every method', () => {
    assert.equal(eventV2(view({ method: 'DELETE', routeMethod: 'ANY' })).routeKey, 'ANY /items/{id}');
  });

  it('names a greedy wildcard proxy', () => {
    const e = eventV2(view({ routePath: '/static/*', rawPath: '/static/a/b', pathParameters: { '*': 'a/b' } }));
    assert.equal(e.routeKey, 'GET /static/{proxy+}');
    assert.deepEqual(e.pathParameters, { proxy: 'a/b' });
  });

  it('lower-cases header names and joins repeats with ","', () => {
    const e = eventV2(view({ rawHeaders: ['Host', 'h', 'X-Tag', 'a', 'x-tag', 'b', 'Accept', 'text/html, */*'] }));
    assert.deepEqual(e.headers, { host: 'h', 'x-tag': 'a,b', accept: 'text/html, */*' });
    assert.equal('multiValueHeaders' in e, false);
  });

  it('moves every Cookie header into cookies, split on ";", and leaves cookie out of headers', () => {
    const e = eventV2(view({ rawHeaders: ['Host', 'h', 'Cookie', 'a=1; b=2', 'cookie', 'c=3'] }));
    assert.deepEqual(e.cookies, ['a=1', 'b=2', 'c=3']);
    assert.deepEqual(e.headers, { host: 'h' });
  });

  it('keeps the raw query and joins a repeated key\'s decoded values with ","', () => {
    const e = eventV2(view({ rawQuery: 'tag=a&tag=b%20c&q=x+y&flag' }));
    assert.equal(e.rawQueryString, 'tag=a&tag=b%20c&q=x+y&flag');
    assert.deepEqual(e.queryStringParameters, { tag: 'a,b c', q: 'x y', flag: '' });
    assert.equal('multiValueQueryStringParameters' in e, false);
  });

  it('leaves absent and empty parts out instead of null', () => {
    const e = eventV2(view({ rawHeaders: [], pathParameters: {}, routePath: '/menu', rawPath: '/menu', stageVariables: {} }));
    for (const key of ['cookies', 'headers', 'queryStringParameters', 'pathParameters', 'stageVariables', 'body']) {
      assert.equal(key in e, false, key);
    }
    assert.equal(e.isBase64Encoded, false);
    assert.equal('authorizer' in (e.requestContext as object), false);
    assert.equal('body' in eventV2(view({ body: Buffer.alloc(0) })), false);
  });

  it('passes stage variables and puts a named stage in front of the path', () => {
    const e = eventV2(view({ stage: 'dev', stageVariables: { lambdaAlias: 'live' } }));
    assert.deepEqual(e.stageVariables, { lambdaAlias: 'live' });
    assert.equal(e.rawPath, '/dev/items/42');
    assert.equal((e.requestContext as any).http.path, '/dev/items/42');
    assert.equal((e.requestContext as any).stage, 'dev');
  });

  it('sends text types as UTF-8 and everything else base64-encoded', () => {
    const body = Buffer.from('a=1&b=é');
    const types: Array<[string | undefined, boolean]> = [
      ['text/plain; charset=utf-8', false], ['application/json', false], ['application/xml', false],
      ['application/javascript', false], ['application/x-www-form-urlencoded', true], ['application/octet-stream', true],
      ['image/png', true], [undefined, true],
    ];
    for (const [type, base64] of types) {
      const e = eventV2(view({ method: 'POST', rawHeaders: type === undefined ? [] : ['Content-Type', type], body }));
      assert.equal(e.isBase64Encoded, base64, String(type));
      assert.equal(e.body, body.toString(base64 ? 'base64' : 'utf8'), String(type));
    }
  });

  it('fills requestContext and requestContext.http', () => {
    const e = eventV2(view({ method: 'POST', protocol: 'HTTP/2.0', accountId: '111122223333', apiId: 'abc123' }));
    assert.deepEqual(e.requestContext, {
      accountId: '111122223333',
      apiId: 'abc123',
      domainName: 'api.example.com',
      domainPrefix: 'api',
      http: { method: 'POST', path: '/items/42', protocol: 'HTTP/2.0', sourceIp: '203.0.113.9', userAgent: 'curl/8.5.0' },
      requestId: 'c6af9ac6-7b61-11e6-9a41-93e8deadbeef',
      routeKey: 'POST /items/{id}',
      stage: '$default',
      time: '09/Apr/2015:12:34:56 +0000',
      timeEpoch: Date.UTC(2015, 3, 9, 12, 34, 56),
    });
  });

  it('wraps the authorizer output by its kind', () => {
    const rc = (kind?: 'lambda' | 'jwt' | 'iam', authorizer?: Record<string, unknown>) =>
      eventV2(view({ authorizerKind: kind, authorizer })).requestContext as Record<string, unknown>;
    assert.deepEqual(rc(undefined, { principalId: 'u', tier: 'gold' }).authorizer, { lambda: { principalId: 'u', tier: 'gold' } });
    assert.deepEqual(rc('jwt', { claims: { sub: 'u' }, scopes: ['read'] }).authorizer, { jwt: { claims: { sub: 'u' }, scopes: ['read'] } });
    assert.deepEqual(rc('jwt', { claims: { sub: 'u' } }).authorizer, { jwt: { claims: { sub: 'u' }, scopes: null } });
    assert.deepEqual(rc('iam', { userArn: 'arn:aws:iam::1:user/u' }).authorizer, { iam: { userArn: 'arn:aws:iam::1:user/u' } });
  });
});
