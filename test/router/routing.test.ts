import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, startUpstream, type TestGateway, type TestUpstream } from '../helpers/gateway.ts';
import { rawRequest, statusOf, jsonBodyOf } from '../helpers/raw.ts';

let up: TestUpstream;
let gw: TestGateway;

before(async () => {
  up = await startUpstream();
  gw = await startGateway({
    upstreams: { up: { targets: [{ url: up.url }] } },
    routes: [
      // Only 10.0.0.0/8 may reach /admin; the test client is 127.0.0.1, so every way of reaching it must be refused.
      { name: 'admin', match: { path: ['/admin', '/admin/*'] }, upstream: 'up', plugins: { 'ip-restriction': { allow: ['10.0.0.0/8'] } } },
      { name: 'public', match: { path: '/public/*' }, upstream: 'up' },
      { name: 'items', match: { path: '/items/:id', methods: ['GET', 'PUT'] }, upstream: 'up' },
      { name: 'v2', match: { path: '/items/:id', methods: ['GET'], headers: { 'x-api-version': '2' } }, upstream: 'up', rewrite: { addPrefix: '/v2' } },
      { name: 'host', match: { path: '/*', host: '*.example.test' }, plugins: { mock: { body: { route: 'host' } } } },
    ],
  });
});
after(async () => {
  await gw.close();
  await up.close();
});

async function get(path: string, headers: Record<string, string> = {}) {
  const raw = await rawRequest(gw.url, `GET ${path} HTTP/1.1\r\nHost: gw.local\r\nConnection: close\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`);
  return { status: statusOf(raw), raw };
}

test('the normalised path is what routing sees: no spelling of /admin escapes its plugins', async () => {
  for (const p of ['/admin', '//admin', '/public/../admin', '/public/%2e%2e/admin', '/./admin', '/%61dmin', '/public/..//admin']) {
    const { status, raw } = await get(p);
    assert.equal(status, 403, `${p} → ${status}`);
    assert.equal(jsonBodyOf(raw).code, 'forbidden', p);
  }
  assert.equal(up.requests.filter((r) => r.url?.includes('admin') && !r.url.startsWith('/public/')).length, 0);
});

test('an encoded slash stays inside its segment, and the normalised path is what is forwarded', async () => {
  const { status, raw } = await get('/public/..%2fadmin');
  assert.equal(status, 200);
  assert.equal(jsonBodyOf(raw).url, '/public/..%2Fadmin');
  const r2 = await get('/public/a/./b/../c?q=../x');
  assert.equal(jsonBodyOf(r2.raw).url, '/public/a/c?q=../x');
});

test('404 and 405 are problem+json, 405 with Allow', async () => {
  const nf = await fetch(`${gw.url}/nowhere`);
  assert.equal(nf.status, 404);
  assert.equal(nf.headers.get('content-type'), 'application/problem+json');
  const body = await nf.json() as Record<string, unknown>;
  assert.equal(body.code, 'route_not_found');
  assert.equal(body.status, 404);
  assert.equal(typeof body.requestId, 'string');
  const na = await fetch(`${gw.url}/items/1`, { method: 'DELETE' });
  assert.equal(na.status, 405);
  assert.deepEqual(na.headers.get('allow')!.split(', ').sort(), ['GET', 'HEAD', 'PUT']);
  assert.equal((await na.json() as Record<string, unknown>).code, 'method_not_allowed');
});

test('header match selects a route and its rewrite', async () => {
  const plain = await (await fetch(`${gw.url}/items/7`)).json() as { url: string };
  assert.equal(plain.url, '/items/7');
  const v2 = await (await fetch(`${gw.url}/items/7`, { headers: { 'x-api-version': '2' } })).json() as { url: string };
  assert.equal(v2.url, '/v2/items/7');
});

test('host wildcard routes by Host header', async () => {
  const { raw } = await rawRequest(gw.url, 'GET /anything HTTP/1.1\r\nHost: shop.example.test\r\nConnection: close\r\n\r\n').then((raw) => ({ raw }));
  assert.equal(statusOf(raw), 200);
  assert.deepEqual(jsonBodyOf(raw), { route: 'host' });
});

test('a malformed path is refused before routing', async () => {
  const { status, raw } = await get('/a%zz');
  assert.equal(status, 400);
  assert.equal(jsonBodyOf(raw).code, 'invalid_path');
});
