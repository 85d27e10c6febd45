import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { simpleConfig, startGateway, startUpstream } from '../helpers/gateway.ts';

describe('rate-limit decisions on /metrics', () => {
  it('counts allowed and limited requests per policy, with the key class and never a client value', async (t) => {
    const up = await startUpstream();
    const gw = await startGateway(simpleConfig(up.url, [
      { name: 'orders', match: { path: '/orders' }, plugins: { 'rate-limit': { limits: [{ rate: '1/m', burst: 2 }], by: 'ip' } } },
    ]));
    t.after(async () => { await gw.close(); await up.close(); });
    const statuses = [];
    for (let i = 0; i < 5; i++) statuses.push((await fetch(`${gw.url}/orders`)).status);
    assert.deepEqual(statuses, [200, 200, 429, 429, 429]);
    const body = await (await fetch(`${gw.adminUrl}/metrics`)).text();
    const samples = body.split('\n').filter((l) => l.startsWith('expeditor_ratelimit_requests_total{'));
    const value = (outcome: string) => Number(samples.find((l) => l.includes(`outcome="${outcome}"`))?.split(' ').at(-1));
    assert.equal(value('allowed'), 2, body);
    assert.equal(value('rate_limited'), 3, body);
    for (const l of samples) {
      assert.match(l, /source="rate-limit"/);
      assert.match(l, /key="ip"/);
      assert.doesNotMatch(l, /127\.0\.0\.1/, 'no client address in a label');
    }
    assert.match(body, /# TYPE expeditor_ratelimit_requests_total counter/);
  });
});
