import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mock, renderMockReply } from '../../src/plugins/mock/plugin.ts';
import { assertConfigError, configure, context, create, schemaRefuses } from './support.ts';

const render = (input: unknown) => renderMockReply(configure(mock, input));

describe('mock: rendering', () => {
  it('sends a string body as UTF-8 text', () => {
    const r = render({ body: 'caf\u00e9' });
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, Buffer.from('café'));
    assert.deepEqual(r.headers, { 'content-type': 'text/plain; charset=utf-8' });
  });

  it('serialises any other JSON value as application/json', () => {
    assert.equal(String(render({ body: { items: [1, 2], ok: true } }).body), '{"items":[1,2],"ok":true}');
    assert.equal(render({ body: [1] }).headers?.['content-type'], 'application/json');
    assert.equal(String(render({ body: null }).body), 'null');
    assert.equal(String(render({ body: 0 }).body), '0');
  });

  it('lets contentType or a content-type header replace the derived type', () => {
    assert.equal(render({ body: '<p>hi</p>', contentType: 'text/html' }).headers?.['content-type'], 'text/html');
    assert.equal(render({ body: {}, headers: { 'Content-Type': 'application/vnd.api+json' } }).headers?.['content-type'], 'application/vnd.api+json');
  });

  it('has no body and no content type when body is omitted', () => {
    const r = render({ status: 503, headers: { 'Retry-After': '120' } });
    assert.equal(r.status, 503);
    assert.equal(r.body, undefined);
    assert.deepEqual(r.headers, { 'retry-after': '120' });
  });

  it('leaves content-length to the gateway, which computes it from the body', () => {
    assert.equal(render({ body: 'x' }).headers?.['content-length'], undefined);
  });

  it('is frozen, so one request cannot change the next one\'s reply', () => {
    const r = render({ body: 'x', headers: { 'x-a': ['1', '2'] } });
    assert.ok(Object.isFrozen(r));
    assert.ok(Object.isFrozen(r.headers));
    assert.ok(Object.isFrozen(r.headers?.['x-a']));
  });
});

describe('mock: config', () => {
  it('refuses a body on a status that has none', () => {
    assertConfigError(mock, { status: 204, body: 'x' }, 'body', /204 reply has no body/);
    assertConfigError(mock, { status: 304, body: {} }, 'body', /304/);
    assert.doesNotThrow(() => create(mock, { status: 204 }));
  });

  it('refuses a content type given twice', () => {
    assertConfigError(mock, { body: 'x', contentType: 'text/html', headers: { 'content-type': 'text/plain' } }, 'contentType', /given twice/);
  });

  it('refuses bad header names and values, hop-by-hop headers and content-length', () => {
    assertConfigError(mock, { headers: { 'x y': '1' } }, 'headers["x y"]', /invalid header name/);
    assertConfigError(mock, { headers: { 'x-a': 'a\r\nb' } }, 'headers.x-a', /U\+000D/);
    assertConfigError(mock, { headers: { Connection: 'close' } }, 'headers.Connection', /hop-by-hop/);
    assertConfigError(mock, { headers: { 'content-length': '5' } }, 'headers.content-length', /computed by the gateway/);
    assertConfigError(mock, { contentType: 'text/plain\n' }, 'contentType', /U\+000A/);
  });

  it('refuses statuses outside 200-599 and unknown keys in the schema', () => {
    assert.ok(schemaRefuses(mock, { status: 101 }));
    assert.ok(schemaRefuses(mock, { status: 600 }));
    assert.ok(schemaRefuses(mock, { bodyy: 'x' }));
  });
});

describe('mock: handler', () => {
  it('answers every request with the same reply in cacheLookup', () => {
    const h = create(mock, { status: 201, body: { created: true } });
    const a = h.cacheLookup!(context());
    const b = h.cacheLookup!(context({ method: 'POST' }));
    assert.ok(a !== undefined && !(a instanceof Promise));
    assert.equal(a, b);
    assert.equal(a.status, 201);
    assert.equal(String(a.body), '{"created":true}');
  });
});
