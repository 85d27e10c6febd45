import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startGateway, type TestGateway } from '../helpers/gateway.ts';
import { scrape } from '../observability/support.ts';
import { Gateway } from '../../src/server/gateway.ts';
import { silentLogger } from '../../src/core/logger.ts';

interface Answer { status: number; headers: http.IncomingHttpHeaders; body: Buffer }

function send(base: string, path: string, options: { method?: string; headers?: Record<string, string | string[]>; body?: Buffer | string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${base}${path}`, { method: options.method ?? 'GET', headers: options.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

const json = (a: Answer) => JSON.parse(a.body.toString('utf8')) as Record<string, any>;

/** Handlers written for these tests, in a temp code directory. */
const HANDLERS = {
  'http.mjs': `
export const v2 = async (event) => ({
  statusCode: 201,
  headers: { 'content-type': 'application/json', 'x-from': 'function' },
  cookies: ['a=1; Path=/', 'b=2; Expires=Wed, 21 Oct 2026 07:28:00 GMT'],
  body: JSON.stringify(event),
});
export const v1 = async (event) => ({
  statusCode: 200,
  multiValueHeaders: { 'set-cookie': ['a=1', 'b=2'], 'x-many': ['x', 'y'] },
  body: JSON.stringify(event),
});
export const image = async (event) => ({
  statusCode: 200,
  headers: { 'content-type': 'image/png' },
  isBase64Encoded: true,
  body: event.isBase64Encoded ? event.body : Buffer.from(event.body ?? '').toString('base64'),
});
export const bare = async () => ({ hello: 'world' });
export const noStatus = async () => ({ body: 'x' });
export const fails = async () => { throw new TypeError('no soup'); };
export const slow = async () => { await new Promise((r) => setTimeout(r, 5000)); return { statusCode: 200, body: 'late' }; };
export const wait = async (event) => { await new Promise((r) => setTimeout(r, Number(event.queryStringParameters?.ms ?? 200))); return { statusCode: 200, body: 'waited' }; };
export const pid = async () => ({ statusCode: 200, body: String(process.pid) });
`,
};

describe('function routes', () => {
  let dir: string;
  let gw: TestGateway;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'expeditor-fn-'));
    for (const [name, text] of Object.entries(HANDLERS)) writeFileSync(join(dir, name), text);
    const fn = (handler: string, extra: Record<string, unknown> = {}) => ({ handler: `http.${handler}`, codeDir: dir, ...extra });
    gw = await startGateway({
      functions: {
        v2: fn('v2'), v1: fn('v1'), image: fn('image'), bare: fn('bare'), noStatus: fn('noStatus'), fails: fn('fails'),
        slow: fn('slow', { timeout: '300ms' }), wait: fn('wait', { reservedConcurrency: 1, queue: { maxSize: 0 } }), pid: fn('pid'),
      },
      routes: [
        { name: 'v2', match: { path: '/v2/items/:id' }, function: { name: 'v2' } },
        { name: 'v1', match: { path: '/v1/items/:id' }, function: { name: 'v1', payloadFormat: '1.0' } },
        { name: 'v1-proxy', match: { path: '/v1/files/*' }, function: { name: 'v1', payloadFormat: '1.0' } },
        { name: 'image', match: { path: '/image' }, function: { name: 'image', payloadFormat: '1.0', binaryMediaTypes: ['image/*'] } },
        { name: 'bare', match: { path: '/bare' }, function: { name: 'bare' } },
        { name: 'no-status-1', match: { path: '/no-status/v1' }, function: { name: 'noStatus', payloadFormat: '1.0' } },
        { name: 'fails-1', match: { path: '/fails/v1' }, function: { name: 'fails', payloadFormat: '1.0' } },
        { name: 'fails-2', match: { path: '/fails/v2' }, function: { name: 'fails' } },
        { name: 'fails-aws', match: { path: '/fails/aws' }, function: { name: 'fails', payloadFormat: '1.0', errors: 'aws' } },
        { name: 'slow', match: { path: '/slow' }, function: { name: 'slow' } },
        { name: 'wait', match: { path: '/wait' }, function: { name: 'wait' } },
        { name: 'pid', match: { path: '/pid' }, function: { name: 'pid' } },
      ],
    });
  });
  after(async () => {
    await gw?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('payload 2.0: the request becomes an HTTP API event, the result the response (cookies never comma-joined)', async () => {
    const r = await send(gw.url, '/v2/items/42?tag=a&tag=b', { method: 'POST', headers: { 'content-type': 'application/json', cookie: 's=1; t=2', 'x-tag': ['one', 'two'] }, body: '{"qty":2}' });
    assert.equal(r.status, 201);
    assert.equal(r.headers['x-from'], 'function');
    assert.deepEqual(r.headers['set-cookie'], ['a=1; Path=/', 'b=2; Expires=Wed, 21 Oct 2026 07:28:00 GMT']);
    const e = json(r);
    assert.equal(e.version, '2.0');
    assert.equal(e.routeKey, 'ANY /v2/items/{id}');
    assert.equal(e.rawPath, '/v2/items/42');
    assert.equal(e.rawQueryString, 'tag=a&tag=b');
    assert.equal(e.queryStringParameters.tag, 'a,b');
    assert.deepEqual(e.pathParameters, { id: '42' });
    assert.deepEqual(e.cookies, ['s=1', 't=2']);
    assert.equal(e.headers['x-tag'], 'one,two');
    assert.equal(e.body, '{"qty":2}');
    assert.equal(e.isBase64Encoded, false);
    assert.equal(e.requestContext.http.method, 'POST');
    assert.match(e.requestContext.requestId, /^[0-9a-f-]{36}$/);
  });

  it('payload 1.0: resource is the route template, multi-value maps, greedy proxy, null for empty maps', async () => {
    const r = await send(gw.url, '/v1/items/a%20b?x=1&x=2', { headers: { 'x-many': ['p', 'q'] } });
    assert.equal(r.status, 200);
    assert.deepEqual(r.headers['set-cookie'], ['a=1', 'b=2']);
    const e = json(r);
    assert.equal(e.resource, '/v1/items/{id}');
    assert.equal(e.path, '/v1/items/a%20b');
    assert.equal(e.httpMethod, 'GET');
    assert.deepEqual(e.pathParameters, { id: 'a b' });
    assert.equal(e.queryStringParameters.x, '2');
    assert.deepEqual(e.multiValueQueryStringParameters.x, ['1', '2']);
    assert.deepEqual(e.multiValueHeaders['x-many'], ['p', 'q']);
    assert.equal(e.body, null);
    assert.equal(e.stageVariables, null);
    const p = json(await send(gw.url, '/v1/files/a/b/c.txt'));
    assert.equal(p.resource, '/v1/files/{proxy+}');
    assert.deepEqual(p.pathParameters, { proxy: 'a/b/c.txt' });
  });

  it('binary bodies both ways with binaryMediaTypes (1.0)', async () => {
    const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x00, 0xff, 0x10]);
    const r = await send(gw.url, '/image', { method: 'POST', headers: { 'content-type': 'image/png', accept: 'image/png' }, body: png });
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'image/png');
    assert.ok(r.body.equals(png), `got ${r.body.toString('hex')}`);
  });

  it('2.0 results without statusCode are JSON bodies; in 1.0 they are malformed (502)', async () => {
    const bare = await send(gw.url, '/bare');
    assert.equal(bare.status, 200);
    assert.equal(bare.headers['content-type'], 'application/json');
    assert.deepEqual(json(bare), { hello: 'world' });
    const malformed = await send(gw.url, '/no-status/v1');
    assert.equal(malformed.status, 502);
    assert.equal(json(malformed).code, 'function_error');
  });

  it('a function error is 502 on 1.0 routes and 500 on 2.0, problem+json; AWS\'s own body with errors: aws', async () => {
    const v1 = await send(gw.url, '/fails/v1');
    assert.equal(v1.status, 502);
    assert.equal(v1.headers['content-type'], 'application/problem+json');
    assert.equal(json(v1).code, 'function_error');
    assert.doesNotMatch(v1.body.toString(), /no soup/, 'the error itself stays in the log');
    const v2 = await send(gw.url, '/fails/v2');
    assert.equal(v2.status, 500);
    assert.equal(json(v2).code, 'function_error');
    const aws = await send(gw.url, '/fails/aws');
    assert.equal(aws.status, 502);
    assert.equal(aws.body.toString(), '{"message":"Internal server error"}');
  });

  it('a function past its timeout is 504 function_timeout, and the gateway keeps serving', async () => {
    const r = await send(gw.url, '/slow');
    assert.equal(r.status, 504);
    assert.equal(json(r).code, 'function_timeout');
    assert.equal((await send(gw.url, '/bare')).status, 200);
  });

  it('past reserved concurrency and a full queue: 429 function_throttled', async () => {
    const [a, b] = await Promise.all([send(gw.url, '/wait?ms=400'), new Promise<Answer>((r) => setTimeout(() => r(send(gw.url, '/wait?ms=1')), 150))]);
    assert.equal(a.status, 200);
    assert.equal(b.status, 429);
    assert.equal(json(b).code, 'function_throttled');
  });

  it('an event over Lambda\'s 6 MB limit is refused with 413 before anything runs', async () => {
    const before = ((await (await fetch(`${gw.adminUrl}/functions/v2`)).json()) as { invocations: number }).invocations;
    const r = await send(gw.url, '/v2/items/1', { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: Buffer.alloc(5 * 1024 * 1024, 1) });
    assert.equal(r.status, 413);
    assert.equal(json(r).code, 'payload_too_large');
    assert.match(json(r).detail, /Lambda takes at most 6291456/, 'the event limit, not the route\'s body limit');
    const after = ((await (await fetch(`${gw.adminUrl}/functions/v2`)).json()) as { invocations: number }).invocations;
    assert.equal(after, before);
  });

  it('GET /functions and the metrics report invocations, errors, throttles and cold starts', async () => {
    const stats = (await (await fetch(`${gw.adminUrl}/functions/fails`)).json()) as { invocations: number; errors: number; coldStarts: number };
    assert.ok(stats.invocations >= 3 && stats.errors >= 3, JSON.stringify(stats));
    assert.ok(stats.coldStarts >= 1);
    assert.equal((await fetch(`${gw.adminUrl}/functions/nope`)).status, 404);
    const m = await scrape(gw.adminUrl!);
    assert.ok(m.value('expeditor_function_invocations_total', { function: 'fails' })! >= 3);
    assert.ok(m.value('expeditor_function_throttles_total', { function: 'wait' })! >= 1);
    assert.ok(m.value('expeditor_function_timeouts_total', { function: 'slow' })! >= 1);
  });

  it('a reload that leaves a function\'s config alone keeps its warm sandbox', async () => {
    const before = (await send(gw.url, '/pid')).body.toString();
    const config = gw.gateway.runtime.config;
    await gw.gateway.apply({ ...config, routes: [...config.routes, { name: 'extra', match: { path: '/extra' }, function: { name: 'bare' } }] });
    assert.equal((await send(gw.url, '/pid')).body.toString(), before);
  });
});

describe('function routes, traced', () => {
  it('a traced request reaches the function as _X_AMZN_TRACE_ID with the same trace id', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'expeditor-fn-trace-'));
    writeFileSync(join(dir, 'trace.mjs'), 'export const handler = async () => ({ statusCode: 200, body: process.env._X_AMZN_TRACE_ID ?? "none" });\n');
    const sink = http.createServer((req, res) => { req.resume(); res.end(); });
    await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
    const gw = await startGateway({
      tracing: { enabled: true, sampleRate: 1, otlp: { endpoint: `http://127.0.0.1:${(sink.address() as { port: number }).port}/v1/traces` } },
      functions: { trace: { handler: 'trace.handler', codeDir: dir } },
      routes: [{ name: 'trace', match: { path: '/trace' }, function: { name: 'trace' } }],
    });
    try {
      const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
      const r = await send(gw.url, '/trace', { headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` } });
      assert.match(r.body.toString(), new RegExp(`^Root=1-${traceId.slice(0, 8)}-${traceId.slice(8)};Parent=[0-9a-f]{16};Sampled=1$`));
    } finally {
      await gw.close();
      sink.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('function config', () => {
  const refused = async (config: Record<string, unknown>) => {
    try {
      await Gateway.start({ listen: { port: 0 }, admin: { enabled: false }, ...config }, { logger: silentLogger });
    } catch (err) {
      return (err as { issues: Array<{ path: string; message: string }> }).issues;
    }
    assert.fail('the config was accepted');
  };

  it('names the exact path of a bad reference or combination', async () => {
    const issues = await refused({
      upstreams: { u: { targets: [{ url: 'http://127.0.0.1:9' }] } },
      functions: { ok: { handler: 'a.handler' }, nohandler: {}, badhandler: { handler: 'nodot' } },
      routes: [
        { name: 'a', match: { path: '/a' }, function: { name: 'missing' } },
        { name: 'b', match: { path: '/b' }, upstream: 'u', function: { name: 'ok' } },
      ],
    });
    const paths = issues.map((i) => i.path).sort();
    assert.deepEqual(paths, ['functions.badhandler.handler', 'functions.nohandler.handler', 'routes[0].function.name', 'routes[1].function']);
  });
});
