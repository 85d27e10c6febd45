import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { simpleConfig, startGateway, startUpstream, type TestGateway, type TestUpstream } from '../helpers/gateway.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('request-id through a gateway', () => {
  let up: TestUpstream;
  let gw: TestGateway;
  before(async () => {
    up = await startUpstream();
    gw = await startGateway(simpleConfig(up.url, [{ name: 'api', match: { path: '/api/*' } }], { plugins: { 'request-id': {} } }));
  });
  after(async () => {
    await gw?.close();
    await up?.close();
  });

  it('generates an id, sends it upstream and echoes the same one', async () => {
    const res = await fetch(`${gw.url}/api/a`);
    const seen = (await res.json() as { headers: Record<string, string> }).headers['x-request-id'];
    assert.match(String(seen), UUID);
    assert.equal(res.headers.get('x-request-id'), seen);
  });

  it('keeps a well-formed client id end to end', async () => {
    const res = await fetch(`${gw.url}/api/b`, { headers: { 'X-Request-Id': 'trace-42.a:b' } });
    assert.equal((await res.json() as { headers: Record<string, string> }).headers['x-request-id'], 'trace-42.a:b');
    assert.equal(res.headers.get('x-request-id'), 'trace-42.a:b');
  });

  it('replaces a malformed or duplicated client id with one generated id, sent upstream once', async () => {
    const res = await request(`${gw.url}/api/c`, { headers: { 'x-request-id': ['one', 'two'] } });
    const body = await res.body.json() as { rawHeaders: string[] };
    const sent = body.rawHeaders.filter((_, i) => i % 2 === 0 && body.rawHeaders[i]!.toLowerCase() === 'x-request-id').length;
    assert.equal(sent, 1);
    const id = body.rawHeaders[body.rawHeaders.findIndex((h, i) => i % 2 === 0 && h.toLowerCase() === 'x-request-id') + 1]!;
    assert.match(id, UUID);
    assert.equal(res.headers['x-request-id'], id);
  });

  it('puts the echoed id in problem+json bodies, also for requests no route takes', async () => {
    const res = await fetch(`${gw.url}/nowhere`, { headers: { 'x-request-id': 'lost-1' } });
    assert.equal(res.status, 404);
    assert.equal(res.headers.get('content-type'), 'application/problem+json');
    const problem = await res.json() as { code: string; requestId: string };
    assert.equal(problem.code, 'route_not_found');
    assert.equal(problem.requestId, 'lost-1');
    assert.equal(res.headers.get('x-request-id'), 'lost-1');
  });
});

describe('request-id through a gateway, not forwarded nor echoed', () => {
  it('removes the client header upstream and adds none to the response', async (t) => {
    const up = await startUpstream();
    const gw = await startGateway(simpleConfig(up.url, [{
      name: 'api', match: { path: '/*' }, plugins: { 'request-id': { forward: false, echo: false } },
    }]));
    t.after(async () => { await gw.close(); await up.close(); });
    const res = await fetch(`${gw.url}/x`, { headers: { 'x-request-id': 'client-1' } });
    assert.equal((await res.json() as { headers: Record<string, string> }).headers['x-request-id'], undefined);
    assert.equal(res.headers.get('x-request-id'), null);
  });
});
