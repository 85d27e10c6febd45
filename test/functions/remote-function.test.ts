import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startGateway, type TestGateway } from '../helpers/gateway.ts';
import { invokeFailureOf } from '../../src/functions/remote/invoke-failure.ts';
import { RemoteFunction, arnRegion } from '../../src/functions/remote/remote-function.ts';
import { silentLogger } from '../../src/core/logger.ts';
import { until } from '../helpers/redis.ts';

const HANDLERS = `
export const http = async (event) => ({ statusCode: 200, headers: { 'content-type': 'application/json', 'x-ran-on': 'b' }, body: JSON.stringify(event) });
export const fails = async () => { throw new Error('broken'); };
export const slow = async () => { await new Promise((r) => setTimeout(r, 1500)); return { statusCode: 200, body: 'late' }; };
`;

const KEY = { accessKeyId: 'AKIDREMOTETEST', secretAccessKey: 'remote-function-test-secret' };
const ARN = (name: string) => `arn:aws:lambda:eu-west-1:123456789012:function:${name}`;

/** Puts a key pair in the environment (the first link of the SDK's default credential chain); returns the undo. */
function awsEnv(accessKeyId: string, secretAccessKey: string): () => void {
  const saved = { AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY };
  process.env.AWS_ACCESS_KEY_ID = accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = secretAccessKey;
  return () => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
}

async function get(url: string): Promise<{ status: number; headers: Headers; text: string }> {
  const res = await fetch(url);
  return { status: res.status, headers: res.headers, text: await res.text() };
}

describe('remote functions: a route on gateway A invokes a local function of gateway B through B\'s Invoke API', () => {
  let dir: string;
  let b: TestGateway;
  let a: TestGateway;
  let restoreEnv: () => void;
  before(async () => {
    restoreEnv = awsEnv(KEY.accessKeyId, KEY.secretAccessKey);
    dir = mkdtempSync(join(tmpdir(), 'expeditor-remote-'));
    writeFileSync(join(dir, 'fn.mjs'), HANDLERS);
    b = await startGateway({
      functions: {
        http: { handler: 'fn.http', codeDir: dir },
        fails: { handler: 'fn.fails', codeDir: dir },
        slow: { handler: 'fn.slow', codeDir: dir, reservedConcurrency: 1, queue: { maxSize: 0 } },
      },
      functionsApi: { enabled: true, port: 0, credentials: [{ ...KEY }] },
    });
    const endpoint = b.gateway.functionsApiUrl!;
    a = await startGateway({
      functions: {
        http: { arn: ARN('http'), endpoint },
        pinned: { arn: ARN('http'), qualifier: '$LATEST', endpoint },
        fails: { arn: ARN('fails'), endpoint },
        slow: { arn: ARN('slow'), endpoint, timeout: '5s' },
        impatient: { arn: ARN('slow'), endpoint, timeout: '300ms' },
        missing: { arn: ARN('missing'), endpoint },
        versioned: { arn: ARN('http'), qualifier: 'prod', endpoint },
      },
      routes: [
        { name: 'v2', match: { path: '/v2/items/:id' }, function: { name: 'http' } },
        { name: 'v1', match: { path: '/v1/items/:id' }, function: { name: 'pinned', payloadFormat: '1.0' } },
        { name: 'fails', match: { path: '/fails' }, function: { name: 'fails' } },
        { name: 'slow', match: { path: '/slow' }, function: { name: 'slow' } },
        { name: 'impatient', match: { path: '/impatient' }, function: { name: 'impatient' } },
        { name: 'missing', match: { path: '/missing' }, function: { name: 'missing' } },
        { name: 'versioned', match: { path: '/versioned' }, function: { name: 'versioned' } },
      ],
    });
  });
  after(async () => {
    await a.close();
    await b.close();
    rmSync(dir, { recursive: true, force: true });
    restoreEnv();
  });

  it('maps the request to a 2.0 event on A, runs it on B, and maps the result back', async () => {
    const r = await get(`${a.url}/v2/items/42?x=1&x=2`);
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('x-ran-on'), 'b');
    const event = JSON.parse(r.text);
    assert.equal(event.version, '2.0');
    assert.equal(event.rawPath, '/v2/items/42');
    assert.equal(event.rawQueryString, 'x=1&x=2');
    assert.deepEqual(event.pathParameters, { id: '42' });
  });

  it('works with payload 1.0 and a $LATEST qualifier', async () => {
    const r = await get(`${a.url}/v1/items/7`);
    assert.equal(r.status, 200);
    const event = JSON.parse(r.text);
    assert.equal(event.resource, '/v1/items/{id}');
    assert.equal(event.httpMethod, 'GET');
  });

  it('a function error on B is a function error on A (500 function_error for 2.0)', async () => {
    const r = await get(`${a.url}/fails`);
    assert.equal(r.status, 500);
    assert.equal(JSON.parse(r.text).code, 'function_error');
  });

  it('a missing function or qualifier is 503 function_unavailable', async () => {
    for (const path of ['/missing', '/versioned']) {
      const r = await get(`${a.url}${path}`);
      assert.equal(r.status, 503, path);
      assert.equal(JSON.parse(r.text).code, 'function_unavailable');
    }
  });

  it('a throttle on B (TooManyRequestsException) is 429 function_throttled on A', async () => {
    const first = get(`${a.url}/slow`);
    // Wait until B's only sandbox is running the first invocation (an event, not a guess at how long that takes).
    await until(() => b.gateway.runtime.functions.get('slow')!.invoker.stats().sandboxes.busy === 1, 10_000, 'B to run the first invocation');
    const second = await get(`${a.url}/slow`);
    assert.equal(second.status, 429);
    assert.equal(JSON.parse(second.text).code, 'function_throttled');
    assert.equal((await first).status, 200);
  });

  it('A stops waiting after the function\'s timeout: 504 function_timeout', async () => {
    const r = await get(`${a.url}/impatient`);
    assert.equal(r.status, 504);
    assert.equal(JSON.parse(r.text).code, 'function_timeout');
  });

  it('counts invocations, errors and throttles in the remote function\'s stats', () => {
    const stats = a.gateway.runtime.functions.get('fails')!.invoker.stats();
    assert.equal(stats.kind, 'remote');
    assert.ok(stats.invocations >= 1);
    assert.ok(stats.errors >= 1);
    assert.ok(a.gateway.runtime.functions.get('slow')!.invoker.stats().throttles >= 1);
  });
});

describe('remote function errors and config', () => {
  it('maps SDK errors to invoke failures', () => {
    assert.equal(invokeFailureOf({ name: 'TooManyRequestsException' }), 'throttled');
    assert.equal(invokeFailureOf({ name: 'ResourceNotReadyException' }), 'init_failed');
    assert.equal(invokeFailureOf({ name: 'ServiceException', $metadata: { httpStatusCode: 500 } }), 'unavailable');
    assert.equal(invokeFailureOf(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })), 'unavailable');
    assert.equal(invokeFailureOf({ name: 'Whatever', $metadata: { httpStatusCode: 429 } }), 'throttled');
  });

  it('takes the region from the ARN unless `region` is set', () => {
    assert.equal(arnRegion('arn:aws:lambda:ap-south-1:123456789012:function:f'), 'ap-south-1');
    assert.throws(() => new RemoteFunction('f', { arn: 'arn:aws:lambda::123:function:f' } as never, { logger: silentLogger }), /region/);
  });

  it('an unreachable endpoint is 503 function_unavailable', async () => {
    const gw = await startGateway({
      functions: { gone: { arn: ARN('gone'), endpoint: 'http://127.0.0.1:9', region: 'us-east-1' } },
      routes: [{ name: 'gone', match: { path: '/gone' }, function: { name: 'gone' } }],
    });
    const restoreEnv = awsEnv('AKIDX', 'x');
    try {
      const r = await get(`${gw.url}/gone`);
      assert.equal(r.status, 503);
      assert.equal(JSON.parse(r.text).code, 'function_unavailable');
    } finally {
      restoreEnv();
      await gw.close();
    }
  });
});
