import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { responseV2 } from '../../../src/functions/events/index.ts';
import { json, ok, reason } from './support.ts';

describe('payload 2.0 response', () => {
  it('maps statusCode, headers and body, and computes Content-Length', () => {
    const a = ok(responseV2(json({ statusCode: 202, headers: { 'content-type': 'text/html', 'x-n': 1 }, body: '<p>é</p>' })));
    assert.equal(a.status, 202);
    assert.deepEqual(a.headers, [['content-type', 'text/html'], ['x-n', '1'], ['content-length', '9']]);
    assert.equal(a.body.toString(), '<p>é</p>');
  });

  it('sends each cookie as its own Set-Cookie line, never comma-joined', () => {
    const a = ok(responseV2(json({ statusCode: 200, cookies: ['a=1; Expires=Wed, 21 Oct 2026 07:28:00 GMT', 'b=2'], body: '' })));
    assert.deepEqual(a.headers.filter(([n]) => n === 'Set-Cookie'), [['Set-Cookie', 'a=1; Expires=Wed, 21 Oct 2026 07:28:00 GMT'], ['Set-Cookie', 'b=2']]);
  });

  it('answers text/plain when a response sets no Content-Type', () => {
    const a = ok(responseV2(json({ statusCode: 200, body: 'x' })));
    assert.deepEqual(a.headers[0], ['Content-Type', 'text/plain; charset=utf-8']);
  });

  it('always decodes a base64 body', () => {
    const bytes = Buffer.from([0, 1, 2, 250, 255]);
    const a = ok(responseV2(json({ statusCode: 200, headers: { 'content-type': 'application/octet-stream' }, body: bytes.toString('base64'), isBase64Encoded: true })));
    assert.deepEqual(a.body, bytes);
  });

  it('sends a result without statusCode as a 200 application/json body: JSON as is, a bare string as its text', () => {
    const object = ok(responseV2(Buffer.from('{"message":"Hello from Lambda!"}')));
    assert.equal(object.status, 200);
    assert.deepEqual(object.headers, [['Content-Type', 'application/json'], ['content-length', '32']]);
    assert.equal(object.body.toString(), '{"message":"Hello from Lambda!"}');
    assert.equal(ok(responseV2(json('Hello from Lambda!'))).body.toString(), 'Hello from Lambda!');
    assert.equal(ok(responseV2(json([1, 2]))).body.toString(), '[1,2]');
    assert.equal(ok(responseV2(json(42))).body.toString(), '42');
    assert.equal(ok(responseV2(json(null))).body.toString(), 'null');
    // An object whose fields look like a response but lacks statusCode is still just a body.
    assert.equal(ok(responseV2(json({ body: 'x', headers: { a: 'b' } }))).body.toString(), '{"body":"x","headers":{"a":"b"}}');
  });

  it('ignores fields 2.0 does not have', () => {
    const a = ok(responseV2(json({ statusCode: 200, multiValueHeaders: { 'x-a': ['1', '2'] }, extra: true })));
    assert.equal(a.headers.some(([n]) => n === 'x-a'), false);
  });

  it('drops the function\'s Content-Length and hop-by-hop headers', () => {
    const a = ok(responseV2(json({ statusCode: 200, body: 'abc', headers: { 'content-length': '1', 'transfer-encoding': 'chunked', connection: 'keep-alive', 'content-type': 'text/plain' } })));
    assert.deepEqual(a.headers, [['content-type', 'text/plain'], ['content-length', '3']]);
  });

  it('calls malformed what it cannot send', () => {
    assert.match(reason(responseV2(Buffer.from('{oops'))), /not JSON/);
    assert.match(reason(responseV2(json({ statusCode: 'teapot' }))), /statusCode/);
    assert.match(reason(responseV2(json({ statusCode: null }))), /statusCode/);
    assert.match(reason(responseV2(json({ statusCode: 200, body: 5 }))), /body is not a string/);
    assert.match(reason(responseV2(json({ statusCode: 200, cookies: 'a=1' }))), /cookies is not a list/);
    assert.match(reason(responseV2(json({ statusCode: 200, cookies: [1] }))), /cookie is not a string/);
    assert.match(reason(responseV2(json({ statusCode: 200, headers: { 'x-a': 'a\nb' } }))), /not allowed/);
    assert.match(reason(responseV2(json({ statusCode: 200, body: '***', isBase64Encoded: true }))), /not base64/);
  });
});
