import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  clientConditional, headersAfter304, notModifiedApplies, notModifiedHeaders, validatorsFor,
} from '../../src/cache/conditional.ts';
import { formatHttpDate } from '../../src/cache/header-fields.ts';

const T0 = 1_754_000_000_000;
const LM = formatHttpDate(T0 - 3600_000);
const STORED = { etag: 'W/"v1"', 'last-modified': LM, date: formatHttpDate(T0), 'content-type': 'text/plain' };

test('If-None-Match matching the stored ETag by weak comparison answers 304', () => {
  assert.equal(clientConditional('GET', { 'if-none-match': '"v0", "v1"' }, STORED), 'not-modified');
  assert.equal(clientConditional('HEAD', { 'if-none-match': 'W/"v1"' }, STORED), 'not-modified');
});

test('If-None-Match that matches nothing serves the stored response', () => {
  assert.equal(clientConditional('GET', { 'if-none-match': '"v2"' }, STORED), undefined);
  assert.equal(clientConditional('GET', { 'if-none-match': '"v1"' }, { date: STORED.date }), undefined, 'no stored ETag');
});

test('If-None-Match: * matches any stored response', () => {
  assert.equal(clientConditional('GET', { 'if-none-match': '*' }, {}), 'not-modified');
});

test('If-None-Match takes precedence over If-Modified-Since', () => {
  const req = { 'if-none-match': '"v2"', 'if-modified-since': formatHttpDate(T0) };
  assert.equal(clientConditional('GET', req, STORED), undefined);
});

test('If-Modified-Since answers 304 when Last-Modified is not later', () => {
  assert.equal(clientConditional('GET', { 'if-modified-since': LM }, STORED), 'not-modified');
  assert.equal(clientConditional('GET', { 'if-modified-since': formatHttpDate(T0 - 7200_000) }, STORED), undefined);
});

test('If-Modified-Since is compared with Date when the stored response has no Last-Modified (RFC 9111 §4.3.2)', () => {
  const stored = { date: formatHttpDate(T0) };
  assert.equal(clientConditional('GET', { 'if-modified-since': formatHttpDate(T0) }, stored), 'not-modified');
  assert.equal(clientConditional('GET', { 'if-modified-since': formatHttpDate(T0 - 1000) }, stored), undefined);
});

test('an invalid If-Modified-Since is ignored', () => {
  assert.equal(clientConditional('GET', { 'if-modified-since': 'yesterday' }, STORED), undefined);
});

test('If-Match and If-Unmodified-Since are forwarded: only the origin can evaluate them (RFC 9111 §4.3.2)', () => {
  assert.equal(clientConditional('GET', { 'if-match': '"v1"' }, STORED), 'forward');
  assert.equal(clientConditional('GET', { 'if-unmodified-since': LM, 'if-none-match': 'W/"v1"' }, STORED), 'forward');
});

test('conditionals on methods other than GET and HEAD are not answered by the cache', () => {
  assert.equal(clientConditional('POST', { 'if-none-match': '*' }, STORED), undefined);
});

test('revalidation sends both If-None-Match and If-Modified-Since when both validators exist', () => {
  assert.deepEqual(validatorsFor(STORED), { 'if-none-match': 'W/"v1"', 'if-modified-since': LM });
  assert.deepEqual(validatorsFor({ 'last-modified': LM }), { 'if-modified-since': LM });
  assert.deepEqual(validatorsFor({}), {});
});

test('a 304 replaces the stored header fields it carries (RFC 9111 §4.3.4)', () => {
  const merged = headersAfter304(
    { ...STORED, 'cache-control': 'max-age=60', 'x-old': 'kept' },
    { 'cache-control': 'max-age=600', date: formatHttpDate(T0 + 5000), 'x-new': ['a', 'b'] },
  );
  assert.deepEqual(merged, {
    ...STORED, 'cache-control': 'max-age=600', date: formatHttpDate(T0 + 5000), 'x-old': 'kept', 'x-new': ['a', 'b'],
  });
});

test('a 304 does not change Content-Length, Content-Encoding or Content-Range (RFC 9111 §3.2)', () => {
  const stored = { 'content-length': '10', 'content-encoding': 'gzip' };
  const merged = headersAfter304(stored, { 'content-length': '0', 'content-encoding': 'br', 'content-range': 'bytes 0-1/10' });
  assert.deepEqual(merged, stored);
});

test('a 304 does not bring hop-by-hop fields, nor those its Connection names', () => {
  const merged = headersAfter304({}, { connection: 'x-hop, close', 'x-hop': '1', 'keep-alive': 'timeout=5', 'transfer-encoding': 'chunked', etag: '"b"' });
  assert.deepEqual(merged, { etag: '"b"' });
});

test('after a 304 the old Age is dropped and a missing Date is taken from the arrival time', () => {
  const merged = headersAfter304({ age: '100', date: formatHttpDate(T0) }, {}, { responseTime: T0 + 60_000 });
  assert.deepEqual(merged, { date: formatHttpDate(T0 + 60_000) });
});

test('a 304 brings Set-Cookie only when storing cookies is allowed', () => {
  assert.deepEqual(headersAfter304({}, { 'set-cookie': ['a=1'] }), {});
  assert.deepEqual(headersAfter304({}, { 'set-cookie': ['a=1'] }, { storeSetCookie: true }), { 'set-cookie': ['a=1'] });
});

test('headersAfter304 returns a new object and leaves the stored one alone', () => {
  const stored = { etag: '"a"' };
  assert.notEqual(headersAfter304(stored, { etag: '"a"' }), stored);
  assert.deepEqual(stored, { etag: '"a"' });
});

test('a 304 applies to the stored response only when its validators match (RFC 9111 §4.3.4)', () => {
  assert.equal(notModifiedApplies({ etag: '"a"' }, { etag: '"a"' }), true);
  assert.equal(notModifiedApplies({ etag: '"a"' }, { etag: '"b"' }), false);
  assert.equal(notModifiedApplies({ etag: 'W/"a"' }, { etag: '"a"' }), false, 'a strong tag needs a strong match');
  assert.equal(notModifiedApplies({ etag: '"a"' }, { etag: 'W/"a"' }), true, 'a weak tag matches weakly');
  assert.equal(notModifiedApplies({}, { etag: '"a"' }), false);
  assert.equal(notModifiedApplies({ 'last-modified': LM }, { 'last-modified': LM }), true);
  assert.equal(notModifiedApplies({ 'last-modified': LM }, { 'last-modified': formatHttpDate(T0) }), false);
  assert.equal(notModifiedApplies({ etag: '"a"' }, { date: formatHttpDate(T0) }), true, 'a 304 without validators answers our request');
});

test('a 304 to the client carries only the fields RFC 9110 §15.4.5 lists', () => {
  const stored = { ...STORED, 'cache-control': 'max-age=60', vary: 'accept', 'content-length': '5', 'set-cookie': ['a=1'] };
  assert.deepEqual(notModifiedHeaders(stored), {
    'cache-control': 'max-age=60', date: STORED.date, etag: STORED.etag, 'last-modified': LM, vary: 'accept',
  });
});
