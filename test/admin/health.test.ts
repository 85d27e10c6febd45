import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, startUpstream } from '../helpers/gateway.ts';
import { waitFor } from '../helpers/process.ts';

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

test('GET /health/ready is 503 shutting_down while the gateway drains, live stays 200', async (t) => {
  let release!: () => void;
  const up = await startUpstream((_req, res) => {
    release = () => res.end('done');
  });
  const gw = await startGateway({
    upstreams: { up: { targets: [{ url: up.url }] } },
    routes: [{ name: 'slow', match: { path: '/*' }, upstream: 'up' }],
    server: { shutdownGrace: '10s' },
  });
  t.after(async () => { await gw.close(); await up.close(); });
  assert.equal((await fetch(`${gw.adminUrl}/health/ready`)).status, 200);
  const pending = fetch(`${gw.url}/order`);
  await waitFor(() => up.requests.length === 1, 3000, 'request in flight');
  const stopped = gw.gateway.stop();
  const ready = await fetch(`${gw.adminUrl}/health/ready`);
  assert.equal(ready.status, 503);
  assert.equal(ready.headers.get('content-type'), 'application/problem+json');
  assert.equal((await ready.json() as { code: string }).code, 'shutting_down');
  assert.equal((await fetch(`${gw.adminUrl}/health/live`)).status, 200);
  release();
  assert.equal(await (await pending).text(), 'done');
  await stopped;
  await assert.rejects(fetch(`${gw.adminUrl}/health/live`));
});
