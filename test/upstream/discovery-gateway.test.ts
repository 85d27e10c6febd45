import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, startUpstream } from '../helpers/gateway.ts';
import { startDnsServer } from '../helpers/dns-server.ts';
import { waitFor } from '../helpers/process.ts';

test('targets discovered through DNS serve traffic, and a DNS change moves it without a failed request', async (t) => {
  const dns = await startDnsServer();
  const a = await startUpstream((_req, res) => res.end('a'));
  const b = await startUpstream((_req, res) => res.end('b'));
  dns.set('kitchen.test', { A: [{ address: '127.0.0.1', ttl: 1 }] });
  dns.set('_http._tcp.mains.test', { SRV: [{ priority: 10, weight: 1, port: a.port, target: 'kitchen.test', ttl: 1 }] });
  const gw = await startGateway({
    upstreams: { mains: { discovery: { dns: [{ name: '_http._tcp.mains.test', type: 'SRV', resolver: dns.resolver, minTtl: '200ms' }] } } },
    routes: [{ name: 'all', match: { path: '/*' }, upstream: 'mains' }],
  });
  t.after(async () => { await gw.close(); await a.close(); await b.close(); await dns.close(); });

  assert.equal(await (await fetch(`${gw.url}/x`)).text(), 'a');
  dns.set('_http._tcp.mains.test', { SRV: [{ priority: 10, weight: 1, port: b.port, target: 'kitchen.test', ttl: 1 }] });
  const answers: string[] = [];
  await waitFor(async () => {
    const res = await fetch(`${gw.url}/x`);
    assert.equal(res.status, 200);
    answers.push(await res.text());
    return answers.at(-1) === 'b';
  }, 5000, 'traffic to move to the new target');
  const ids = gw.gateway.runtime.upstreams.get('mains')!.snapshot().targets.map((x) => x.id);
  assert.deepEqual(ids, [`127.0.0.1:${b.port}`]);
});

test('a config whose DNS names resolve to nothing is refused, naming the upstream', async (t) => {
  const dns = await startDnsServer();
  t.after(() => dns.close());
  await assert.rejects(startGateway({
    upstreams: { mains: { discovery: { dns: [{ name: 'missing.test', port: 80, resolver: dns.resolver }] } } },
    routes: [{ name: 'all', match: { path: '/*' }, upstream: 'mains' }],
  }), (err: Error & { issues?: Array<{ path: string; message: string }> }) => {
    assert.equal(err.issues?.[0]?.path, 'upstreams.mains.discovery');
    assert.match(err.issues![0]!.message, /missing\.test/);
    return true;
  });
});

test('consistent hashing on a header keeps each user on one target', async (t) => {
  const ups = await Promise.all(['a', 'b', 'c'].map((n) => startUpstream((_req, res) => res.end(n))));
  const gw = await startGateway({
    upstreams: { pool: { targets: ups.map((u) => ({ url: u.url })), balancer: 'consistent-hash', hashOn: { source: 'header', name: 'X-User' } } },
    routes: [{ name: 'all', match: { path: '/*' }, upstream: 'pool' }],
  });
  t.after(async () => { await gw.close(); for (const u of ups) await u.close(); });
  const owner = new Map<string, string>();
  for (let round = 0; round < 3; round++) {
    for (let user = 0; user < 30; user++) {
      const got = await (await fetch(`${gw.url}/cart`, { headers: { 'x-user': `user-${user}` } })).text();
      if (round === 0) owner.set(`user-${user}`, got);
      else assert.equal(got, owner.get(`user-${user}`), `user-${user} moved`);
    }
  }
  assert.equal(new Set(owner.values()).size, 3, 'thirty users spread over all three targets');
});
