import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cacheStatus } from '../../src/cache/cache-status.ts';

test('a hit shows hit and the freshness left', () => {
  assert.equal(cacheStatus({ hit: true, ttlSeconds: 37 }), 'Expeditor; hit; ttl=37');
});

test('a miss shows the forward reason, the origin status and whether it was stored', () => {
  assert.equal(cacheStatus({ fwd: 'uri-miss', fwdStatus: 200, stored: true }), 'Expeditor; fwd=uri-miss; fwd-status=200; stored');
});

test('a revalidation shows fwd=stale and the 304', () => {
  assert.equal(cacheStatus({ fwd: 'stale', fwdStatus: 304 }), 'Expeditor; fwd=stale; fwd-status=304');
});

test('detail is a quoted string, escaped', () => {
  assert.equal(cacheStatus({ fwd: 'uri-miss', detail: 'no-store' }), 'Expeditor; fwd=uri-miss; detail="no-store"');
  assert.equal(cacheStatus({ detail: 'say "hi" \\ é' }), 'Expeditor; detail="say \\"hi\\" \\\\ ?"');
});

test('ttl is an integer and may be negative for a stale response', () => {
  assert.equal(cacheStatus({ hit: true, ttlSeconds: -12.7 }), 'Expeditor; hit; ttl=-12');
  assert.equal(cacheStatus({ hit: true, ttlSeconds: -0.2 }), 'Expeditor; hit; ttl=0');
});

test('false booleans are left out; collapsed and key appear in the RFC 9211 order', () => {
  assert.equal(cacheStatus({ hit: false, fwd: 'miss', stored: false, collapsed: true, key: 'GET /a' }), 'Expeditor; fwd=miss; collapsed; key="GET /a"');
});

test('the cache name is a token when it can be, otherwise a string (RFC 9211 §2 examples)', () => {
  assert.equal(cacheStatus({ hit: true }, 'ExampleCache'), 'ExampleCache; hit');
  assert.equal(cacheStatus({ hit: true, ttlSeconds: 545 }, 'CDN Company Here'), '"CDN Company Here"; hit; ttl=545');
});
