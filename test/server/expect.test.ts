import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { startGateway, startUpstream, simpleConfig } from '../helpers/gateway.ts';
import { rawRequest, statusOf, jsonBodyOf } from '../helpers/raw.ts';

async function setup(t: import('node:test').TestContext) {
  const up = await startUpstream();
  const gw = await startGateway(simpleConfig(up.url, [
    { name: 'small', match: { path: '/small' }, maxBodyBytes: 10 },
    { name: 'all', match: { path: '/*' } },
  ]));
  t.after(async () => { await gw.close(); await up.close(); });
  return { up, gw };
}

test('Expect: 100-continue: the 100 comes only when the body is going to be forwarded', async (t) => {
  const { up, gw } = await setup(t);
  const { port } = new URL(gw.url);
  const socket = net.connect(Number(port), '127.0.0.1');
  await once(socket, 'connect');
  socket.write('POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n');
  const [first] = await once(socket, 'data') as [Buffer];
  assert.match(first.toString('latin1'), /^HTTP\/1\.1 100 Continue\r\n/);
  socket.write('hello');
  let rest = first.toString('latin1');
  while (!/\r\n\r\n[\s\S]*\}$/.test(rest.slice(rest.indexOf('HTTP/1.1 200')))) rest += ((await once(socket, 'data')) as [Buffer])[0].toString('latin1');
  socket.destroy();
  assert.equal(JSON.parse(rest.slice(rest.lastIndexOf('\r\n\r\n') + 4)).body, 'hello');
  assert.equal(up.requests.length, 1);
});

test('Expect: 100-continue with a body over the limit: 413 at once, no 100, nothing forwarded', async (t) => {
  const { up, gw } = await setup(t);
  const raw = await rawRequest(gw.url, 'POST /small HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\nExpect: 100-continue\r\n\r\n');
  assert.equal(statusOf(raw), 413);
  assert.doesNotMatch(raw, /100 Continue/);
  assert.equal(jsonBodyOf(raw).code, 'payload_too_large');
  assert.equal(up.requests.length, 0);
});

test('an unsupported expectation: 417 problem+json, nothing forwarded', async (t) => {
  const { up, gw } = await setup(t);
  const raw = await rawRequest(gw.url, 'GET /x HTTP/1.1\r\nHost: x\r\nExpect: teapot\r\n\r\n');
  assert.equal(statusOf(raw), 417);
  assert.equal(jsonBodyOf(raw).code, 'expectation_failed');
  assert.equal(up.requests.length, 0);
});
