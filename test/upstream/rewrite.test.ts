import { describe, it, test } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, startUpstream, simpleConfig, type TestGateway } from '../helpers/gateway.ts';
import { jsonBodyOf, rawRequest, statusOf } from '../helpers/raw.ts';
import { rawValues } from './support.ts';

type Echo = { url: string; rawHeaders: string[] };

async function upstreamSaw(gw: TestGateway, target: string, host = 'gw.test'): Promise<Echo> {
  const raw = await rawRequest(gw.url, `GET ${target} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
  assert.equal(statusOf(raw), 200, raw);
  return jsonBodyOf(raw) as unknown as Echo;
}

describe('path rewrite', () => {
  it('applies stripPrefix, replace, regex and addPrefix, keeping the query string', async (t) => {
    const up = await startUpstream();
    const gw = await startGateway(simpleConfig(up.url, [
      { name: 'strip', match: { path: '/api/*' }, rewrite: { stripPrefix: '/api' } },
      { name: 'replace', match: { path: '/orders/:id/items/*' }, rewrite: { replace: '/v2/order/:id/:id/rest/*' } },
      { name: 'files', match: { path: '/files/:name' }, rewrite: { replace: '/store/:name' } },
      { name: 'regex', match: { path: '/old/*' }, rewrite: { regex: { pattern: '^/old/(\\d+)/(?<slug>[a-z-]+)$', replacement: '/new/$<slug>/$1' } } },
      { name: 'prefix', match: { path: '/svc/*' }, rewrite: { addPrefix: '/backend' } },
      { name: 'both', match: { path: '/b/*' }, rewrite: { stripPrefix: '/b', addPrefix: '/internal/' } },
    ]));
    t.after(async () => { await gw.close(); await up.close(); });

    assert.equal((await upstreamSaw(gw, '/api/users/7?x=1&y=a%20b')).url, '/users/7?x=1&y=a%20b');
    assert.equal((await upstreamSaw(gw, '/api/')).url, '/');
    assert.equal((await upstreamSaw(gw, '/orders/42/items/a/b?q=1')).url, '/v2/order/42/42/rest/a/b?q=1');
    assert.equal((await upstreamSaw(gw, '/old/2024/hello-world?p=2')).url, '/new/hello-world/2024?p=2');
    assert.equal((await upstreamSaw(gw, '/svc/ping?z')).url, '/backend/svc/ping?z');
    assert.equal((await upstreamSaw(gw, '/b/x')).url, '/internal/x');
    assert.equal((await upstreamSaw(gw, '/b/')).url, '/internal');
  });

  it('keeps an encoded slash in a parameter encoded after replace', async (t) => {
    const up = await startUpstream();
    const gw = await startGateway(simpleConfig(up.url, [
      { name: 'files', match: { path: '/files/:name' }, rewrite: { replace: '/store/:name' } },
      { name: 'tail', match: { path: '/t/*' }, rewrite: { replace: '/tail/*' } },
    ]));
    t.after(async () => { await gw.close(); await up.close(); });
    assert.equal((await upstreamSaw(gw, '/files/a%2Fb?v=1')).url, '/store/a%2Fb?v=1');
    assert.equal((await upstreamSaw(gw, '/files/a%2f..%2Fetc')).url, '/store/a%2F..%2Fetc');
    assert.equal((await upstreamSaw(gw, '/t/x%2Fy/z')).url, '/tail/x%2Fy/z');
  });
});

describe('Host sent upstream', () => {
  it('is the target host by default, the client host with preserveHost, the configured one with hostHeader', async (t) => {
    const up = await startUpstream();
    const gw = await startGateway(simpleConfig(up.url, [
      { name: 'default', match: { path: '/d' } },
      { name: 'preserve', match: { path: '/p' }, preserveHost: true },
      { name: 'fixed', match: { path: '/h' }, hostHeader: 'internal.svc:9000' },
      { name: 'both', match: { path: '/ph' }, preserveHost: true, hostHeader: 'wins.svc' },
    ]));
    t.after(async () => { await gw.close(); await up.close(); });
    const host = async (path: string) => rawValues((await upstreamSaw(gw, path, 'Public.Example:8443')).rawHeaders, 'host');
    assert.deepEqual(await host('/d'), [`127.0.0.1:${up.port}`]);
    assert.deepEqual(await host('/p'), ['Public.Example:8443']);
    assert.deepEqual(await host('/h'), ['internal.svc:9000']);
    assert.deepEqual(await host('/ph'), ['wins.svc']);
    // X-Forwarded-Host always tells the upstream what the client asked for.
    const e = await upstreamSaw(gw, '/h', 'public.example:8443');
    assert.deepEqual(rawValues(e.rawHeaders, 'x-forwarded-host'), ['public.example:8443']);
  });
});

test('a headers plugin setting Host wins over preserveHost: exactly one Host goes upstream', async (t) => {
  const up = await startUpstream();
  const gw = await startGateway(simpleConfig(up.url, [
    { name: 'h', match: { path: '/*' }, preserveHost: true, plugins: { headers: { request: { set: { host: 'internal.example' } } } } },
  ]));
  t.after(async () => { await gw.close(); await up.close(); });
  const res = await fetch(`${gw.url}/x`);
  assert.equal(res.status, 200);
  const body = await res.json() as { rawHeaders: string[] };
  const hosts = body.rawHeaders.filter((_, i) => i % 2 === 0 && body.rawHeaders[i]!.toLowerCase() === 'host').length;
  assert.equal(hosts, 1);
  assert.equal((body as unknown as { headers: Record<string, string> }).headers.host, 'internal.example');
});
