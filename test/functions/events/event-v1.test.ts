import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { eventV1 } from '../../../src/functions/events/index.ts';
import { view } from './support.ts';

describe('payload 1.0 event', () => {
  it('names the route template as resource and keeps the path as sent, percent-encoded', () => {
    const e = eventV1(view({ rawPath: '/items/a%2Fb%20c', pathParameters: { id: 'a/b c' } }), []);
    assert.equal(e.resource, '/items/{id}');
    assert.equal(e.path, '/items/a%2Fb%20c');
    assert.equal(e.httpMethod, 'GET');
    assert.deepEqual(e.pathParameters, { id: 'a/b c' });
  });

  it('names a greedy wildcard proxy, in the resource and the path parameters', () => {
    const e = eventV1(view({ routePath: '/static/*', rawPath: '/static/css/site.css', pathParameters: { '*': 'css/site.css' } }), []);
    assert.equal(e.resource, '/static/{proxy+}');
    assert.deepEqual(e.pathParameters, { proxy: 'css/site.css' });
    assert.equal((e.requestContext as any).resourcePath, '/static/{proxy+}');
  });

  it('keeps the last value of a repeated header in headers and all of them in multiValueHeaders, in client casing', () => {
    const e = eventV1(view({ rawHeaders: ['Host', 'h', 'X-Tag', 'a', 'x-tag', 'b', 'Accept', 'text/html, */*'] }), []);
    assert.deepEqual(e.headers, { Host: 'h', 'X-Tag': 'b', Accept: 'text/html, */*' });
    assert.deepEqual(e.multiValueHeaders, { Host: ['h'], 'X-Tag': ['a', 'b'], Accept: ['text/html, */*'] });
  });

  it('keeps Cookie headers as headers (1.0 has no cookies field)', () => {
    const e = eventV1(view({ rawHeaders: ['Cookie', 'a=1; b=2'] }), []);
    assert.deepEqual(e.headers, { Cookie: 'a=1; b=2' });
    assert.equal('cookies' in e, false);
  });

  it('decodes query parameters, the last value of a repeated key single, every value multi', () => {
    const e = eventV1(view({ rawQuery: 'tag=a&tag=b%20c&q=x+y&flag&e=%E2%82%AC' }), []);
    assert.deepEqual(e.queryStringParameters, { tag: 'b c', q: 'x y', flag: '', e: '€' });
    assert.deepEqual(e.multiValueQueryStringParameters, { tag: ['a', 'b c'], q: ['x y'], flag: [''], e: ['€'] });
  });

  it('passes a query with a malformed escape undecoded rather than failing', () => {
    const e = eventV1(view({ rawQuery: 'e=%E2%82%AC&bad=%zz&q=x+y' }), []);
    assert.deepEqual(e.queryStringParameters, { e: '%E2%82%AC', bad: '%zz', q: 'x y' });
  });

  it('sends empty maps and an absent body as null, not {} or ""', () => {
    const e = eventV1(view({ rawHeaders: [], pathParameters: {}, routePath: '/menu', rawPath: '/menu', stageVariables: {} }), []);
    for (const key of ['headers', 'multiValueHeaders', 'queryStringParameters', 'multiValueQueryStringParameters', 'pathParameters', 'stageVariables', 'body']) {
      assert.equal(e[key], null, key);
    }
    assert.equal(e.isBase64Encoded, false);
    assert.equal(eventV1(view({ stageVariables: undefined }), []).stageVariables, null);
    assert.equal(eventV1(view({ body: Buffer.alloc(0) }), []).body, null);
  });

  it('passes stage variables', () => {
    const e = eventV1(view({ stageVariables: { lambdaAlias: 'live' } }), []);
    assert.deepEqual(e.stageVariables, { lambdaAlias: 'live' });
  });

  it('sends a text body as UTF-8 and a body of a binary media type base64-encoded', () => {
    const text = eventV1(view({ method: 'POST', rawHeaders: ['Content-Type', 'application/json'], body: Buffer.from('{"a":"é"}') }), ['image/*']);
    assert.equal(text.body, '{"a":"é"}');
    assert.equal(text.isBase64Encoded, false);
    const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0xff]);
    const bin = eventV1(view({ method: 'PUT', rawHeaders: ['Content-Type', 'image/png'], body: png }), ['image/*']);
    assert.equal(bin.body, png.toString('base64'));
    assert.equal(bin.isBase64Encoded, true);
    const all = eventV1(view({ method: 'PUT', rawHeaders: [], body: png }), ['*/*']);
    assert.equal(all.isBase64Encoded, true);
  });

  it('fills requestContext as API Gateway does', () => {
    const e = eventV1(view({
      stage: 'prod', rawPath: '/items/4%202', pathParameters: { id: '4 2' }, protocol: 'HTTP/2.0',
      authorizer: { principalId: 'user-1', tier: 'gold' }, identity: { apiKey: 'k-1', user: 'alice', caller: 'c' },
      accountId: '111122223333', apiId: 'abc123',
    }), []);
    const rc = e.requestContext as Record<string, any>;
    assert.equal(rc.accountId, '111122223333');
    assert.equal(rc.apiId, 'abc123');
    assert.equal(rc.requestId, 'c6af9ac6-7b61-11e6-9a41-93e8deadbeef');
    assert.equal(rc.extendedRequestId, rc.requestId);
    assert.equal(rc.stage, 'prod');
    assert.equal(rc.resourcePath, '/items/{id}');
    assert.match(rc.resourceId, /^[a-z0-9_-]{6}$/);
    assert.equal(rc.httpMethod, 'GET');
    assert.equal(rc.path, '/prod/items/4%202');
    assert.equal(e.path, '/items/4%202');
    assert.equal(rc.protocol, 'HTTP/2.0');
    assert.equal(rc.requestTime, '09/Apr/2015:12:34:56 +0000');
    assert.equal(rc.requestTimeEpoch, Date.UTC(2015, 3, 9, 12, 34, 56));
    assert.equal(rc.domainName, 'api.example.com');
    assert.equal(rc.domainPrefix, 'api');
    assert.deepEqual(rc.authorizer, { principalId: 'user-1', tier: 'gold' });
    assert.equal(rc.identity.sourceIp, '203.0.113.9');
    assert.equal(rc.identity.userAgent, 'curl/8.5.0');
    assert.equal(rc.identity.apiKey, 'k-1');
    assert.equal(rc.identity.user, 'alice');
    assert.equal(rc.identity.caller, 'c');
    assert.equal(rc.identity.cognitoIdentityId, null);
  });

  it('leaves the stage out of requestContext.path for $default, and authorizer out when there is none', () => {
    const rc = eventV1(view(), []).requestContext as Record<string, any>;
    assert.equal(rc.path, '/items/42');
    assert.equal('authorizer' in rc, false);
    assert.equal(rc.identity.apiKey, null);
    assert.equal(rc.accountId, '123456789012');
  });

  it('gives one resourceId per route', () => {
    const a = eventV1(view(), []).requestContext as Record<string, any>;
    const b = eventV1(view({ rawPath: '/items/7' }), []).requestContext as Record<string, any>;
    const c = eventV1(view({ routeName: 'other' }), []).requestContext as Record<string, any>;
    assert.equal(a.resourceId, b.resourceId);
    assert.notEqual(a.resourceId, c.resourceId);
  });
});
