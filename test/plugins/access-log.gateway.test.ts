import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { flushAccessLogs } from '../../src/plugins/access-log/plugin.ts';
import { simpleConfig, startGateway, startUpstream, type TestGateway, type TestUpstream } from '../helpers/gateway.ts';

type Line = Record<string, unknown>;

type T = { after(fn: () => Promise<void> | void): void };

function tempDir(t: T): string {
  const dir = mkdtempSync(join(tmpdir(), 'expeditor-access-log-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function setup(t: T, routes: Array<Record<string, unknown>>, extra: Record<string, unknown>): Promise<{ up: TestUpstream; gw: TestGateway }> {
  const up = await startUpstream();
  const gw = await startGateway(simpleConfig(up.url, routes, extra));
  t.after(async () => {
    await gw.close();
    await up.close();
  });
  return { up, gw };
}

function readText(file: string): string {
  return existsSync(file) ? readFileSync(file, 'utf8') : '';
}

/** Every line of the file, parsed, once `count` lines are there (the log phase runs after the response is out). */
async function readLines(file: string, count: number): Promise<Line[]> {
  const deadline = Date.now() + 5000;
  for (;;) {
    await flushAccessLogs();
    const text = readText(file);
    const lines = text.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Line);
    if (lines.length >= count || Date.now() > deadline) {
      assert.ok(text === '' || text.endsWith('\n'), 'every line ends with a newline');
      return lines;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Waits as long as a line would take to arrive, for tests that expect none. */
async function settle(): Promise<void> {
  await new Promise((r) => setTimeout(r, 50));
  await flushAccessLogs();
}

describe('access-log through a gateway', () => {
  it('writes one JSON line per request with the request, the outcome, the target and the timings', async (t) => {
    const file = join(tempDir(t), 'access.log');
    const { up, gw } = await setup(t, [{ name: 'orders', match: { path: '/orders/*' } }], {
      plugins: { 'request-id': {}, 'access-log': { destination: { file } } },
    });
    const res = await request(`${gw.url}/orders//42?page=2&sort=asc`, {
      method: 'POST', body: 'hello', headers: { 'user-agent': 'test-agent/1.0', 'x-request-id': 'req-1', 'content-type': 'text/plain' },
    });
    const echoed = await res.body.text();
    assert.equal(res.statusCode, 200);
    const [line, ...rest] = await readLines(file, 1);
    assert.equal(rest.length, 0);
    assert.ok(line !== undefined);
    assert.equal(line.level, 'info');
    assert.equal(line.requestId, 'req-1');
    assert.equal(line.method, 'POST');
    assert.equal(line.host, '127.0.0.1');
    assert.equal(line.path, '/orders/42', 'the normalised path');
    assert.equal(line.query, 'page=2&sort=asc');
    assert.equal(line.protocol, 'HTTP/1.1');
    assert.equal(line.status, 200);
    assert.equal(line.route, 'orders');
    assert.equal(line.clientIp, '127.0.0.1');
    assert.equal(line.userAgent, 'test-agent/1.0');
    assert.equal(line.target, up.url);
    assert.equal(line.bytesIn, 5);
    assert.equal(line.bytesOut, Buffer.byteLength(echoed), 'the body bytes the client got');
    for (const k of ['latency', 'upstreamLatency', 'gatewayLatency'] as const) {
      assert.equal(typeof line[k], 'number', k);
      assert.ok((line[k] as number) > 0, `${k} > 0`);
    }
    assert.ok((line.upstreamLatency as number) <= (line.latency as number));
    assert.ok((line.gatewayLatency as number) <= (line.latency as number));
    const time = Date.parse(line.time as string);
    assert.ok(Math.abs(Date.now() - time) < 10_000 && (line.time as string).endsWith('Z'));
    for (const absent of ['consumer', 'authMethod', 'errorCode', 'aborted', 'headers', 'credentialId', 'peerIp', 'msg']) {
      assert.equal(line[absent], undefined, absent);
    }
  });

  it('logs only the configured fields', async (t) => {
    const file = join(tempDir(t), 'access.log');
    const { gw } = await setup(t, [{ name: 'r', match: { path: '/*' } }], {
      plugins: { 'access-log': { destination: { file }, fields: ['status', 'route', 'peerIp'] } },
    });
    await (await fetch(`${gw.url}/x?a=1`)).text();
    const [line] = await readLines(file, 1);
    assert.deepEqual(line, { level: 'info', status: 200, route: 'r', peerIp: '127.0.0.1' });
  });

  it('never writes an API key, a token, an Authorization header or a cookie, and names the consumer', async (t) => {
    const dir = tempDir(t);
    const file = join(dir, 'access.log');
    const key = 'SECRET-route-key-0001';
    const secrets = {
      routeKey: key,
      apikey: 'SECRET-default-apikey-0002',
      sig: 'SECRET-signature-0003',
      configured: 'SECRET-configured-0004',
      encoded: 'SECRET-encoded-name-0005',
      bearer: 'SECRET-bearer-0006',
      cookie: 'SECRET-cookie-0007',
      xApiKey: 'SECRET-x-api-key-0008',
      referer: 'SECRET-referer-token-0009',
      configuredHeader: 'SECRET-configured-header-0011',
    };
    const { up, gw } = await setup(t, [
      {
        name: 'partners',
        match: { path: '/partners/*' },
        plugins: { 'key-auth': { headers: ['x-partner-key'], query: ['partnerKey'] } },
      },
    ], {
      consumers: {
        acme: { id: 'acme-id', credentials: [{ type: 'key-auth', id: 'acme-key-1', keyHash: `sha256:${createHash('sha256').update(key).digest('hex')}` }] },
      },
      plugins: {
        'access-log': {
          destination: { file },
          fields: ['status', 'query', 'consumer', 'authMethod', 'credentialId', 'path'],
          headers: ['authorization', 'cookie', 'x-api-key', 'referer', 'x-partner-key', 'x-internal-token', 'x-trace'],
          redact: { query: ['MyToken'], headers: ['X-Internal-Token'] },
        },
      },
    });
    const query = `partnerKey=${secrets.routeKey}&apikey=${secrets.apikey}&Sig=${secrets.sig}&mytoken=${secrets.configured}`
      + `&api%5Fkey=${secrets.encoded}&apikey=&page=2`;
    const res = await fetch(`${gw.url}/partners/list?${query}`, {
      headers: {
        authorization: `Bearer ${secrets.bearer}`,
        cookie: `session=${secrets.cookie}; theme=dark`,
        'x-api-key': secrets.xApiKey,
        referer: `https://app.example.com/page?access_token=${secrets.referer}&tab=1`,
        // The route's key-auth reads this header too (tried first): a second copy of the key.
        'x-partner-key': secrets.routeKey,
        'x-internal-token': secrets.configuredHeader,
        'x-trace': 'trace-1',
      },
    });
    assert.equal(res.status, 200, await res.text());
    assert.equal(up.requests.length, 1);
    const lines = await readLines(file, 1);
    const text = readText(file);
    for (const [name, value] of Object.entries(secrets)) assert.ok(!text.includes(value), `${name} leaked into the access log`);
    assert.ok(!text.includes('SECRET'));
    const line = lines[0]!;
    assert.equal(line.consumer, 'acme-id');
    assert.equal(line.authMethod, 'key-auth');
    assert.equal(line.credentialId, 'acme-key-1');
    assert.equal(line.query, 'partnerKey=[REDACTED]&apikey=[REDACTED]&Sig=[REDACTED]&mytoken=[REDACTED]&api%5Fkey=[REDACTED]&apikey=&page=2');
    assert.deepEqual(line.headers, {
      authorization: '[REDACTED]',
      cookie: '[REDACTED]',
      'x-api-key': '[REDACTED]',
      referer: 'https://app.example.com/page?access_token=[REDACTED]&tab=1',
      'x-partner-key': '[REDACTED]',
      'x-internal-token': '[REDACTED]',
      'x-trace': 'trace-1',
    });
  });

  it('redacts the key of a refused request too', async (t) => {
    const file = join(tempDir(t), 'access.log');
    const { gw } = await setup(t, [
      { name: 'partners', match: { path: '/partners/*' }, plugins: { 'key-auth': { query: ['partnerKey'] } } },
    ], { plugins: { 'access-log': { destination: { file } } } });
    const res = await fetch(`${gw.url}/partners/list?partnerKey=SECRET-wrong-key`);
    assert.equal(res.status, 401);
    const [line] = await readLines(file, 1);
    assert.equal(line!.status, 401);
    assert.equal(line!.level, 'warn');
    assert.equal(line!.errorCode, 'invalid_credentials');
    assert.match(String(line!.authError), /^key-auth: /, 'the operator learns why; the client did not');
    assert.equal(line!.query, 'partnerKey=[REDACTED]');
    assert.ok(!readText(file).includes('SECRET'));
  });

  it('with sampling 0 logs no success but every error: 404, 502 and 4xx from the upstream', async (t) => {
    const file = join(tempDir(t), 'access.log');
    const up = await startUpstream();
    const gw = await startGateway({
      upstreams: { up: { targets: [{ url: up.url }] }, down: { targets: [{ url: 'http://127.0.0.1:1' }] } },
      routes: [
        { name: 'ok', match: { path: '/ok' }, upstream: 'up' },
        { name: 'down', match: { path: '/down' }, upstream: 'down' },
        { name: 'teapot', match: { path: '/teapot' }, plugins: { mock: { status: 418, body: 'short and stout' } } },
      ],
      plugins: { 'access-log': { destination: { file }, sampling: 0 } },
    });
    t.after(async () => {
      await gw.close();
      await up.close();
    });
    for (let i = 0; i < 5; i++) await (await fetch(`${gw.url}/ok`)).text();
    for (const path of ['/nowhere', '/down', '/teapot']) await (await fetch(`${gw.url}${path}`)).text();
    const lines = await readLines(file, 3);
    assert.deepEqual(lines.map((l) => [l.path, l.status, l.errorCode, l.level]), [
      ['/nowhere', 404, 'route_not_found', 'warn'],
      ['/down', 502, 'upstream_unavailable', 'error'],
      ['/teapot', 418, undefined, 'warn'],
    ]);
    assert.equal(lines[0]!.route, undefined);
    assert.equal(lines[1]!.target, 'http://127.0.0.1:1');
  });

  it('samples successes at the configured rate', async (t) => {
    const file = join(tempDir(t), 'access.log');
    const { gw } = await setup(t, [{ name: 'r', match: { path: '/*' } }], {
      plugins: { 'access-log': { destination: { file }, sampling: 0.5, fields: ['status'] } },
    });
    for (let i = 0; i < 200; i++) await (await fetch(`${gw.url}/x`)).text();
    await settle();
    const n = (await readLines(file, 0)).length;
    // Binomial(200, 0.5): outside 60..140 with probability below 1e-8.
    assert.ok(n > 60 && n < 140, `${n} of 200 logged`);
  });

  it('rotates by size into numbered files, losing no line', async (t) => {
    const dir = tempDir(t);
    const { gw } = await setup(t, [{ name: 'r', match: { path: '/*' } }], {
      plugins: { 'access-log': { destination: { file: join(dir, 'access.log'), rotate: { size: '2kb', keep: 50 } } } },
    });
    const total = 60;
    for (let i = 0; i < total; i++) {
      await (await fetch(`${gw.url}/item/${i}`)).text();
      // Rotation happens between batched writes: give each batch its turn.
      if (i % 10 === 9) await flushAccessLogs();
    }
    const deadline = Date.now() + 5000;
    let files: string[] = [];
    let lines: Line[] = [];
    while (Date.now() < deadline) {
      await flushAccessLogs();
      files = readdirSync(dir).filter((f) => /^access\.\d+\.log$/.test(f)).sort();
      lines = files.flatMap((f) => readText(join(dir, f)).split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Line));
      if (lines.length >= total) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.ok(files.length >= 2, `rotated into ${files.join(', ')}`);
    assert.ok(files.includes('access.1.log') && files.includes('access.2.log'));
    assert.equal(lines.length, total);
    assert.deepEqual(new Set(lines.map((l) => l.path)).size, total);
  });

  it('writes nothing for a route that turns the plugin off, and a route can log to its own file', async (t) => {
    const dir = tempDir(t);
    const globalFile = join(dir, 'global.log');
    const ownFile = join(dir, 'own.log');
    const { gw } = await setup(t, [
      { name: 'quiet', match: { path: '/quiet' }, plugins: { 'access-log': { enabled: false } } },
      { name: 'own', match: { path: '/own' }, plugins: { 'access-log': { destination: { file: ownFile }, fields: ['route'] } } },
      { name: 'loud', match: { path: '/loud' } },
    ], { plugins: { 'access-log': { destination: { file: globalFile }, fields: ['route'] } } });
    for (let i = 0; i < 3; i++) await (await fetch(`${gw.url}/quiet`)).text();
    await (await fetch(`${gw.url}/own`)).text();
    await (await fetch(`${gw.url}/loud`)).text();
    assert.deepEqual(await readLines(globalFile, 1), [{ level: 'info', route: 'loud' }]);
    assert.deepEqual(await readLines(ownFile, 1), [{ level: 'info', route: 'own' }]);
    await settle();
    assert.equal(readText(globalFile).split('\n').filter((l) => l !== '').length, 1);
  });

  it('keeps writing one line per request through a reload', async (t) => {
    const file = join(tempDir(t), 'access.log');
    const config = (route: string) => ({
      upstreams: { up: { targets: [{ url: up.url }] } },
      routes: [{ name: route, match: { path: '/*' }, upstream: 'up' }],
      plugins: { 'access-log': { destination: { file }, fields: ['route'] } },
    });
    const up = await startUpstream();
    const gw = await startGateway(config('before'));
    t.after(async () => {
      await gw.close();
      await up.close();
    });
    await (await fetch(`${gw.url}/a`)).text();
    await gw.gateway.apply(config('after'));
    await (await fetch(`${gw.url}/b`)).text();
    const lines = await readLines(file, 2);
    await settle();
    assert.deepEqual(lines.map((l) => l.route), ['before', 'after']);
  });

  it('marks a request whose client went away before the response', async (t) => {
    const file = join(tempDir(t), 'access.log');
    const slow = await startUpstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('partial');
      // Never ends: the client gives up.
    });
    const gw = await startGateway({
      upstreams: { slow: { targets: [{ url: slow.url }] } },
      routes: [{ name: 'slow', match: { path: '/*' }, upstream: 'slow' }],
      plugins: { 'access-log': { destination: { file }, sampling: 0, fields: ['status', 'aborted'] } },
    });
    t.after(async () => {
      await gw.close();
      await slow.close();
    });
    const ac = new AbortController();
    const res = await fetch(`${gw.url}/stream`, { signal: ac.signal });
    assert.equal(res.status, 200);
    ac.abort();
    const [line] = await readLines(file, 1);
    assert.deepEqual(line, { level: 'info', status: 200, aborted: true });
  });
});

describe('access-log when the gateway stops', () => {
  it('has written every line to the file by the time stop() resolves', async (t) => {
    const file = join(tempDir(t), 'access.log');
    const up = await startUpstream();
    t.after(() => up.close());
    const gw = await startGateway(simpleConfig(up.url, [{ name: 'r', match: { path: '/*' } }], { plugins: { 'access-log': { destination: { file } } } }));
    for (let i = 0; i < 20; i++) assert.equal((await fetch(`${gw.url}/n/${i}`)).status, 200);
    await gw.close();
    const lines = readText(file).trim().split('\n').map((l) => JSON.parse(l) as { path: string });
    assert.equal(lines.length, 20);
    assert.equal(lines.at(-1)!.path, '/n/19');
  });
});

describe('access-log and rate limits', () => {
  it('records the rate-limit decision of each request', async (t) => {
    const file = join(tempDir(t), 'access.log');
    const up = await startUpstream();
    t.after(() => up.close());
    const gw = await startGateway(simpleConfig(up.url, [
      { name: 'r', match: { path: '/*' }, plugins: { 'rate-limit': { limits: [{ rate: '1/m', burst: 1 }], by: 'ip' } } },
    ], { plugins: { 'access-log': { destination: { file } } } }));
    t.after(() => gw.close());
    assert.equal((await fetch(`${gw.url}/a`)).status, 200);
    assert.equal((await fetch(`${gw.url}/b`)).status, 429);
    const lines = await readLines(file, 2);
    assert.deepEqual(lines.map((l) => [l.path, l.status, l.rateLimit, l.errorCode]), [
      ['/a', 200, 'allowed', undefined],
      ['/b', 429, 'rate_limited', 'rate_limited'],
    ]);
  });
});
