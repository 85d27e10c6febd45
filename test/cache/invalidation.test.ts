import { test } from 'node:test';
import assert from 'node:assert/strict';
import { invalidatedUrls } from '../../src/cache/invalidation.ts';

const HOST = 'api.example.com';

test('safe methods invalidate nothing', () => {
  for (const m of ['GET', 'HEAD', 'OPTIONS', 'TRACE']) assert.deepEqual(invalidatedUrls(m, 200, HOST, '/a', {}), [], m);
});

test('an unsafe method with a 2xx or 3xx invalidates its target (RFC 9111 §4.4)', () => {
  assert.deepEqual(invalidatedUrls('POST', 200, HOST, '/a?x=1', {}), ['/a?x=1']);
  assert.deepEqual(invalidatedUrls('DELETE', 303, HOST, '/a', {}), ['/a']);
});

test('unknown methods count as unsafe, and method names are case-sensitive', () => {
  assert.deepEqual(invalidatedUrls('PURGE', 200, HOST, '/a', {}), ['/a']);
  assert.deepEqual(invalidatedUrls('get', 200, HOST, '/a', {}), ['/a']);
});

test('an error or informational status invalidates nothing', () => {
  for (const s of [100, 400, 404, 500]) assert.deepEqual(invalidatedUrls('POST', s, HOST, '/a', {}), [], String(s));
});

test('same-host Location and Content-Location are invalidated too', () => {
  const res = { location: 'https://api.example.com/items/7', 'content-location': '/items/7?view=full' };
  assert.deepEqual(invalidatedUrls('POST', 201, HOST, '/items', res), ['/items', '/items/7', '/items/7?view=full']);
});

test('relative references resolve against the request path', () => {
  assert.deepEqual(invalidatedUrls('PUT', 200, HOST, '/items/7/edit', { location: '../8#top' }), ['/items/7/edit', '/items/8']);
});

test('URLs on another host are ignored', () => {
  const res = { location: 'https://evil.example/items', 'content-location': '//other.example.com/x' };
  assert.deepEqual(invalidatedUrls('POST', 201, HOST, '/items', res), ['/items']);
});

test('the port is part of the host', () => {
  assert.deepEqual(invalidatedUrls('POST', 201, 'h:8080', '/a', { location: 'http://h/b' }), ['/a']);
  assert.deepEqual(invalidatedUrls('POST', 201, 'h:8080', '/a', { location: 'http://h:8080/b' }), ['/a', '/b']);
});

test('a request path that looks like a network path does not change the host', () => {
  assert.deepEqual(invalidatedUrls('POST', 201, HOST, '//evil.example/x', { location: '/y' }), ['//evil.example/x', '/y']);
});

test('duplicate URLs are listed once', () => {
  assert.deepEqual(invalidatedUrls('PUT', 200, HOST, '/a', { location: '/a', 'content-location': '/a' }), ['/a']);
});
