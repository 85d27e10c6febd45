import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { HashGate } from '../../src/identity/hash-gate.ts';
import { hashPassword } from '../../src/identity/passwords.ts';
import { startGateway, startUpstream } from '../helpers/gateway.ts';

/** A check the test finishes by hand. */
function pending() {
  let finish!: (v: boolean) => void;
  const promise = new Promise<boolean>((r) => (finish = r));
  return { check: () => promise, finish };
}

describe('HashGate', () => {
  it('runs maxConcurrent checks at once, queues maxQueued in order, and turns the rest away', async () => {
    const gate = new HashGate(1, 1);
    const a = pending();
    const b = pending();
    const order: string[] = [];
    const ra = gate.run(a.check)!.then((v) => order.push(`a:${v}`));
    const rb = gate.run(() => (order.push('b started'), b.check()))!.then((v) => order.push(`b:${v}`));
    assert.equal(gate.run(async () => true), undefined, 'the third is turned away at once');
    assert.deepEqual([gate.running, gate.queued], [1, 1]);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(order, [], 'b waits while a runs');
    a.finish(true);
    await ra;
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(order.sort(), ['a:true', 'b started'], 'b starts once a is done');
    assert.deepEqual([gate.running, gate.queued], [1, 0]);
    b.finish(false);
    await rb;
    assert.deepEqual([gate.running, gate.queued], [0, 0]);
  });
});

describe('basic-auth under a flood of wrong passwords', () => {
  it('hashes at most maxConcurrent + maxQueued at once, answers the rest 503, and a cached login still passes', async (t) => {
    // A deliberately costly hash, so the flood arrives while the first checks still run.
    const hash = await hashPassword('right password', 'scrypt');
    const up = await startUpstream();
    const gw = await startGateway({
      upstreams: { up: { targets: [{ url: up.url }] } },
      auth: { passwordChecks: { maxConcurrent: 1, maxQueued: 1 } },
      consumers: { ops: { credentials: [{ type: 'basic-auth', username: 'ops', passwordHash: hash }] } },
      routes: [{ name: 'r', match: { path: '/*' }, upstream: 'up', plugins: { 'basic-auth': {} } }],
    });
    t.after(async () => { await gw.close(); await up.close(); });
    const basic = (password: string) => ({ authorization: `Basic ${Buffer.from(`ops:${password}`).toString('base64')}` });
    assert.equal((await fetch(`${gw.url}/x`, { headers: basic('right password') })).status, 200, 'warms the cache');

    const flood = await Promise.all(Array.from({ length: 10 }, async (_, i) => {
      const res = await fetch(`${gw.url}/x`, { headers: basic(`wrong ${i}`) });
      return { status: res.status, body: await res.json() as { code: string }, retryAfter: res.headers.get('retry-after') };
    }).concat([(async () => {
      const res = await fetch(`${gw.url}/x`, { headers: basic('right password') });
      await res.arrayBuffer();
      return { status: res.status, body: { code: 'ok' }, retryAfter: null };
    })()]));
    const cached = flood.pop()!;
    assert.equal(cached.status, 200, 'a cached login never waits for the gate');
    const refused = flood.filter((r) => r.status === 401);
    const busy = flood.filter((r) => r.status === 503);
    assert.equal(refused.length + busy.length, 10);
    assert.equal(refused.length, 2, 'one hashing, one queued');
    for (const r of busy) {
      assert.equal(r.body.code, 'auth_unavailable');
      assert.equal(r.retryAfter, '5');
    }
  });
});
