import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { Agent, request } from 'undici';
import { startGateway, startUpstream } from '../helpers/gateway.ts';
import { spawnGateway, waitFor } from '../helpers/process.ts';

function configFor(upstreamUrl: string, label: string) {
  return {
    upstreams: { up: { targets: [{ url: upstreamUrl }] } },
    routes: [{ name: 'all', match: { path: '/*' }, upstream: 'up', plugins: { headers: { response: { set: { 'x-config': label } } } } }],
  };
}

test('reload under load: 20 swaps while keep-alive clients hammer the gateway lose no request', async (t) => {
  const a = await startUpstream((_req, res) => res.end('A'));
  const b = await startUpstream((_req, res) => res.end('B'));
  const gw = await startGateway(configFor(a.url, 'A'));
  const agent = new Agent({ connections: 8, pipelining: 1 });
  t.after(async () => { await agent.close(); await gw.close(); await a.close(); await b.close(); });

  let stop = false;
  const seen = { A: 0, B: 0 };
  const failures: string[] = [];
  const worker = async () => {
    while (!stop) {
      try {
        const res = await request(`${gw.url}/x`, { dispatcher: agent });
        const text = await res.body.text();
        const label = res.headers['x-config'];
        // Each response comes from exactly one config: the body (upstream) and the header (plugin) agree.
        if (res.statusCode !== 200 || (text !== 'A' && text !== 'B') || label !== text) failures.push(`${res.statusCode} ${text} ${label}`);
        else seen[text as 'A' | 'B']++;
      } catch (err) {
        failures.push(String(err));
      }
    }
  };
  const workers = Array.from({ length: 8 }, worker);
  for (let i = 1; i <= 20; i++) {
    const label = i % 2 === 0 ? 'A' : 'B';
    await gw.gateway.apply(configFor(label === 'A' ? a.url : b.url, label));
    await waitFor(() => seen[label] > 0 || false, 5000, `traffic on config ${label}`);
    seen[label] = 0;
  }
  stop = true;
  await Promise.all(workers);
  assert.deepEqual(failures, []);
  assert.equal(gw.gateway.reloads, 20);
});

test('a request in flight finishes on the config it started with, even when its route is removed', async (t) => {
  let release!: () => void;
  const started = new Promise<void>((resolve) => {
    const slow = http.createServer((_req, res) => {
      resolve();
      release = () => res.end('slow done');
    });
    t.after(() => slow.close());
    slow.listen(0, '127.0.0.1', async () => {
      const port = (slow.address() as { port: number }).port;
      gwPromise.resolve(await startGateway(configFor(`http://127.0.0.1:${port}`, 'old')));
    });
  });
  const gwPromise = Promise.withResolvers<Awaited<ReturnType<typeof startGateway>>>();
  const gw = await gwPromise.promise;
  t.after(() => gw.close());
  const pending = fetch(`${gw.url}/slow`);
  await started;
  await gw.gateway.apply({ routes: [{ name: 'other', match: { path: '/other' }, plugins: { mock: { body: 'new' } } }] });
  assert.equal((await fetch(`${gw.url}/slow`)).status, 404);
  release();
  const res = await pending;
  assert.equal(res.status, 200);
  assert.equal(await res.text(), 'slow done');
  assert.equal(res.headers.get('x-config'), 'old');
});

test('the CLI reloads on file change and on SIGHUP; a broken file is refused and the old config keeps serving', async (t) => {
  const up = await startUpstream((_req, res) => res.end('up'));
  const gp = await spawnGateway(configFor(up.url, 'v1'));
  t.after(async () => { await gp.stop(); await up.close(); });
  const label = async () => (await fetch(`${gp.url}/x`)).headers.get('x-config');
  assert.equal(await label(), 'v1');

  gp.writeConfig(configFor(up.url, 'v2'));
  await waitFor(async () => (await label()) === 'v2', 5000, 'file-change reload');

  gp.writeConfig({ routes: [{ name: 'bad', match: { path: '/x' }, upstream: 'missing' }] });
  await waitFor(() => gp.stderr().includes('reload refused'), 5000, 'refusal logged');
  assert.match(gp.stderr(), /routes\[0\]\.upstream/);
  assert.equal(await label(), 'v2');

  const noWatch = await spawnGateway(configFor(up.url, 'h1'), ['--no-watch']);
  t.after(() => noWatch.stop());
  noWatch.writeConfig(configFor(up.url, 'h2'));
  const l2 = async () => (await fetch(`${noWatch.url}/x`)).headers.get('x-config');
  assert.equal(await l2(), 'h1');
  noWatch.child.kill('SIGHUP');
  await waitFor(async () => (await l2()) === 'h2', 5000, 'SIGHUP reload');
});

test('SIGTERM drains: requests in flight complete, then the process exits 0', async (t) => {
  let inflight = 0;
  const slow = await startUpstream((_req, res) => {
    inflight++;
    setTimeout(() => res.end('finished'), 600);
  });
  const gp = await spawnGateway({ ...configFor(slow.url, 'd'), server: { shutdownGrace: '5s' } });
  t.after(async () => { await gp.stop(); await slow.close(); });
  const pending = Promise.all([1, 2, 3].map(() => fetch(`${gp.url}/x`).then(async (r) => [r.status, await r.text()])));
  await waitFor(() => inflight === 3, 5000, 'requests to reach the upstream');
  gp.child.kill('SIGTERM');
  const results = await pending;
  assert.deepEqual(results, [[200, 'finished'], [200, 'finished'], [200, 'finished']]);
  assert.equal(await gp.exited, 0);
  await assert.rejects(fetch(`${gp.url}/x`));
});

test('SIGTERM with a request that outlives the grace period: cut at the deadline, exit 0', async (t) => {
  const hung = await startUpstream(() => {});
  const gp = await spawnGateway({ ...configFor(hung.url, 'g'), server: { shutdownGrace: '300ms' } });
  t.after(async () => { await gp.stop(); await hung.close(); });
  const pending = fetch(`${gp.url}/x`).then(() => 'answered', () => 'cut');
  await waitFor(() => hung.requests.length === 1, 5000, 'request at upstream');
  const t0 = Date.now();
  gp.child.kill('SIGTERM');
  assert.equal(await gp.exited, 0);
  const took = Date.now() - t0;
  assert.ok(took >= 250 && took < 3000, `exit after ${took} ms`);
  assert.equal(await pending, 'cut');
});
