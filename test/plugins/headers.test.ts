import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { applyHeaderEdits, compileHeaderEdits, headers } from '../../src/plugins/headers/plugin.ts';
import { HeaderEdits } from '../../src/core/headers.ts';
import { assertConfigError, configure, context, create, edits, schemaRefuses } from './support.ts';

describe('headers: config', () => {
  it('refuses header names that are not tokens, at the key path', () => {
    assertConfigError(headers, { request: { add: { 'bad name': 'x' } } }, 'request.add["bad name"]', /invalid header name/);
    assertConfigError(headers, { response: { set: { 'x-a:': 'x' } } }, 'response.set["x-a:"]', /invalid header name/);
    assertConfigError(headers, { request: { remove: ['ok', 'x y'] } }, 'request.remove[1]', /invalid header name/);
  });

  it('refuses values with CR, LF, NUL or characters Node cannot write', () => {
    assertConfigError(headers, { request: { set: { 'X-A': 'a\r\nInjected: 1' } } }, 'request.set.X-A', /U\+000D/);
    assertConfigError(headers, { response: { add: { 'x-a': ['ok', 'b\u0000'] } } }, 'response.add.x-a[1]', /U\+0000/);
    assertConfigError(headers, { response: { add: { 'x-a': 'b\nc' } } }, 'response.add.x-a', /U\+000A/);
    assertConfigError(headers, { response: { set: { 'x-price': '5 \u20ac' } } }, 'response.set.x-price', /U\+20AC/);
    assert.doesNotThrow(() => create(headers, { response: { set: { 'x-a': 'caf\u00e9\ttab' } } }));
  });

  it('refuses hop-by-hop headers and content-length anywhere', () => {
    assertConfigError(headers, { request: { set: { Connection: 'close' } } }, 'request.set.Connection', /hop-by-hop/);
    assertConfigError(headers, { request: { remove: ['Transfer-Encoding'] } }, 'request.remove[0]', /hop-by-hop/);
    for (const name of ['keep-alive', 'te', 'trailer', 'upgrade', 'proxy-connection']) {
      assertConfigError(headers, { response: { add: { [name]: 'x' } } }, `response.add.${name}`, /hop-by-hop/);
    }
    assertConfigError(headers, { response: { set: { 'Content-Length': '0' } } }, 'response.set.Content-Length', /computed by the gateway/);
  });

  it('allows host only in request.set', () => {
    assert.doesNotThrow(() => create(headers, { request: { set: { Host: 'internal.example' } } }));
    assertConfigError(headers, { request: { add: { host: 'a' } } }, 'request.add.host', /only be replaced/);
    assertConfigError(headers, { request: { remove: ['Host'] } }, 'request.remove[0]', /only be replaced/);
    assertConfigError(headers, { response: { set: { host: 'a' } } }, 'response.set.host', /request header/);
  });

  it('refuses a name given twice in different case, and a header both removed and set', () => {
    assertConfigError(headers, { request: { set: { 'X-A': '1', 'x-a': '2' } } }, 'request.set.x-a', /also given as "X-A"/);
    assertConfigError(headers, { response: { remove: ['x-a'], set: { 'X-A': '1' } } }, 'response.set.X-A', /both removed and set/);
  });

  it('refuses unknown keys and non-string values in the schema', () => {
    assert.ok(schemaRefuses(headers, { request: { append: {} } }));
    assert.ok(schemaRefuses(headers, { request: { set: { 'x-a': 1 } } }));
    assert.ok(schemaRefuses(headers, { response: { add: { 'x-a': [] } } }));
  });
});

describe('headers: compiled edits', () => {
  it('lower-cases names, dedupes removals and flattens added lists into separate lines', () => {
    const c = compileHeaderEdits('request', configure(headers, {
      request: { remove: ['X-Debug', 'x-debug'], set: { 'X-Env': 'prod', 'Set-Cookie': ['a=1', 'b=2'] }, add: { Via: ['gw', 'edge'] } },
    }).request);
    assert.deepEqual(c, {
      remove: ['x-debug'],
      set: [['x-env', 'prod'], ['set-cookie', ['a=1', 'b=2']]],
      add: [['via', 'gw'], ['via', 'edge']],
    });
  });

  it('replays remove, set and add onto a request\'s HeaderEdits', () => {
    const c = compileHeaderEdits('response', { remove: ['server'], set: { 'x-a': '1' }, add: { 'x-b': ['2', '3'] } });
    const target = new HeaderEdits();
    applyHeaderEdits(target, c);
    assert.ok(target.overrides('server'));
    const out: string[] = [];
    target.appendTo(out);
    assert.deepEqual(out, ['x-a', '1', 'x-b', '2', 'x-b', '3']);
  });
});

describe('headers: handlers', () => {
  it('registers only the sides that edit something', () => {
    const none = create(headers, {});
    assert.equal(none.rewrite, undefined);
    assert.equal(none.response, undefined);
    const onlyResponse = create(headers, { response: { remove: ['server'] } });
    assert.equal(onlyResponse.rewrite, undefined);
    assert.equal(typeof onlyResponse.response, 'function');
  });

  it('edits request headers in rewrite and response headers in response', () => {
    const h = create(headers, {
      request: { set: { Host: 'internal.example' }, remove: ['cookie'] },
      response: { add: { 'Strict-Transport-Security': 'max-age=63072000' }, remove: ['X-Powered-By'] },
    });
    const ctx = context();
    assert.equal(h.rewrite!(ctx), undefined);
    assert.deepEqual(edits(ctx, 'requestHeaders'), { remove: ['cookie'], set: { host: 'internal.example' }, add: [] });
    h.response!(ctx, 200);
    assert.deepEqual(edits(ctx, 'responseHeaders'), { remove: ['x-powered-by'], set: {}, add: ['strict-transport-security: max-age=63072000'] });
  });
});
