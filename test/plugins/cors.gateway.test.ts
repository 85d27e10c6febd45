import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { simpleConfig, startGateway, startUpstream, type TestGateway, type TestUpstream } from '../helpers/gateway.ts';

const APP = 'https://app.example.com';

describe('cors through a gateway', () => {
  let up: TestUpstream;
  let gw: TestGateway;
  before(async () => {
    up = await startUpstream((req, res) => {
      res.writeHead(200, {
        'content-type': 'text/plain',
        vary: 'Accept-Encoding',
        'access-control-allow-origin': 'https://upstream-chose-this.example',
        'x-total': '3',
      });
      res.end(`upstream saw ${req.method}`);
    });
    gw = await startGateway(simpleConfig(up.url, [
      {
        name: 'api',
        match: { path: '/api/*', methods: ['GET', 'PUT'] },
        plugins: {
          cors: { origins: [APP, { regex: 'https://[a-z]+\\.preview\\.example\\.com' }], credentials: true, exposeHeaders: ['X-Total'], maxAge: 120 },
          'ip-restriction': { allow: ['10.0.0.0/8'] },
        },
      },
      { name: 'open', match: { path: '/open/*' }, plugins: { cors: {} } },
    ]));
  });
  after(async () => {
    await gw?.close();
    await up?.close();
  });

  const preflight = (path: string, origin: string, method: string, headers?: string) => fetch(`${gw.url}${path}`, {
    method: 'OPTIONS',
    headers: { origin, 'access-control-request-method': method, ...(headers ? { 'access-control-request-headers': headers } : {}) },
  });

  it('answers an allowed preflight with 204 and the CORS headers, on a route that does not list OPTIONS, before ip-restriction', async () => {
    const before = up.requests.length;
    const res = await preflight('/api/orders', APP, 'PUT', 'content-type,x-token');
    assert.equal(res.status, 204);
    assert.equal(res.headers.get('access-control-allow-origin'), APP);
    assert.equal(res.headers.get('access-control-allow-methods'), 'GET, HEAD, PUT, PATCH, POST, DELETE');
    assert.equal(res.headers.get('access-control-allow-headers'), 'content-type,x-token');
    assert.equal(res.headers.get('access-control-allow-credentials'), 'true');
    assert.equal(res.headers.get('access-control-max-age'), '120');
    assert.equal(res.headers.get('vary'), 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers');
    assert.equal(up.requests.length, before, 'the preflight must not reach the upstream');
  });

  it('allows a preflight from an origin matching a regex', async () => {
    const res = await preflight('/api/orders', 'https://pr.preview.example.com', 'GET');
    assert.equal(res.status, 204);
    assert.equal(res.headers.get('access-control-allow-origin'), 'https://pr.preview.example.com');
  });

  it('answers a refused preflight (origin, or method on a route taking every method) with 204 and no Access-Control-Allow-* header', async () => {
    const cases = [['/api/orders', 'https://evil.example', 'PUT'], ['/api/orders', 'https://pr.preview.example.com.evil.net', 'GET'], ['/open/x', APP, 'PROPFIND']] as const;
    for (const [path, origin, method] of cases) {
      const res = await preflight(path, origin, method);
      assert.equal(res.status, 204, `${origin} ${method}`);
      const cors = [...res.headers.keys()].filter((k) => k.startsWith('access-control-'));
      assert.deepEqual(cors, [], `${origin} ${method}`);
    }
  });

  it('adds CORS headers to the actual response of an allowed origin, replacing the upstream\'s and keeping its Vary', async () => {
    const res = await request(`${gw.url}/open/x`, { headers: { origin: APP } });
    await res.body.text();
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['access-control-allow-origin'], '*');
    assert.equal(res.headers.vary, 'Accept-Encoding');
  });

  it('answers a per-origin response with the origin, credentials, exposed headers and Vary: Origin', async () => {
    // ip-restriction on this route refuses 127.0.0.1: the 403 must still be readable by the allowed origin.
    const res = await request(`${gw.url}/api/orders`, { headers: { origin: APP } });
    const problem = await res.body.json() as { code: string };
    assert.equal(res.statusCode, 403);
    assert.equal(problem.code, 'forbidden');
    assert.equal(res.headers['access-control-allow-origin'], APP);
    assert.equal(res.headers['access-control-allow-credentials'], 'true');
    assert.equal(res.headers['access-control-expose-headers'], 'X-Total');
    assert.deepEqual([res.headers.vary].flat(), ['Origin']);
  });

  it('sends no CORS header to a disallowed origin, only Vary: Origin', async () => {
    const res = await request(`${gw.url}/api/orders`, { headers: { origin: 'https://evil.example' } });
    await res.body.text();
    assert.equal(res.headers['access-control-allow-origin'], undefined);
    assert.equal(res.headers['access-control-allow-credentials'], undefined);
    assert.deepEqual([res.headers.vary].flat(), ['Origin']);
  });
});

describe('cors through a gateway, upstream response', () => {
  it('replaces the upstream\'s Access-Control-Allow-Origin and adds Vary: Origin to the upstream\'s Vary', async (t) => {
    const up = await startUpstream((_req, res) => {
      res.writeHead(200, { vary: 'Accept-Encoding', 'access-control-allow-origin': '*', 'x-total': '3' });
      res.end('ok');
    });
    const gw = await startGateway(simpleConfig(up.url, [{
      name: 'api', match: { path: '/*' }, plugins: { cors: { origins: [APP], exposeHeaders: ['X-Total'] } },
    }]));
    t.after(async () => { await gw.close(); await up.close(); });
    const res = await request(`${gw.url}/x`, { headers: { origin: APP } });
    assert.equal(await res.body.text(), 'ok');
    assert.equal(res.headers['access-control-allow-origin'], APP);
    assert.equal(res.headers['access-control-expose-headers'], 'X-Total');
    assert.equal(res.headers['access-control-allow-credentials'], undefined);
    assert.deepEqual([res.headers.vary].flat().join(', ').split(/\s*,\s*/).sort(), ['Accept-Encoding', 'Origin']);
  });

  it('without the plugin, a preflight for a route that does not list OPTIONS is answered 405 by the gateway', async (t) => {
    const up = await startUpstream();
    const gw = await startGateway(simpleConfig(up.url, [{ name: 'api', match: { path: '/*', methods: ['GET'] } }]));
    t.after(async () => { await gw.close(); await up.close(); });
    const res = await fetch(`${gw.url}/x`, { method: 'OPTIONS', headers: { origin: APP, 'access-control-request-method': 'GET' } });
    assert.equal(res.status, 405);
    assert.equal(res.headers.get('access-control-allow-origin'), null);
  });
});
