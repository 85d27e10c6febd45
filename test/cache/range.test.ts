import { test } from 'node:test';
import assert from 'node:assert/strict';
import { contentRange, MAX_RANGES, rangeFor, unsatisfiedRange } from '../../src/cache/range.ts';
import { formatHttpDate, type Headers } from '../../src/cache/header-fields.ts';

const T0 = 1_754_000_000_000;
const STORED = { etag: '"xyzzy"', 'last-modified': formatHttpDate(T0 - 3600_000), date: formatHttpDate(T0) };
const SIZE = 10_000;
const range = (value: string, more: Headers = {}, method = 'GET') => rangeFor(method, { range: value, ...more }, STORED, SIZE);
const partial = (start: number, end: number) => ({ kind: 'partial', start, end });
const FULL = { kind: 'full' };

test('without Range the whole response is served', () => {
  assert.deepEqual(rangeFor('GET', {}, STORED, SIZE), FULL);
});

test('byte ranges from RFC 9110 §14.1.2 select the bytes they name', () => {
  assert.deepEqual(range('bytes=0-499'), partial(0, 499));
  assert.deepEqual(range('bytes=500-999'), partial(500, 999));
  assert.deepEqual(range('bytes=9500-'), partial(9500, 9999));
  assert.deepEqual(range('bytes=-500'), partial(9500, 9999));
});

test('a last position beyond the end is clamped to the last byte', () => {
  assert.deepEqual(range('bytes=9000-20000'), partial(9000, 9999));
});

test('a suffix longer than the representation selects all of it', () => {
  assert.deepEqual(range('bytes=-20000'), partial(0, 9999));
});

test('a range starting at or past the end is unsatisfiable (416)', () => {
  assert.deepEqual(range('bytes=10000-'), { kind: 'unsatisfiable' });
  assert.deepEqual(range('bytes=-0'), { kind: 'unsatisfiable' });
});

test('one satisfiable range among unsatisfiable ones is served alone', () => {
  assert.deepEqual(range('bytes=20000-30000, 0-9'), partial(0, 9));
});

test('overlapping and adjacent ranges are merged into one', () => {
  assert.deepEqual(range('bytes=0-499, 200-799, 800-899'), partial(0, 899));
});

test('several disjoint ranges are "multi" (the caller serves the whole response)', () => {
  assert.deepEqual(range('bytes=0-0, -1'), { kind: 'multi' });
});

test('an invalid Range header is ignored', () => {
  for (const v of ['bytes=5-2', 'bytes=abc', 'bytes=', 'bytes=-', 'bytes 0-5', 'bytes=0-5,x']) assert.deepEqual(range(v), FULL, v);
});

test('range units other than bytes are ignored', () => {
  assert.deepEqual(range('items=0-5'), FULL);
});

test('the unit name is case-insensitive and spaces around ranges are allowed', () => {
  assert.deepEqual(range('Bytes= 0-9 '), partial(0, 9));
});

test('more than MAX_RANGES ranges are ignored', () => {
  const many = Array.from({ length: MAX_RANGES + 1 }, (_, i) => `${i * 10}-${i * 10}`).join(',');
  assert.deepEqual(range(`bytes=${many}`), FULL);
});

test('Range is honoured only for GET', () => {
  assert.deepEqual(range('bytes=0-9', {}, 'HEAD'), FULL);
});

test('an empty representation is served whole', () => {
  assert.deepEqual(rangeFor('GET', { range: 'bytes=0-9' }, STORED, 0), FULL);
});

test('If-Range with the stored strong ETag serves the range', () => {
  assert.deepEqual(range('bytes=0-9', { 'if-range': '"xyzzy"' }), partial(0, 9));
});

test('If-Range with another or a weak ETag serves the whole response', () => {
  assert.deepEqual(range('bytes=0-9', { 'if-range': '"other"' }), FULL);
  assert.deepEqual(range('bytes=0-9', { 'if-range': 'W/"xyzzy"' }), FULL);
  assert.deepEqual(rangeFor('GET', { range: 'bytes=0-9', 'if-range': '"xyzzy"' }, { etag: 'W/"xyzzy"' }, SIZE), FULL);
});

test('If-Range with a date serves the range only for an exact, strong Last-Modified (RFC 9110 §13.1.5)', () => {
  assert.deepEqual(range('bytes=0-9', { 'if-range': STORED['last-modified'] }), partial(0, 9));
  assert.deepEqual(range('bytes=0-9', { 'if-range': formatHttpDate(T0 - 3599_000) }), FULL, 'not exact');
  const weak = { 'last-modified': formatHttpDate(T0 - 30_000), date: formatHttpDate(T0) };
  assert.deepEqual(rangeFor('GET', { range: 'bytes=0-9', 'if-range': weak['last-modified'] }, weak, SIZE), FULL, 'Date < 60 s after');
});

test('Content-Range is written as RFC 9110 §14.4 shows', () => {
  assert.equal(contentRange(42, 1233, 1234), 'bytes 42-1233/1234');
  assert.equal(unsatisfiedRange(1234), 'bytes */1234');
});
