import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chooseRequestId, requestId } from '../../src/plugins/request-id/plugin.ts';
import { assertConfigError, context, create, edits, schemaRefuses } from './support.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('request-id: choosing the id', () => {
  it('keeps a well-formed client id, up to 200 characters', () => {
    assert.equal(chooseRequestId('abc-123_x.y:z', true), 'abc-123_x.y:z');
    const longest = 'a'.repeat(200);
    assert.equal(chooseRequestId(longest, true), longest);
  });

  it('replaces a malformed, empty or too long client id with a UUID', () => {
    for (const bad of ['', 'a b', 'a'.repeat(201), 'id\u00e9', '<script>', 'a,b', 'x\ty']) {
      assert.match(chooseRequestId(bad, true), UUID, JSON.stringify(bad));
    }
  });

  it('generates a fresh UUID when the client id is not trusted or absent', () => {
    assert.match(chooseRequestId('abc', false), UUID);
    const a = chooseRequestId(undefined, true);
    assert.match(a, UUID);
    assert.notEqual(chooseRequestId(undefined, true), a);
  });
});

describe('request-id: config', () => {
  it('refuses a header that cannot carry an id', () => {
    assertConfigError(requestId, { header: 'Connection' }, 'header', /"connection" cannot carry a request id/);
    assertConfigError(requestId, { header: 'content-length' }, 'header', /cannot carry/);
    assertConfigError(requestId, { header: 'host' }, 'header', /cannot carry/);
  });

  it('refuses a header name that is not a token, and unknown keys, in the schema', () => {
    assert.ok(schemaRefuses(requestId, { header: 'x request id' }));
    assert.ok(schemaRefuses(requestId, { echoo: true }));
    assert.ok(!schemaRefuses(requestId, {}));
  });
});

describe('request-id: handlers', () => {
  it('keeps the client id, sets ctx.id, forwards and echoes it (defaults)', () => {
    const h = create(requestId, {});
    const ctx = context({ headers: { 'x-request-id': 'client-1' } });
    assert.equal(h.rewrite!(ctx), undefined);
    assert.equal(ctx.id, 'client-1');
    assert.deepEqual(edits(ctx, 'requestHeaders').set, { 'x-request-id': 'client-1' });
    h.response!(ctx, 200);
    assert.deepEqual(edits(ctx, 'responseHeaders').set, { 'x-request-id': 'client-1' });
  });

  it('uses the configured header, case-insensitively', () => {
    const h = create(requestId, { header: 'X-Correlation-ID' });
    const ctx = context({ headers: { 'x-correlation-id': 'corr-9', 'x-request-id': 'other' } });
    h.rewrite!(ctx);
    assert.equal(ctx.id, 'corr-9');
    assert.deepEqual(edits(ctx, 'requestHeaders').set, { 'x-correlation-id': 'corr-9' });
  });

  it('ignores the client id when trustIncoming is false, and forwards the generated one', () => {
    const h = create(requestId, { trustIncoming: false });
    const ctx = context({ headers: { 'x-request-id': 'client-1' } });
    h.rewrite!(ctx);
    assert.match(ctx.id, UUID);
    assert.deepEqual(edits(ctx, 'requestHeaders').set, { 'x-request-id': ctx.id });
  });

  it('removes the header upstream when forward is false, and has no response handler when echo is false', () => {
    const h = create(requestId, { forward: false, echo: false });
    assert.equal(h.response, undefined);
    const ctx = context({ headers: { 'x-request-id': 'client-1' } });
    h.rewrite!(ctx);
    assert.equal(ctx.id, 'client-1');
    assert.deepEqual(edits(ctx, 'requestHeaders'), { remove: ['x-request-id'], set: {}, add: [] });
  });

  it('chooses the id in response for a request answered before rewrite ran (404, 405…), keeping the client\'s', () => {
    const h = create(requestId, {});
    const ctx = context({ headers: { 'x-request-id': 'client-404' } });
    h.response!(ctx, 404);
    assert.equal(ctx.id, 'client-404');
    assert.deepEqual(edits(ctx, 'responseHeaders').set, { 'x-request-id': 'client-404' });
    const fresh = context({ headers: { 'x-request-id': 'bad id' } });
    h.response!(fresh, 404);
    assert.match(fresh.id, UUID);
    assert.equal(edits(fresh, 'responseHeaders').set['x-request-id'], fresh.id);
  });

  it('does not choose again in response when rewrite already did', () => {
    const h = create(requestId, { trustIncoming: false });
    const ctx = context();
    h.rewrite!(ctx);
    const id = ctx.id;
    h.response!(ctx, 200);
    assert.equal(ctx.id, id);
    assert.equal(edits(ctx, 'responseHeaders').set['x-request-id'], id);
  });
});
