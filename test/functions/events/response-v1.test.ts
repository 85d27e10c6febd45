import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { responseV1 } from '../../../src/functions/events/index.ts';
import { fixture, json, ok, reason } from './support.ts';

describe('payload 1.0 response', () => {
  it('maps statusCode, headers and body, and computes Content-Length', () => {
    const a = ok(responseV1(json({ statusCode: 201, headers: { 'Content-Type': 'text/plain', 'X-Id': 7 }, body: 'héllo' }), undefined, []));
    assert.equal(a.status, 201);
    assert.deepEqual(a.headers, [['Content-Type', 'text/plain'], ['X-Id', '7'], ['content-length', '6']]);
    assert.equal(a.body.toString(), 'héllo');
  });

  it('takes a statusCode given as a string of digits', () => {
    assert.equal(ok(responseV1(json({ statusCode: '404' }), undefined, [])).status, 404);
  });

  it('answers application/json with an empty body when the result sets neither', () => {
    const a = ok(responseV1(json({ statusCode: 200 }), undefined, []));
    assert.deepEqual(a.headers, [['Content-Type', 'application/json'], ['content-length', '0']]);
    assert.equal(a.body.length, 0);
  });

  it('sends every multiValueHeaders value on its own line, Set-Cookie never joined', () => {
    const a = ok(responseV1(json({
      statusCode: 200,
      headers: { 'Set-Cookie': 'lost=1', 'Content-Type': 'text/plain', 'X-One': 'single' },
      multiValueHeaders: { 'set-cookie': ['a=1; Path=/', 'b=2; HttpOnly'], 'X-Many': ['x', 'y'] },
    }), undefined, []));
    assert.deepEqual(a.headers.filter(([n]) => n.toLowerCase() === 'set-cookie'), [['set-cookie', 'a=1; Path=/'], ['set-cookie', 'b=2; HttpOnly']]);
    assert.deepEqual(a.headers.filter(([n]) => n === 'X-Many'), [['X-Many', 'x'], ['X-Many', 'y']]);
    assert.deepEqual(a.headers.filter(([n]) => n === 'X-One'), [['X-One', 'single']]);
  });

  it('drops the function\'s Content-Length and hop-by-hop headers', () => {
    const a = ok(responseV1(json({
      statusCode: 200, body: 'abc',
      headers: { 'Content-Length': '999', 'Transfer-Encoding': 'chunked', Connection: 'close', 'Keep-Alive': 'timeout=5', 'Content-Type': 'text/plain' },
    }), undefined, []));
    assert.deepEqual(a.headers, [['Content-Type', 'text/plain'], ['content-length', '3']]);
  });

  it('sends no Content-Length and no body for 204 and 304', () => {
    const a = ok(responseV1(json({ statusCode: 204, body: 'ignored' }), undefined, []));
    assert.equal(a.headers.some(([n]) => n === 'content-length'), false);
    assert.equal(a.body.length, 0);
  });

  it('decodes a base64 body when the first Accept type is a binary media type', () => {
    const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0xff]);
    const result = json({ statusCode: 200, headers: { 'Content-Type': 'image/png' }, body: png.toString('base64'), isBase64Encoded: true });
    assert.deepEqual(ok(responseV1(result, 'image/png, */*', ['image/*'])).body, png);
  });

  it('sends the base64 text as is when the first Accept type is not a binary media type', () => {
    const b64 = Buffer.from([1, 2, 3]).toString('base64');
    const result = json({ statusCode: 200, body: b64, isBase64Encoded: true });
    assert.equal(ok(responseV1(result, 'text/html, image/png', ['image/*'])).body.toString(), b64);
    assert.equal(ok(responseV1(result, undefined, ['image/*'])).body.toString(), b64);
    assert.deepEqual(ok(responseV1(result, undefined, ['*/*'])).body, Buffer.from([1, 2, 3]));
  });

  it('maps AWS\'s sample response', () => {
    const sample = fixture('apigw-response.json');
    const a = ok(responseV1(json(sample), undefined, []));
    assert.equal(a.status, 200);
    assert.equal(a.body.toString(), 'Hello World');
    // Every name is in both maps, so the multi-value lists win: each header once.
    assert.equal(a.headers.filter(([n]) => n === 'Accept').length, 1);
    assert.equal(a.headers.length, Object.keys(sample.multiValueHeaders).length + 2);
  });

  it('calls malformed what API Gateway rejects', () => {
    assert.match(reason(responseV1(Buffer.from('not json'), undefined, [])), /not JSON/);
    assert.match(reason(responseV1(json('hello'), undefined, [])), /not a JSON object/);
    assert.match(reason(responseV1(json([1]), undefined, [])), /not a JSON object/);
    assert.match(reason(responseV1(json(null), undefined, [])), /not a JSON object/);
    assert.match(reason(responseV1(json({ body: 'x' }), undefined, [])), /no statusCode/);
    assert.match(reason(responseV1(json({ statusCode: 'OK' }), undefined, [])), /statusCode/);
    assert.match(reason(responseV1(json({ statusCode: 99 }), undefined, [])), /statusCode/);
    assert.match(reason(responseV1(json({ statusCode: 200, cookies: ['a=1'] }), undefined, [])), /unknown field "cookies"/);
    assert.match(reason(responseV1(json({ statusCode: 200, body: { a: 1 } }), undefined, [])), /body is not a string/);
    assert.match(reason(responseV1(json({ statusCode: 200, multiValueHeaders: { 'X-A': 'x' } }), undefined, [])), /not a list/);
    assert.match(reason(responseV1(json({ statusCode: 200, headers: ['x'] }), undefined, [])), /headers is not an object/);
    assert.match(reason(responseV1(json({ statusCode: 200, headers: { 'X-A': { b: 1 } } }), undefined, [])), /not a string/);
    assert.match(reason(responseV1(json({ statusCode: 200, headers: { 'Bad Name': 'x' } }), undefined, [])), /valid header name/);
    assert.match(reason(responseV1(json({ statusCode: 200, headers: { 'X-A': 'a\r\nInjected: 1' } }), undefined, [])), /not allowed/);
    assert.match(reason(responseV1(json({ statusCode: 200, isBase64Encoded: 'yes' }), undefined, [])), /isBase64Encoded/);
    assert.match(reason(responseV1(json({ statusCode: 200, body: 'not base64!', isBase64Encoded: true }), 'image/png', ['image/*'])), /not base64/);
  });
});
