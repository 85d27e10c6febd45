import { test } from 'node:test';
import assert from 'node:assert/strict';
import tls from 'node:tls';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { startGateway, startUpstream, simpleConfig } from '../helpers/gateway.ts';
import { makeCertificates, tempDir } from '../upstream/support.ts';

test('HTTP/1.1 on the TLS port gets the same slowloris protection (headersTimeout) as the plain listener', async (t) => {
  const tmp = tempDir('expeditor-tls-limits-');
  const certs = makeCertificates(tmp.dir);
  const up = await startUpstream();
  const gw = await startGateway({
    ...simpleConfig(up.url, [{ name: 'all', match: { path: '/*' } }]),
    listen: { tls: { cert: certs.cert, key: certs.key } },
    server: { headersTimeout: '1s' },
  });
  t.after(async () => { await gw.close(); await up.close(); tmp.remove(); });
  const { port } = new URL(gw.url);
  const socket = tls.connect({ port: Number(port), host: '127.0.0.1', ca: [readFileSync(certs.ca)], servername: 'localhost', ALPNProtocols: ['http/1.1'] });
  await once(socket, 'secureConnect');
  assert.equal(socket.alpnProtocol, 'http/1.1');
  const t0 = Date.now();
  socket.write('GET /slow HTTP/1.1\r\nHost: localhost\r\n');
  // Trickle a header line every 200 ms and never finish the header section.
  const trickle = setInterval(() => socket.writable && socket.write('X-Drip: 1\r\n'), 200);
  let received = '';
  socket.on('data', (c: Buffer) => (received += c.toString('latin1')));
  socket.on('error', () => {});
  await once(socket, 'close');
  clearInterval(trickle);
  const took = Date.now() - t0;
  assert.ok(took >= 900 && took < 2600, `closed after ${took} ms`);
  assert.match(received, /^HTTP\/1\.1 408 /);
  assert.equal(up.requests.length, 0);
});
