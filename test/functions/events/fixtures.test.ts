/**
 * The events built from a request equivalent to AWS's sample events (aws/aws-lambda-go events/testdata) against the
 * samples themselves. Fields the samples made up inconsistently (a domainPrefix that is not the domain's first
 * label, a `time` that does not match `timeEpoch`) or that Expeditor cannot have (client certificates, an
 * OpenAPI operationName, the `$default` route) are named where they are skipped.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { APIGatewayProxyEvent, APIGatewayProxyEventV2 } from 'aws-lambda';
import { eventV1, eventV2 } from '../../../src/functions/events/index.ts';
import { fixture, rawFrom, view, without } from './support.ts';

/** Keys of an object, sorted, for shape comparisons. */
function keys(obj: object): string[] {
  return Object.keys(obj).sort();
}

describe('payload 1.0 against AWS\'s REST API sample event', () => {
  const sample = fixture('apigw-restapi-openapi-request.json') as APIGatewayProxyEvent;
  const rc = sample.requestContext;
  const e = eventV1(view({
    method: 'POST', rawPath: '/hello/world', rawQuery: 'name=me', rawHeaders: rawFrom(sample.multiValueHeaders as Record<string, string[]>),
    body: Buffer.from(sample.body!), sourceIp: rc.identity.sourceIp, userAgent: rc.identity.userAgent!, routePath: '/*',
    pathParameters: { '*': 'hello/world' }, stage: 'testStage', stageVariables: sample.stageVariables as Record<string, string>,
    requestId: rc.requestId, requestTimeEpoch: rc.requestTimeEpoch, domainName: rc.domainName!, protocol: rc.protocol,
    authorizer: rc.authorizer!, identity: { apiKey: rc.identity.apiKey!, user: rc.identity.user!, caller: rc.identity.caller! },
    accountId: rc.accountId, apiId: rc.apiId,
  }), []) as unknown as APIGatewayProxyEvent;

  it('has the sample\'s fields, in shape and value', () => {
    // The sample predates isBase64Encoded, which every event has now.
    assert.deepEqual(keys(e), keys({ ...sample, isBase64Encoded: false }));
    assert.deepEqual(without(e as any, 'requestContext', 'isBase64Encoded'), without(sample as any, 'requestContext'));
    assert.equal(e.isBase64Encoded, false);
  });

  it('has every requestContext field of the sample, equal but for the made-up ones', () => {
    const ours = e.requestContext as unknown as Record<string, unknown>;
    const theirs = rc as unknown as Record<string, unknown>;
    // operationName exists only with an OpenAPI definition; extendedRequestId is in real events, not in the sample.
    assert.deepEqual(keys(ours).filter((k) => k !== 'extendedRequestId'), keys(theirs).filter((k) => k !== 'operationName'));
    for (const k of ['accountId', 'apiId', 'stage', 'requestId', 'resourcePath', 'httpMethod', 'requestTime', 'requestTimeEpoch', 'domainName', 'protocol', 'authorizer']) {
      assert.deepEqual(ours[k], theirs[k], k);
    }
    // The sample leaves the stage out of path; on AWS's own endpoint it is there (`/testStage/hello/world`).
    assert.equal(e.requestContext.path, '/testStage/hello/world');
  });

  it('has every identity field of the sample', () => {
    assert.deepEqual(keys(e.requestContext.identity).filter((k) => k !== 'principalOrgId'), keys(rc.identity));
    for (const k of ['sourceIp', 'userAgent', 'apiKey', 'user', 'caller'] as const) assert.equal(e.requestContext.identity[k], rc.identity[k], k);
  });
});

describe('payload 2.0 against AWS\'s HTTP API sample events', () => {
  it('equals the no-authorizer sample but for the route key and the client certificate', () => {
    const sample = fixture('apigw-v2-request-no-authorizer.json') as APIGatewayProxyEventV2;
    const rc = sample.requestContext;
    const e = eventV2(view({
      method: 'GET', rawPath: '/', rawQuery: '', rawHeaders: rawFrom(Object.fromEntries(Object.entries(sample.headers).map(([k, v]) => [k, [v!]]))),
      sourceIp: rc.http.sourceIp, userAgent: rc.http.userAgent, routePath: '/', pathParameters: {}, requestId: rc.requestId,
      requestTimeEpoch: rc.timeEpoch, domainName: rc.domainName, accountId: rc.accountId, apiId: rc.apiId,
    }));
    assert.equal(e.routeKey, 'GET /');
    const theirs = { ...without(sample as any, 'routeKey'), requestContext: without(rc as any, 'routeKey', 'authentication') };
    const ours = { ...without(e, 'routeKey'), requestContext: without(e.requestContext as any, 'routeKey') };
    assert.deepEqual(ours, theirs);
  });

  for (const [name, kind] of [['apigw-v2-request.json', 'jwt'], ['apigw-v2-request-lambda-authorizer.json', 'lambda']] as const) {
    it(`matches ${name}: cookies, query, path parameters, stage variables, body, authorizer`, () => {
      const sample = fixture(name) as APIGatewayProxyEventV2 & { requestContext: { authorizer: any } };
      const rc = sample.requestContext;
      const e = eventV2(view({
        method: 'GET', rawPath: sample.rawPath, rawQuery: sample.rawQueryString,
        // The sample's body is JSON text: it needs a text Content-Type to come through as text, as on AWS.
        rawHeaders: ['Cookie', sample.cookies!.join('; '), 'Content-Type', 'application/json', 'Header1', 'value1', 'Header2', 'value2'],
        body: Buffer.from(sample.body!), sourceIp: rc.http.sourceIp, userAgent: rc.http.userAgent, routePath: '/my/*',
        pathParameters: { '*': 'hello/world' }, stageVariables: sample.stageVariables as Record<string, string>,
        requestId: rc.requestId, requestTimeEpoch: rc.timeEpoch, domainName: rc.domainName, accountId: rc.accountId, apiId: rc.apiId,
        authorizer: kind === 'jwt' ? rc.authorizer.jwt : rc.authorizer.lambda, authorizerKind: kind,
      })) as Record<string, any>;
      // AWS lower-cases header names; the sample was written by hand with capitals.
      assert.deepEqual(e.headers, { 'content-type': 'application/json', header1: 'value1', header2: 'value2' });
      for (const k of ['version', 'rawPath', 'rawQueryString', 'cookies', 'queryStringParameters', 'pathParameters', 'stageVariables', 'body']) {
        assert.deepEqual(e[k], (sample as unknown as Record<string, unknown>)[k], k);
      }
      assert.equal(e.isBase64Encoded, false);
      assert.deepEqual(e.requestContext.authorizer, rc.authorizer);
      assert.deepEqual(e.requestContext.http, rc.http);
      // time: the sample's '12/Mar/2020:19:03:58+0000' matches neither its timeEpoch nor AWS's format.
      assert.deepEqual(keys(e.requestContext), keys(without(rc as any, 'authentication')));
      assert.deepEqual(keys(e).filter((k) => k !== 'routeKey'), keys(without(sample as any, 'routeKey')).concat(name === 'apigw-v2-request.json' ? ['isBase64Encoded'] : []).sort());
    });
  }
});
