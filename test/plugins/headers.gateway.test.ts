import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { echo, simpleConfig, startGateway, startUpstream, type TestGateway, type TestUpstream } from '../helpers/gateway.ts';

interface Echo { headers: Record<string, string | string[]>; rawHeaders: string[] }

/** Every value of a header in a raw [name, value, …] list. */
const rawValues = (raw: string[], name: string) => raw.filter((_, i) => i % 2 === 1 && raw[i - 1]!.toLowerCase() === name);

describe('headers through a gateway', () => {
  let up: TestUpstream;
  let gw: TestGateway;
  before(async () => {
    up = await startUpstream((req, res) => {
      res.setHeader('server', 'upstream/1.0');
      res.setHeader('x-powered-by', 'php');
      res.setHeader('cache-control', 'no-cache');
      res.setHeader('via', '1.1 upstream');
      echo(req, res);
    });
    gw = await startGateway(simpleConfig(up.url, [
      {
        name: 'api',
        match: { path: '/api/*' },
        plugins: {
          headers: {
            request: {
              set: { Host: 'internal.orders.svc', 'X-Env': 'prod' },
              add: { 'X-Tag': ['a', 'b'] },
              remove: ['Cookie', 'x-debug'],
            },
            response: {
              set: { 'Cache-Control': 'public, max-age=60' },
              add: { Via: '1.1 expeditor' },
              remove: ['server', 'X-Powered-By'],
            },
          },
        },
      },
      { name: 'stub', match: { path: '/stub' }, upstream: undefined, plugins: { mock: { body: 'hi' }, headers: { response: { set: { 'x-frame-options': 'DENY' } } } } },
    ]));
  });
  after(async () => {
    await gw?.close();
    await up?.close();
  });

  it('sets, adds and removes request headers on the way upstream', async () => {
    const res = await request(`${gw.url}/api/a`, {
      headers: { cookie: 'session=1', 'x-debug': '1', 'x-env': 'dev', 'x-tag': 'client', 'x-kept': 'yes' },
    });
    const seen = await res.body.json() as Echo;
    assert.equal(seen.headers.host, 'internal.orders.svc');
    assert.deepEqual(rawValues(seen.rawHeaders, 'host'), ['internal.orders.svc']);
    assert.deepEqual(rawValues(seen.rawHeaders, 'x-env'), ['prod']);
    assert.deepEqual(rawValues(seen.rawHeaders, 'x-tag'), ['client', 'a', 'b']);
    assert.equal(seen.headers.cookie, undefined);
    assert.equal(seen.headers['x-debug'], undefined);
    assert.equal(seen.headers['x-kept'], 'yes');
  });

  it('sets, adds and removes response headers on the way to the client', async () => {
    const res = await request(`${gw.url}/api/b`);
    await res.body.text();
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['cache-control'], 'public, max-age=60');
    assert.deepEqual([res.headers.via].flat(), ['1.1 upstream', '1.1 expeditor']);
    assert.equal(res.headers.server, undefined);
    assert.equal(res.headers['x-powered-by'], undefined);
  });

  it('edits responses the gateway answers itself', async () => {
    const res = await request(`${gw.url}/stub`);
    assert.equal(await res.body.text(), 'hi');
    assert.equal(res.headers['x-frame-options'], 'DENY');
  });
});

describe('headers: a refused config', () => {
  it('keeps the gateway from starting, naming the field', async () => {
    const up = await startUpstream();
    try {
      await assert.rejects(
        startGateway(simpleConfig(up.url, [{ name: 'api', match: { path: '/*' }, plugins: { headers: { request: { set: { Connection: 'close' } } } } }])),
        (err: Error) => /request\.set\.Connection/.test(err.message) && /hop-by-hop/.test(err.message),
      );
    } finally {
      await up.close();
    }
  });
});
