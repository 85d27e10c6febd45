// The Runtime API server, spoken to directly over HTTP as a runtime would: headers of `next`, AWS's status codes
// for answers in and out of turn, the 6 MB limit, and the error bodies it normalises.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { RuntimeApiServer } from '../../../src/functions/local/runtime-api-server.ts';
import type { ErrorPayload } from '../../../src/functions/local/runtime-errors.ts';

type Event = [kind: string, ...args: unknown[]];

describe('RuntimeApiServer', () => {
  let api: RuntimeApiServer;
  let events: Event[];
  let base: string;

  beforeEach(async () => {
    events = [];
    api = new RuntimeApiServer({
      onNext: () => events.push(['next']),
      onResponse: (id, body) => events.push(['response', id, body.toString()]),
      onError: (id, error: ErrorPayload) => events.push(['error', id, error]),
      onTooLarge: (id) => events.push(['tooLarge', id]),
      onInitError: (error) => events.push(['initError', error]),
    });
    await api.listen();
    base = `http://${api.address}/2018-06-01/runtime`;
  });

  afterEach(() => api.close());

  const post = (path: string, body: string | Buffer, headers: Record<string, string> = {}) =>
    fetch(`${base}${path}`, { method: 'POST', body, headers });

  it('long-polls next and hands over the invocation with the Lambda-Runtime-* headers', async () => {
    const next = fetch(`${base}/invocation/next`);
    await new Promise((r) => setTimeout(r, 20));
    api.dispatch({
      requestId: 'r-1', payload: Buffer.from('{"a":1}'), deadlineMs: 1234567890123, invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:f',
      traceId: 'Root=1-abc', clientContext: 'e30=', cognitoIdentity: '{}',
    });
    const res = await next;
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('lambda-runtime-aws-request-id'), 'r-1');
    assert.equal(res.headers.get('lambda-runtime-deadline-ms'), '1234567890123');
    assert.equal(res.headers.get('lambda-runtime-invoked-function-arn'), 'arn:aws:lambda:us-east-1:000000000000:function:f');
    assert.equal(res.headers.get('lambda-runtime-trace-id'), 'Root=1-abc');
    assert.equal(res.headers.get('lambda-runtime-client-context'), 'e30=');
    assert.equal(res.headers.get('lambda-runtime-cognito-identity'), '{}');
    assert.equal(await res.text(), '{"a":1}');

    const accepted = await post('/invocation/r-1/response', '"done"');
    assert.equal(accepted.status, 202);
    assert.deepEqual(await accepted.json(), { status: 'OK' });
    assert.deepEqual(events, [['next'], ['response', 'r-1', '"done"']]);

    assert.equal((await post('/invocation/r-1/response', '"again"')).status, 403, 'a second answer is out of turn');
    assert.equal((await post('/invocation/nope/response', '"x"')).status, 400, 'an unknown request id');
    assert.equal((await post('/init/error', '{}')).status, 403, 'init is over');
    assert.equal((await fetch(`${base}/nothing`)).status, 404);
    assert.equal((await post('/invocation/next', '')).status, 405);
  });

  it('serves an invocation dispatched before the runtime asked for it', async () => {
    api.dispatch({ requestId: 'r-2', payload: Buffer.from('{}'), deadlineMs: 1, invokedFunctionArn: 'arn' });
    const res = await fetch(`${base}/invocation/next`);
    assert.equal(res.headers.get('lambda-runtime-aws-request-id'), 'r-2');
  });

  it('normalises posted errors: the header type when the body has none, `trace` as stackTrace', async () => {
    api.dispatch({ requestId: 'r-3', payload: Buffer.from('{}'), deadlineMs: 1, invokedFunctionArn: 'arn' });
    await (await fetch(`${base}/invocation/next`)).text();
    const res = await post('/invocation/r-3/error', 'not json', { 'Lambda-Runtime-Function-Error-Type': 'Custom.Thing' });
    assert.equal(res.status, 202);
    assert.deepEqual(events.at(-1), ['error', 'r-3', { errorMessage: 'not json', errorType: 'Custom.Thing' }]);

    api.dispatch({ requestId: 'r-4', payload: Buffer.from('{}'), deadlineMs: 1, invokedFunctionArn: 'arn' });
    await (await fetch(`${base}/invocation/next`)).text();
    await post('/invocation/r-4/error', JSON.stringify({ errorType: 'Error', errorMessage: 'm', trace: ['Error: m', 'at x'] }));
    assert.deepEqual(events.at(-1), ['error', 'r-4', { errorMessage: 'm', errorType: 'Error', stackTrace: ['Error: m', 'at x'] }]);
  });

  it('accepts init/error during init', async () => {
    const res = await post('/init/error', JSON.stringify({ errorType: 'Runtime.ImportModuleError', errorMessage: 'gone' }));
    assert.equal(res.status, 202);
    assert.deepEqual(events, [['initError', { errorMessage: 'gone', errorType: 'Runtime.ImportModuleError' }]]);
  });

  it('answers 413 to a response over 6 MB and reports it', async () => {
    api.dispatch({ requestId: 'r-5', payload: Buffer.from('{}'), deadlineMs: 1, invokedFunctionArn: 'arn' });
    await (await fetch(`${base}/invocation/next`)).text();
    const res = await post('/invocation/r-5/response', Buffer.alloc(6_291_557, 'a'));
    assert.equal(res.status, 413);
    assert.equal(((await res.json()) as { errorType: string }).errorType, 'RequestEntityTooLarge');
    assert.deepEqual(events.at(-1), ['tooLarge', 'r-5']);
  });
});
