import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deltaSeconds, onlyIfCached, parseCacheControl, requestCacheControl } from '../../src/cache/directives.ts';

const cc = (v: string | string[] | undefined) => ({ ...parseCacheControl(v) });

test('directives are lower-cased; a bare directive is true and an argument is a string', () => {
  assert.deepEqual(cc('Public, MAX-AGE=60, No-Transform'), { public: true, 'max-age': '60', 'no-transform': true });
});

test('quoted arguments are unquoted, keep their commas and lose their backslash escapes', () => {
  assert.deepEqual(cc('private="set-cookie, x-user", ext="a \\"b\\" c", max-age=5'), {
    private: 'set-cookie, x-user',
    ext: 'a "b" c',
    'max-age': '5',
  });
});

test('the first occurrence of a repeated directive wins (RFC 9111 §4.2.1)', () => {
  assert.equal(parseCacheControl('max-age=10, max-age=20')['max-age'], '10');
});

test('several field lines are read as one list', () => {
  assert.deepEqual(cc(['no-cache', 'max-age=3, s-maxage=4']), { 'no-cache': true, 'max-age': '3', 's-maxage': '4' });
});

test('whitespace and empty list members are tolerated', () => {
  assert.deepEqual(cc(' ,  max-age = 7 ,, must-revalidate ,'), { 'max-age': '7', 'must-revalidate': true });
});

test('an absent or empty header gives no directives', () => {
  assert.deepEqual(cc(undefined), {});
  assert.deepEqual(cc(''), {});
});

test('directives named like Object.prototype members are ordinary directives', () => {
  const parsed = parseCacheControl('constructor, __proto__=1');
  assert.equal(parsed['constructor'], true);
  assert.equal(parsed['__proto__'], '1');
  assert.equal(parseCacheControl('max-age=1')['constructor'], undefined);
});

test('delta-seconds is a non-negative decimal integer (RFC 9111 §1.2.2)', () => {
  const parsed = parseCacheControl('a=0, b=120, c="30", d=-1, e=1.5, f=, g, h=1e3, i= 12');
  assert.equal(deltaSeconds(parsed, 'a'), 0);
  assert.equal(deltaSeconds(parsed, 'b'), 120);
  assert.equal(deltaSeconds(parsed, 'c'), 30, 'the quoted form is accepted too');
  for (const invalid of ['d', 'e', 'f', 'g', 'h', 'missing']) assert.equal(deltaSeconds(parsed, invalid), undefined, invalid);
  assert.equal(deltaSeconds(parsed, 'i'), 12);
});

test('delta-seconds beyond 2^31 clamps to 2^31 (RFC 9111 §1.2.2)', () => {
  assert.equal(deltaSeconds(parseCacheControl('max-age=2147483649'), 'max-age'), 2 ** 31);
  assert.equal(deltaSeconds(parseCacheControl(`max-age=${'9'.repeat(400)}`), 'max-age'), 2 ** 31);
});

test('Pragma: no-cache counts as no-cache only when the request has no Cache-Control (RFC 9111 §5.4)', () => {
  assert.equal(requestCacheControl({ pragma: 'no-cache' })['no-cache'], true);
  assert.equal(requestCacheControl({ pragma: 'no-cache', 'cache-control': 'max-age=60' })['no-cache'], undefined);
  assert.equal(requestCacheControl({ pragma: 'x-other' })['no-cache'], undefined);
});

test('only-if-cached is read from the request (RFC 9111 §5.2.1.7)', () => {
  assert.equal(onlyIfCached({ 'cache-control': 'max-stale, only-if-cached' }), true);
  assert.equal(onlyIfCached({}), false);
});
