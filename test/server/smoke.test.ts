import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, startUpstream, simpleConfig } from '../helpers/gateway.ts';

test('a request is proxied to the upstream and its answer relayed', async (t) => {
  const up = await startUpstream();
  const gw = await startGateway(simpleConfig(up.url, [{ name: 'all', match: { path: '/*' } }]));
  t.after(async () => { await gw.close(); await up.close(); });
  const res = await fetch(`${gw.url}/hello?x=1`);
  assert.equal(res.status, 200);
  const body = await res.json() as { url: string; method: string };
  assert.equal(body.url, '/hello?x=1');
  assert.equal(body.method, 'GET');
});
