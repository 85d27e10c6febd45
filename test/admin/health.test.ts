import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway } from '../helpers/gateway.ts';

const config = { routes: [{ name: 'menu', match: { path: '/menu' }, plugins: { mock: { body: 'soup' } } }] };

test('GET /health/live and /health/ready answer 200 while serving, without the admin token', async (t) => {
  const gw = await startGateway({ ...config, admin: { token: 'a-long-enough-admin-token' } });
  t.after(() => gw.close());
  const live = await fetch(`${gw.adminUrl}/health/live`);
  assert.equal(live.status, 200);
  assert.deepEqual(await live.json(), { status: 'live' });
  const ready = await fetch(`${gw.adminUrl}/health/ready`);
  assert.equal(ready.status, 200);
  assert.deepEqual(await ready.json(), { status: 'ready' });
  // Everything else still needs the token.
  assert.equal((await fetch(`${gw.adminUrl}/status`)).status, 401);
});

test('GET /health/ready is 503 shutting_down once the gateway drains', async (t) => {
  const gw = await startGateway(config);
  t.after(() => gw.close());
  gw.gateway.draining = true;
  const ready = await fetch(`${gw.adminUrl}/health/ready`);
  assert.equal(ready.status, 503);
  assert.equal(ready.headers.get('content-type'), 'application/problem+json');
  assert.equal((await ready.json() as { code: string }).code, 'shutting_down');
  assert.equal((await fetch(`${gw.adminUrl}/health/live`)).status, 200);
});
