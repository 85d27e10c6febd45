import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { simpleConfig, startGateway, startUpstream } from '../helpers/gateway.ts';

/** A gateway with one route protected by ip-restriction, in front of an echoing upstream. */
async function setup(t: { after(fn: () => Promise<void>): void }, plugin: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  const up = await startUpstream();
  const gw = await startGateway(simpleConfig(up.url, [{ name: 'api', match: { path: '/*' }, plugins: { 'ip-restriction': plugin } }], extra));
  t.after(async () => { await gw.close(); await up.close(); });
  return { up, gw };
}

describe('ip-restriction through a gateway', () => {
  it('lets a listed client (127.0.0.1) through to the upstream', async (t) => {
    const { up, gw } = await setup(t, { allow: ['127.0.0.1', '::1'] });
    const res = await fetch(`${gw.url}/x`);
    assert.equal(res.status, 200);
    assert.equal((await res.json() as { url: string }).url, '/x');
    assert.equal(up.requests.length, 1);
  });

  it('refuses a client that the allow list does not list, with a forbidden problem, before the upstream', async (t) => {
    const { up, gw } = await setup(t, { allow: ['10.0.0.0/8'] });
    const res = await fetch(`${gw.url}/x`);
    assert.equal(res.status, 403);
    assert.equal(res.headers.get('content-type'), 'application/problem+json');
    const problem = await res.json() as { code: string; status: number; detail: string; requestId: string };
    assert.equal(problem.code, 'forbidden');
    assert.equal(problem.status, 403);
    assert.equal(problem.detail, 'client address not allowed');
    assert.equal(typeof problem.requestId, 'string');
    assert.equal(up.requests.length, 0);
  });

  it('refuses a denied client with the configured status and message', async (t) => {
    const { up, gw } = await setup(t, { deny: ['127.0.0.0/8'], status: 404, message: 'no such thing' });
    const res = await fetch(`${gw.url}/x`);
    assert.equal(res.status, 404);
    const problem = await res.json() as { code: string; status: number; detail: string };
    assert.deepEqual([problem.code, problem.status, problem.detail], ['forbidden', 404, 'no such thing']);
    assert.equal(up.requests.length, 0);
  });

  it('judges the client address resolved through trusted proxies, not the proxy\'s', async (t) => {
    const { gw } = await setup(t, { allow: ['10.0.0.0/8'], deny: ['10.66.0.0/16'] }, { server: { trustedProxies: ['127.0.0.1'] } });
    assert.equal((await fetch(`${gw.url}/x`, { headers: { 'x-forwarded-for': '10.1.2.3' } })).status, 200);
    assert.equal((await fetch(`${gw.url}/x`, { headers: { 'x-forwarded-for': '10.66.0.9' } })).status, 403);
    assert.equal((await fetch(`${gw.url}/x`, { headers: { 'x-forwarded-for': '192.0.2.1' } })).status, 403);
  });

  it('does not believe X-Forwarded-For from an untrusted peer', async (t) => {
    const { gw } = await setup(t, { allow: ['10.0.0.0/8'] });
    const res = await fetch(`${gw.url}/x`, { headers: { 'x-forwarded-for': '10.1.2.3' } });
    assert.equal(res.status, 403);
  });

  it('matches IPv4 rules for IPv4 clients of a dual-stack listener', async (t) => {
    const up = await startUpstream();
    let gw;
    try {
      gw = await startGateway(simpleConfig(up.url, [{ name: 'api', match: { path: '/*' }, plugins: { 'ip-restriction': { allow: ['127.0.0.0/8'] } } }], { listen: { host: '::' } }));
    } catch (err) {
      await up.close();
      t.skip(`no IPv6 here: ${(err as Error).message}`);
      return;
    }
    t.after(async () => { await gw.close(); await up.close(); });
    const res = await fetch(`http://127.0.0.1:${new URL(gw.url).port}/x`);
    assert.equal(res.status, 200);
  });
});
