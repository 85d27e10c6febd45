import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent, request } from 'undici';
import { startGateway } from '../helpers/gateway.ts';
import { waitFor } from '../helpers/process.ts';

/** A target that can be killed (listener closed, every connection cut) and restarted on the same port. */
class Killable {
  readonly name: string;
  server: http.Server | undefined;
  port = 0;
  hits = 0;
  constructor(name: string) {
    this.name = name;
  }
  async start(): Promise<void> {
    const server = http.createServer((req, res) => {
      if (req.url !== '/health') this.hits++;
      res.end(this.name);
    });
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }
  async kill(): Promise<void> {
    const s = this.server!;
    this.server = undefined;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}

test('chaos: a target killed under load and restarted costs the clients nothing', { timeout: 30_000 }, async (t) => {
  const targets = [new Killable('a'), new Killable('b'), new Killable('c')];
  for (const k of targets) await k.start();
  const gw = await startGateway({
    upstreams: {
      pool: {
        targets: targets.map((k) => ({ url: `http://127.0.0.1:${k.port}` })),
        health: { active: { path: '/health', interval: '100ms', timeout: '300ms', healthyThreshold: 1, unhealthyThreshold: 1 } },
        retries: { attempts: 3, on: ['connect-failure', 'reset'], backoff: { base: '1ms', max: '10ms' }, budgetPercent: 100 },
      },
    },
    routes: [{ name: 'all', match: { path: '/*' }, upstream: 'pool' }],
  });
  const agent = new Agent({ connections: 8 });
  t.after(async () => {
    await agent.close();
    await gw.close();
    for (const k of targets) if (k.server) await k.kill();
  });

  const victim = targets[1]!;
  const state = () => gw.gateway.runtime.upstreams.get('pool')!.snapshot().targets[1]!.state;
  const errors: string[] = [];
  let ok = 0;
  const start = Date.now();
  let stop = false;
  const worker = async () => {
    while (!stop) {
      try {
        const res = await request(`${gw.url}/order`, { dispatcher: agent });
        const body = await res.body.text();
        if (res.statusCode === 200 && ['a', 'b', 'c'].includes(body)) ok++;
        else errors.push(`${res.statusCode} ${body.slice(0, 80)}`);
      } catch (err) {
        errors.push(String(err));
      }
    }
  };
  const load = Promise.all(Array.from({ length: 4 }, worker));

  await waitFor(() => Date.now() - start >= 3000, 5000, 't=3s');
  await victim.kill();
  const killedAt = Date.now();
  await waitFor(() => state() === 'unhealthy' || state() === 'ejected', 2000, 'victim taken out');
  const ejectedAfter = Date.now() - killedAt;

  await waitFor(() => Date.now() - start >= 6000, 5000, 't=6s');
  const hitsBefore = victim.hits;
  await victim.start();
  const restartedAt = Date.now();
  await waitFor(() => victim.hits > hitsBefore, 3000, 'victim serving again');
  const backAfter = Date.now() - restartedAt;

  await waitFor(() => Date.now() - start >= 10_000, 5000, 't=10s');
  stop = true;
  await load;

  t.diagnostic(`${ok} requests ok; victim out after ${ejectedAfter} ms, back in traffic ${backAfter} ms after restart`);
  assert.deepEqual(errors, []);
  assert.ok(ok > 500, `only ${ok} requests in 10 s`);
  assert.ok(ejectedAfter <= 1000, `ejected after ${ejectedAfter} ms`);
  assert.ok(backAfter <= 2000, `back after ${backAfter} ms`);
});
