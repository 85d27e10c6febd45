import { test } from 'node:test';
import assert from 'node:assert/strict';
import { storability, type StoreOptions } from '../../src/cache/storable.ts';
import { formatHttpDate, type Headers } from '../../src/cache/header-fields.ts';

const T0 = 1_754_000_000_000;
const OPTS: StoreOptions = { defaultTtlMs: 0, storeSetCookie: false, keyHasConsumer: false };
const FRESH = { 'cache-control': 'max-age=60' };

function check(resHeaders: Headers, more: { method?: string; req?: Headers; status?: number; opts?: Partial<StoreOptions> } = {}) {
  return storability(more.method ?? 'GET', more.req ?? {}, more.status ?? 200, resHeaders, { ...OPTS, ...more.opts });
}
const refused = (reason: string) => ({ store: false, reason });
const stored = { store: true };

test('a GET response with explicit freshness is stored', () => {
  assert.deepEqual(check(FRESH), stored);
});

test('only GET responses are stored (HEAD has no content to store)', () => {
  for (const method of ['HEAD', 'POST', 'get']) assert.deepEqual(check(FRESH, { method }), refused('method'), method);
});

test('206 Partial Content is not stored', () => {
  assert.deepEqual(check(FRESH, { status: 206 }), refused('partial-content'));
});

test('304 and statuses the cache does not understand are not stored', () => {
  for (const status of [304, 299, 599, 103]) assert.deepEqual(check(FRESH, { status }), refused('status'), String(status));
});

test('no-store in the request or the response prevents storing', () => {
  assert.deepEqual(check({ 'cache-control': 'no-store, max-age=60' }), refused('no-store'));
  assert.deepEqual(check(FRESH, { req: { 'cache-control': 'no-store' } }), refused('no-store'));
});

test('must-understand overrides no-store for a status the cache understands (RFC 9111 §5.2.2.3)', () => {
  assert.deepEqual(check({ 'cache-control': 'must-understand, no-store, max-age=60' }), stored);
});

test('private responses are not stored', () => {
  assert.deepEqual(check({ 'cache-control': 'private, max-age=60' }), refused('private'));
  assert.deepEqual(check({ 'cache-control': 'private="x-user", max-age=60' }), refused('private'), 'qualified form too');
});

test('a response with Vary: * is not stored', () => {
  assert.deepEqual(check({ ...FRESH, vary: 'accept, *' }), refused('vary-star'));
});

test('Authorization requests are stored only with public/s-maxage/must-revalidate', () => {
  const req = { authorization: 'Bearer x' };
  assert.deepEqual(check(FRESH, { req }), refused('authorization'));
  for (const cc of ['public, max-age=60', 's-maxage=60', 'max-age=60, must-revalidate']) {
    assert.deepEqual(check({ 'cache-control': cc }, { req }), stored, cc);
  }
});

test('an authenticated request counts as an Authorization request (RFC 9111 §3.5)', () => {
  assert.deepEqual(check(FRESH, { opts: { authenticated: true } }), refused('authorization'));
});

test('an authenticated response is stored when the key holds the consumer', () => {
  assert.deepEqual(check(FRESH, { opts: { authenticated: true, keyHasConsumer: true } }), stored);
  assert.deepEqual(check(FRESH, { req: { authorization: 'Basic eDp5' }, opts: { authenticated: true, keyHasConsumer: true } }), stored);
});

test('a consumer in the key does not make an unchecked Authorization header shareable', () => {
  assert.deepEqual(check(FRESH, { req: { authorization: 'Bearer x' }, opts: { keyHasConsumer: true } }), refused('authorization'));
});

test('Set-Cookie responses are stored only when the route allows it', () => {
  const res = { ...FRESH, 'set-cookie': ['a=1'] };
  assert.deepEqual(check(res), refused('set-cookie'));
  assert.deepEqual(check(res, { opts: { storeSetCookie: true } }), stored);
});

test('the configured statuses restrict what is stored', () => {
  const statuses = new Set([200]);
  assert.deepEqual(check(FRESH, { status: 404, opts: { statuses } }), refused('status'));
  assert.deepEqual(check(FRESH, { status: 200, opts: { statuses } }), stored);
});

test('a configured status may take the default TTL even when it is not heuristically cacheable', () => {
  assert.deepEqual(check({}, { status: 302, opts: { statuses: new Set([302]), defaultTtlMs: 5000 } }), stored);
});

test('without configured statuses, a status that is not heuristically cacheable needs explicit freshness', () => {
  assert.deepEqual(check({}, { status: 500, opts: { defaultTtlMs: 5000 } }), refused('status'));
  assert.deepEqual(check({ 'cache-control': 'max-age=10' }, { status: 500 }), stored);
  assert.deepEqual(check({ expires: formatHttpDate(T0), date: formatHttpDate(T0 - 10_000) }, { status: 302 }), stored);
});

test('a response with no freshness, no validator and no stale window is not stored', () => {
  assert.deepEqual(check({}), refused('no-freshness'));
  assert.deepEqual(check({ expires: '0' }), refused('no-freshness'));
});

test('a response with only a validator, a stale window or the default TTL is stored', () => {
  assert.deepEqual(check({ etag: '"v1"' }), stored);
  assert.deepEqual(check({ 'cache-control': 'max-age=0, stale-if-error=600' }), stored);
  assert.deepEqual(check({}, { opts: { defaultTtlMs: 1000 } }), stored);
});

test('a no-cache response is stored (it is revalidated before every use)', () => {
  assert.deepEqual(check({ 'cache-control': 'no-cache', etag: '"v1"' }), stored);
});

test('a heuristically fresh response (Last-Modified, no expiry) is stored', () => {
  assert.deepEqual(check({ date: formatHttpDate(T0), 'last-modified': formatHttpDate(T0 - 86400_000) }), stored);
});
