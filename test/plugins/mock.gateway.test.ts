import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { startGateway, type TestGateway } from '../helpers/gateway.ts';

describe('mock through a gateway, without any upstream', () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startGateway({
      routes: [
        { name: 'menu', match: { path: '/menu' }, plugins: { mock: { status: 201, body: { items: ['espresso', 'caf\u00e9'] }, headers: { 'X-Mock': ['1', '2'] } } } },
        { name: 'text', match: { path: '/text' }, plugins: { mock: { body: 'maintenance \u2013 back soon', status: 503, headers: { 'Retry-After': '600' } } } },
        { name: 'empty', match: { path: '/empty' }, plugins: { mock: { status: 204 } } },
        { name: 'guarded', match: { path: '/guarded' }, plugins: { mock: { body: 'secret' }, 'ip-restriction': { allow: ['10.0.0.0/8'] } } },
      ],
    });
  });
  after(async () => {
    await gw?.close();
  });

  it('answers with the configured status, headers and JSON body, the same every time', async () => {
    for (let i = 0; i < 3; i++) {
      const res = await request(`${gw.url}/menu`, { method: i === 2 ? 'POST' : 'GET', body: i === 2 ? 'x' : undefined });
      const text = await res.body.text();
      assert.equal(res.statusCode, 201);
      assert.equal(res.headers['content-type'], 'application/json');
      assert.equal(res.headers['content-length'], String(Buffer.byteLength(text)));
      assert.deepEqual([res.headers['x-mock']].flat(), ['1', '2']);
      assert.deepEqual(JSON.parse(text), { items: ['espresso', 'café'] });
    }
  });

  it('sends a string body as UTF-8 text with its byte length', async () => {
    const res = await request(`${gw.url}/text`);
    const body = Buffer.from(await res.body.arrayBuffer());
    assert.equal(res.statusCode, 503);
    assert.equal(res.headers['content-type'], 'text/plain; charset=utf-8');
    assert.equal(res.headers['retry-after'], '600');
    assert.equal(res.headers['content-length'], String(body.length));
    assert.equal(body.toString('utf8'), 'maintenance – back soon');
  });

  it('answers HEAD with the headers and no body', async () => {
    const res = await request(`${gw.url}/text`, { method: 'HEAD' });
    assert.equal(res.statusCode, 503);
    assert.equal(await res.body.text(), '');
  });

  it('answers 204 without a body', async () => {
    const res = await request(`${gw.url}/empty`);
    assert.equal(res.statusCode, 204);
    assert.equal(await res.body.text(), '');
  });

  it('runs after ip-restriction, which refuses first', async () => {
    const res = await request(`${gw.url}/guarded`);
    const problem = await res.body.json() as { code: string };
    assert.equal(res.statusCode, 403);
    assert.equal(problem.code, 'forbidden');
  });
});
