import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ageHeader, currentAgeMs, freshnessLifetimeMs, HEURISTIC_CAP_MS, storeTtlMs, usability, type UsabilityInput,
} from '../../src/cache/freshness.ts';
import { formatHttpDate, type Headers } from '../../src/cache/header-fields.ts';

/** A whole-second epoch time, so Date headers (second precision) say exactly T0. */
const T0 = 1_754_000_000_000;
const S = 1000;
const date = (ms: number) => formatHttpDate(ms);

test('s-maxage overrides max-age for a shared cache', () => {
  assert.equal(freshnessLifetimeMs(200, { 'cache-control': 'max-age=60, s-maxage=600' }, 0), 600 * S);
});

test('max-age overrides Expires (RFC 9111 §5.3)', () => {
  assert.equal(freshnessLifetimeMs(200, { 'cache-control': 'max-age=60', date: date(T0), expires: date(T0 + 3600 * S) }, 0), 60 * S);
});

test('the lifetime from Expires is Expires minus Date', () => {
  assert.equal(freshnessLifetimeMs(200, { date: date(T0), expires: date(T0 + 90 * S) }, 0), 90 * S);
});

test('Expires: 0 means already stale, even with Last-Modified or a default TTL', () => {
  const headers = { date: date(T0), expires: '0', 'last-modified': date(T0 - 86400 * S) };
  assert.equal(freshnessLifetimeMs(200, headers, 60 * S), 0);
});

test('an Expires before Date is a lifetime of 0, not a negative one', () => {
  assert.equal(freshnessLifetimeMs(200, { date: date(T0), expires: date(T0 - 10 * S) }, 0), 0);
});

test('an invalid max-age means stale (RFC 9111 §4.2.1), it does not fall through to Expires', () => {
  assert.equal(freshnessLifetimeMs(200, { 'cache-control': 'max-age=soon', date: date(T0), expires: date(T0 + 60 * S) }, 0), 0);
  assert.equal(freshnessLifetimeMs(200, { 'cache-control': 's-maxage=-5, max-age=60' }, 0), 0);
});

test('without Date, Expires is measured from the time the response arrived', () => {
  assert.equal(freshnessLifetimeMs(200, { expires: date(T0 + 30 * S) }, 0, T0), 30 * S);
});

test('heuristic freshness is 10% of the time between Last-Modified and Date (RFC 9111 §4.2.2)', () => {
  assert.equal(freshnessLifetimeMs(200, { date: date(T0), 'last-modified': date(T0 - 1000 * S) }, 0), 100 * S);
});

test('heuristic freshness is capped at one day', () => {
  assert.equal(freshnessLifetimeMs(200, { date: date(T0), 'last-modified': date(T0 - 365 * 86400 * S) }, 0), HEURISTIC_CAP_MS);
});

test('heuristics apply only to heuristically cacheable statuses, or to public responses', () => {
  const headers = { date: date(T0), 'last-modified': date(T0 - 1000 * S) };
  assert.equal(freshnessLifetimeMs(302, headers, 0), 0);
  assert.equal(freshnessLifetimeMs(302, { ...headers, 'cache-control': 'public' }, 0), 100 * S);
  assert.equal(freshnessLifetimeMs(404, headers, 0), 100 * S);
});

test('the configured default TTL applies when there is no explicit or heuristic freshness', () => {
  assert.equal(freshnessLifetimeMs(200, {}, 30 * S), 30 * S);
  assert.equal(freshnessLifetimeMs(200, { date: date(T0), 'last-modified': date(T0) }, 30 * S), 30 * S, 'a heuristic of 0 is none');
  assert.equal(freshnessLifetimeMs(200, {}, 0), 0);
});

test('Age is computed from Date, Age and the response delay (§4.2.3)', () => {
  // Sent at T0, answered at T0+2s; the origin's Date is 5 s before T0 (apparent age 7 s) and an upstream cache says Age: 3
  // (corrected age 3 + 2 = 5 s): the larger, 7 s, plus 10 s resident.
  const timing = { requestTime: T0, responseTime: T0 + 2 * S };
  assert.equal(currentAgeMs({ date: date(T0 - 5 * S), age: '3' }, timing, T0 + 12 * S), 17 * S);
  // An Age of 30 outweighs the apparent age: 30 + 2 (response delay) + 10 resident.
  assert.equal(currentAgeMs({ date: date(T0 - 5 * S), age: '30' }, timing, T0 + 12 * S), 42 * S);
});

test('a Date ahead of the cache clock gives an apparent age of 0, not a negative age', () => {
  const timing = { requestTime: T0, responseTime: T0 };
  assert.equal(currentAgeMs({ date: date(T0 + 3600 * S) }, timing, T0 + 4 * S), 4 * S);
});

test('a missing Date or an invalid Age count as 0', () => {
  const timing = { requestTime: T0, responseTime: T0 + S };
  assert.equal(currentAgeMs({ age: 'ten' }, timing, T0 + 5 * S), 5 * S, 'response delay 1 s + 4 s resident');
});

test('the Age header is whole seconds rounded down, never negative', () => {
  assert.equal(ageHeader(1999), '1');
  assert.equal(ageHeader(-5), '0');
  assert.equal(ageHeader(1e15), String(2 ** 31));
});

/** A stored 200 received at T0 with these headers, asked for `ageS` seconds later. */
function use(resHeaders: Headers, ageS: number, reqHeaders: Headers = {}, more: Partial<UsabilityInput> = {}) {
  return usability({
    status: 200, resHeaders: { date: date(T0), ...resHeaders }, timing: { requestTime: T0, responseTime: T0 },
    reqHeaders, now: T0 + ageS * S, defaultTtlMs: 0, honourRequestNoCache: true, ...more,
  });
}

test('a response younger than its freshness lifetime is fresh', () => {
  const r = use({ 'cache-control': 'max-age=60' }, 59);
  assert.deepEqual(r, { usability: { use: 'fresh' }, ageMs: 59 * S, freshnessMs: 60 * S, staleIfErrorMs: 0 });
});

test('a response whose age equals its lifetime is stale (fresh means lifetime > age)', () => {
  assert.deepEqual(use({ 'cache-control': 'max-age=60' }, 60).usability, { use: 'revalidate' });
});

test('a no-cache response is revalidated before every use, even fresh, and never served on error', () => {
  const r = use({ 'cache-control': 'no-cache, max-age=600, stale-if-error=600' }, 1);
  assert.deepEqual(r.usability, { use: 'revalidate' });
  assert.equal(r.staleIfErrorMs, 0);
  assert.deepEqual(use({ 'cache-control': 'no-cache="set-cookie", max-age=600' }, 1).usability, { use: 'revalidate' }, 'qualified form too');
});

test('request no-cache forces revalidation, and the fresh entry may stand in if the origin fails', () => {
  assert.deepEqual(use({ 'cache-control': 'max-age=60' }, 1, { 'cache-control': 'no-cache' }).usability, { use: 'stale-if-error' });
});

test('request no-cache and Pragma: no-cache are ignored when the route does not honour them', () => {
  const more = { honourRequestNoCache: false };
  assert.deepEqual(use({ 'cache-control': 'max-age=60' }, 1, { 'cache-control': 'no-cache' }, more).usability, { use: 'fresh' });
  assert.deepEqual(use({ 'cache-control': 'max-age=60' }, 1, { pragma: 'no-cache' }, more).usability, { use: 'fresh' });
  assert.deepEqual(use({ 'cache-control': 'max-age=60' }, 10, { 'cache-control': 'max-age=0' }, more).usability, { use: 'fresh' });
});

test('Pragma: no-cache forces revalidation when the request has no Cache-Control', () => {
  assert.deepEqual(use({ 'cache-control': 'max-age=60' }, 1, { pragma: 'no-cache' }).usability, { use: 'stale-if-error' });
  assert.deepEqual(use({ 'cache-control': 'max-age=60' }, 1, { pragma: 'no-cache', 'cache-control': 'max-stale' }).usability, { use: 'fresh' });
});

test('request max-age=N accepts a fresh response only if its age is at most N', () => {
  assert.deepEqual(use({ 'cache-control': 'max-age=600' }, 30, { 'cache-control': 'max-age=30' }).usability, { use: 'fresh' });
  assert.deepEqual(use({ 'cache-control': 'max-age=600' }, 31, { 'cache-control': 'max-age=30' }).usability, { use: 'stale-if-error' });
});

test('request min-fresh=N accepts a response only if it stays fresh N more seconds', () => {
  assert.deepEqual(use({ 'cache-control': 'max-age=100' }, 40, { 'cache-control': 'min-fresh=60' }).usability, { use: 'fresh' });
  assert.deepEqual(use({ 'cache-control': 'max-age=100' }, 41, { 'cache-control': 'min-fresh=60' }).usability, { use: 'stale-if-error' });
});

test('a fresh immutable response ignores request no-cache and max-age (RFC 8246)', () => {
  const res = { 'cache-control': 'max-age=31536000, immutable' };
  assert.deepEqual(use(res, 100, { 'cache-control': 'no-cache' }).usability, { use: 'fresh' });
  assert.deepEqual(use(res, 100, { 'cache-control': 'max-age=0' }).usability, { use: 'fresh' });
});

test('must-revalidate forbids serving stale even with max-stale', () => {
  const r = use({ 'cache-control': 'max-age=60, must-revalidate, stale-while-revalidate=60, stale-if-error=60' }, 61, { 'cache-control': 'max-stale' });
  assert.deepEqual(r.usability, { use: 'revalidate' });
  assert.equal(r.staleIfErrorMs, 0, 'RFC 9111 §5.2.2.2 asks for a 504 rather than a stale response');
});

test('proxy-revalidate and s-maxage forbid a shared cache to serve stale', () => {
  for (const cc of ['max-age=60, proxy-revalidate, stale-while-revalidate=60', 's-maxage=60, stale-while-revalidate=60']) {
    assert.deepEqual(use({ 'cache-control': cc }, 61, { 'cache-control': 'max-stale' }).usability, { use: 'revalidate' }, cc);
  }
});

test('must-revalidate does not stop a fresh response from being served', () => {
  assert.deepEqual(use({ 'cache-control': 'max-age=60, must-revalidate' }, 30).usability, { use: 'fresh' });
});

test('max-stale without a value accepts any staleness', () => {
  assert.deepEqual(use({ 'cache-control': 'max-age=60' }, 86400, { 'cache-control': 'max-stale' }).usability, { use: 'stale', why: 'max-stale' });
});

test('max-stale=N accepts a response stale by at most N seconds', () => {
  assert.deepEqual(use({ 'cache-control': 'max-age=60' }, 90, { 'cache-control': 'max-stale=30' }).usability, { use: 'stale', why: 'max-stale' });
  assert.deepEqual(use({ 'cache-control': 'max-age=60' }, 91, { 'cache-control': 'max-stale=30' }).usability, { use: 'revalidate' });
});

test('a stale response within its stale-while-revalidate window is served while it is refreshed (RFC 5861 §3.1)', () => {
  // The RFC's example: max-age=600, stale-while-revalidate=30.
  const res = { 'cache-control': 'max-age=600, stale-while-revalidate=30' };
  assert.deepEqual(use(res, 615).usability, { use: 'stale', why: 'stale-while-revalidate' });
  assert.deepEqual(use(res, 630).usability, { use: 'stale', why: 'stale-while-revalidate' });
  assert.deepEqual(use(res, 631).usability, { use: 'revalidate' });
});

test('a stale response within its stale-if-error window may stand in for a failing origin (RFC 5861 §4.1)', () => {
  // The RFC's example: max-age=600, stale-if-error=1200; usable on error until it is 1800 s old.
  const res = { 'cache-control': 'max-age=600, stale-if-error=1200' };
  const r = use(res, 900);
  assert.deepEqual(r.usability, { use: 'stale-if-error' });
  assert.equal(r.staleIfErrorMs, 1200 * S);
  assert.deepEqual(use(res, 1800).usability, { use: 'stale-if-error' });
  assert.deepEqual(use(res, 1801).usability, { use: 'revalidate' });
});

test("the request's stale-if-error overrides the response's", () => {
  const res = { 'cache-control': 'max-age=60, stale-if-error=10' };
  const r = use(res, 100, { 'cache-control': 'stale-if-error=60' });
  assert.equal(r.staleIfErrorMs, 60 * S);
  assert.deepEqual(r.usability, { use: 'stale-if-error' });
});

test('a stale response without windows must be revalidated', () => {
  assert.deepEqual(use({ 'cache-control': 'max-age=60' }, 61).usability, { use: 'revalidate' });
});

test('the stored time is kept: remaining freshness when there is nothing else', () => {
  assert.equal(storeTtlMs(60 * S, { 'cache-control': 'max-age=60' }, 10 * S), 50 * S);
});

test('the stored time covers the longest stale window', () => {
  assert.equal(storeTtlMs(60 * S, { 'cache-control': 'max-age=60, stale-while-revalidate=30, stale-if-error=300' }, 0), 360 * S);
});

test('a response with a validator is kept one more lifetime (1 min to 1 day) for revalidation', () => {
  assert.equal(storeTtlMs(600 * S, { etag: '"a"' }, 0), 1200 * S);
  assert.equal(storeTtlMs(0, { 'last-modified': date(T0) }, 0), 60 * S);
  assert.equal(storeTtlMs(30 * 86400 * S, { etag: '"a"' }, 0), 31 * 86400 * S);
});

test('stale windows do not extend the stored time of a response that forbids serving stale', () => {
  assert.equal(storeTtlMs(60 * S, { 'cache-control': 'max-age=60, must-revalidate, stale-if-error=600' }, 0), 60 * S);
});

test('an expired response with no validator or window has no stored time', () => {
  assert.equal(storeTtlMs(60 * S, { 'cache-control': 'max-age=60' }, 61 * S), 0);
});
