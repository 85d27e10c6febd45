import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatHttpDate, headerValue, listMembers, parseHttpDate } from '../../src/cache/header-fields.ts';

const NOV_6_1994 = Date.UTC(1994, 10, 6, 8, 49, 37);

test('the three HTTP-date forms of RFC 9110 §5.6.7 parse to the same instant', () => {
  assert.equal(parseHttpDate('Sun, 06 Nov 1994 08:49:37 GMT'), NOV_6_1994);
  assert.equal(parseHttpDate('Sunday, 06-Nov-94 08:49:37 GMT'), NOV_6_1994);
  assert.equal(parseHttpDate('Sun Nov  6 08:49:37 1994'), NOV_6_1994);
});

test('an RFC 850 two-digit year below 70 is in the 2000s', () => {
  assert.equal(parseHttpDate('Tuesday, 01-Jan-30 00:00:00 GMT'), Date.UTC(2030, 0, 1));
});

test('values that are not HTTP-dates are rejected, including ones Date.parse accepts', () => {
  for (const v of ['0', '-1', '2024-01-01T00:00:00Z', 'Mon, 31 Feb 2025 00:00:00 GMT', 'Sun, 06 Nov 1994 25:00:00 GMT', 'Sun, 06 Nov 1994 08:49:37 PST', '', undefined]) {
    assert.equal(parseHttpDate(v), undefined, String(v));
  }
});

test('formatHttpDate writes an IMF-fixdate that parses back', () => {
  assert.equal(formatHttpDate(NOV_6_1994), 'Sun, 06 Nov 1994 08:49:37 GMT');
  assert.equal(parseHttpDate(formatHttpDate(NOV_6_1994)), NOV_6_1994);
});

test('a header with several field lines reads as their values joined with ", "', () => {
  assert.equal(headerValue({ vary: ['accept', 'accept-encoding'] }, 'vary'), 'accept, accept-encoding');
  assert.equal(headerValue({ vary: [] }, 'vary'), undefined);
  assert.equal(headerValue({}, 'vary'), undefined);
});

test('list members split on commas outside quoted strings', () => {
  assert.deepEqual(listMembers(' "a,b", W/"c" ,, d '), ['"a,b"', 'W/"c"', 'd']);
  assert.deepEqual(listMembers('"x\\",y", z'), ['"x\\",y"', 'z']);
});
