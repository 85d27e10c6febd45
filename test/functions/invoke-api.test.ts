import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvokeCommand, LambdaClient, type InvokeCommandInput } from '@aws-sdk/client-lambda';
import { startGateway, type TestGateway } from '../helpers/gateway.ts';

const HANDLERS = `
import { writeFileSync } from 'node:fs';
export const echo = async (event, context) => ({ event, functionName: context.functionName, clientContext: context.clientContext ?? null });
export const fails = async () => { throw new TypeError('no soup'); };
export const chatty = async (event) => { console.log('line one'); console.log('marker ' + event.marker); return 'done'; };
export const mark = async (event) => { writeFileSync(event.file, JSON.stringify(event)); return null; };
`;

const KEY = { accessKeyId: 'AKIDINVOKETEST', secretAccessKey: 'invoke-api-test-secret' };

function client(endpoint: string, credentials = KEY): LambdaClient {
  return new LambdaClient({ region: 'us-east-1', endpoint, credentials: { ...credentials }, maxAttempts: 1 });
}

async function invoke(c: LambdaClient, input: Omit<InvokeCommandInput, 'Payload'> & { Payload?: unknown }) {
  const payload = input.Payload === undefined ? undefined : Buffer.from(JSON.stringify(input.Payload));
  const out = await c.send(new InvokeCommand({ ...input, Payload: payload }));
  const text = out.Payload == null ? '' : Buffer.from(out.Payload).toString('utf8');
  return { ...out, json: text === '' ? undefined : JSON.parse(text) as any };
}

async function rejection(p: Promise<unknown>): Promise<{ name: string; status: number | undefined; message: string }> {
  try {
    await p;
  } catch (err) {
    const e = err as { name: string; message: string; $metadata?: { httpStatusCode?: number } };
    return { name: e.name, status: e.$metadata?.httpStatusCode, message: e.message };
  }
  assert.fail('expected the call to fail');
}

async function rawPost(base: string, path: string, body: string): Promise<{ status: number; headers: Headers; body: string }> {
  const res = await fetch(`${base}${path}`, { method: 'POST', body });
  return { status: res.status, headers: res.headers, body: await res.text() };
}

function writeHandlers(): string {
  const dir = mkdtempSync(join(tmpdir(), 'expeditor-invoke-'));
  writeFileSync(join(dir, 'fn.mjs'), HANDLERS);
  return dir;
}

const functions = (dir: string) => Object.fromEntries(['echo', 'fails', 'chatty', 'mark'].map((h) => [h, { handler: `fn.${h}`, codeDir: dir }]));

describe('Invoke API with the AWS SDK client, unsigned from loopback', () => {
  let dir: string;
  let gw: TestGateway;
  let lambda: LambdaClient;
  before(async () => {
    dir = writeHandlers();
    gw = await startGateway({ functions: functions(dir), functionsApi: { enabled: true, port: 0 } });
    lambda = client(gw.gateway.functionsApiUrl!);
  });
  after(async () => {
    lambda.destroy();
    await gw.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('RequestResponse returns the result with the executed version', async () => {
    const out = await invoke(lambda, { FunctionName: 'echo', Payload: { hello: 'world' } });
    assert.equal(out.StatusCode, 200);
    assert.equal(out.FunctionError, undefined);
    assert.equal(out.ExecutedVersion, '$LATEST');
    assert.deepEqual(out.json.event, { hello: 'world' });
    assert.equal(out.json.functionName, 'echo');
  });

  it('takes the function as a full ARN, a partial ARN and with the $LATEST qualifier', async () => {
    for (const FunctionName of ['arn:aws:lambda:us-east-1:123456789012:function:echo', '123456789012:function:echo:$LATEST', 'echo:$LATEST']) {
      const out = await invoke(lambda, { FunctionName, Payload: { n: 1 } });
      assert.deepEqual(out.json.event, { n: 1 }, FunctionName);
    }
    const out = await invoke(lambda, { FunctionName: 'echo', Qualifier: '$LATEST', Payload: { n: 2 } });
    assert.deepEqual(out.json.event, { n: 2 });
  });

  it('passes the client context to the handler', async () => {
    const ClientContext = Buffer.from(JSON.stringify({ custom: { app: 'tests' } })).toString('base64');
    const out = await invoke(lambda, { FunctionName: 'echo', ClientContext, Payload: {} });
    assert.deepEqual(out.json.clientContext?.custom ?? out.json.clientContext?.Custom, { app: 'tests' });
  });

  it('a function error answers 200 with X-Amz-Function-Error: Unhandled and the error payload', async () => {
    const out = await invoke(lambda, { FunctionName: 'fails', Payload: {} });
    assert.equal(out.StatusCode, 200);
    assert.equal(out.FunctionError, 'Unhandled');
    assert.equal(out.json.errorType, 'TypeError');
    assert.equal(out.json.errorMessage, 'no soup');
  });

  it('LogType Tail returns the base64 tail of the invocation\'s log', async () => {
    const out = await invoke(lambda, { FunctionName: 'chatty', LogType: 'Tail', Payload: { marker: 'xyzzy' } });
    assert.equal(out.json, 'done');
    const log = Buffer.from(out.LogResult!, 'base64').toString('utf8');
    assert.match(log, /line one/);
    assert.match(log, /marker xyzzy/);
    const plain = await invoke(lambda, { FunctionName: 'chatty', Payload: { marker: 'x' } });
    assert.equal(plain.LogResult, undefined);
  });

  it('Event answers 202 at once and runs the function in the background', async () => {
    const file = join(dir, 'event-ran.json');
    const out = await invoke(lambda, { FunctionName: 'mark', InvocationType: 'Event', Payload: { file, n: 7 } });
    assert.equal(out.StatusCode, 202);
    // The function writes the file in the background: wait until it is there and whole.
    const deadline = Date.now() + 10_000;
    let written: { n?: number } | undefined;
    while (written === undefined && Date.now() < deadline) {
      try {
        written = JSON.parse(readFileSync(file, 'utf8')) as { n?: number };
      } catch {
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    assert.equal(written?.n, 7);
  });

  it('DryRun answers 204 without running the function', async () => {
    const file = join(dir, 'dry-run.json');
    const stats = () => gw.gateway.runtime.functions.get('mark')!.invoker.stats().invocations;
    const before = stats();
    const out = await invoke(lambda, { FunctionName: 'mark', InvocationType: 'DryRun', Payload: { file } });
    assert.equal(out.StatusCode, 204);
    // A synchronous invocation afterwards is the only one counted: the DryRun started none, now or in the background.
    const after = join(dir, 'after-dry-run.json');
    assert.equal((await invoke(lambda, { FunctionName: 'mark', Payload: { file: after } })).StatusCode, 200);
    assert.equal(stats(), before + 1);
    assert.equal(existsSync(file), false);
    assert.equal(existsSync(after), true);
  });

  it('an unknown function or qualifier is ResourceNotFoundException (404)', async () => {
    const missing = await rejection(invoke(lambda, { FunctionName: 'nope', Payload: {} }));
    assert.deepEqual([missing.name, missing.status], ['ResourceNotFoundException', 404]);
    const qualified = await rejection(invoke(lambda, { FunctionName: 'echo', Qualifier: 'prod', Payload: {} }));
    assert.deepEqual([qualified.name, qualified.status], ['ResourceNotFoundException', 404]);
    const raw = await rawPost(gw.gateway.functionsApiUrl!, '/2015-03-31/functions/echo/invocations?Qualifier=v2', '{}');
    assert.equal(raw.status, 404);
    assert.equal(raw.headers.get('x-amzn-errortype'), 'ResourceNotFoundException');
    assert.equal(JSON.parse(raw.body).Type, 'User');
    assert.match(JSON.parse(raw.body).message, /echo:v2/);
  });

  it('refuses payloads over 256 KB for Event and 6 MB for RequestResponse (413 RequestTooLargeException)', async () => {
    const big = { pad: 'x'.repeat(300 * 1024) };
    const event = await rejection(invoke(lambda, { FunctionName: 'echo', InvocationType: 'Event', Payload: big }));
    assert.deepEqual([event.name, event.status], ['RequestTooLargeException', 413]);
    const ok = await invoke(lambda, { FunctionName: 'echo', Payload: big });
    assert.equal(ok.json.event.pad.length, 300 * 1024);
    const huge = await rejection(invoke(lambda, { FunctionName: 'echo', Payload: { pad: 'x'.repeat(6 * 1024 * 1024) } }));
    assert.deepEqual([huge.name, huge.status], ['RequestTooLargeException', 413]);
  });

  it('a body that is not JSON is InvalidRequestContentException', async () => {
    const raw = await rawPost(gw.gateway.functionsApiUrl!, '/2015-03-31/functions/echo/invocations', 'not json');
    assert.equal(raw.status, 400);
    assert.equal(raw.headers.get('x-amzn-errortype'), 'InvalidRequestContentException');
  });

  it('sees functions of a reloaded config on the next request', async () => {
    await gw.gateway.apply({ ...gw.gateway.runtime.config, functions: { ...functions(dir), again: { handler: 'fn.echo', codeDir: dir } } });
    const out = await invoke(lambda, { FunctionName: 'again', Payload: { r: 1 } });
    assert.deepEqual(out.json.event, { r: 1 });
  });
});

describe('Invoke API: who may call', () => {
  let dir: string;
  let signed: TestGateway;
  let fenced: TestGateway;
  before(async () => {
    dir = writeHandlers();
    signed = await startGateway({ functions: functions(dir), functionsApi: { enabled: true, port: 0, credentials: [KEY] } });
    fenced = await startGateway({ functions: functions(dir), functionsApi: { enabled: true, port: 0, allowUnsignedFrom: ['10.0.0.0/8'] } });
  });
  after(async () => {
    await signed.close();
    await fenced.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('accepts a request signed with a configured key (SigV4, service lambda, any region)', async () => {
    for (const region of ['us-east-1', 'eu-west-3']) {
      const c = new LambdaClient({ region, endpoint: signed.gateway.functionsApiUrl!, credentials: { ...KEY }, maxAttempts: 1 });
      const out = await invoke(c, { FunctionName: 'arn:aws:lambda:eu-west-3:123456789012:function:echo', Payload: { signed: true } });
      assert.deepEqual(out.json.event, { signed: true });
      c.destroy();
    }
  });

  it('refuses a wrong secret with InvalidSignatureException (403)', async () => {
    const c = client(signed.gateway.functionsApiUrl!, { accessKeyId: KEY.accessKeyId, secretAccessKey: 'wrong-secret' });
    const r = await rejection(invoke(c, { FunctionName: 'echo', Payload: {} }));
    assert.deepEqual([r.name, r.status], ['InvalidSignatureException', 403]);
    c.destroy();
  });

  it('refuses an unknown access key with UnrecognizedClientException (403)', async () => {
    const c = client(signed.gateway.functionsApiUrl!, { accessKeyId: 'AKIDUNKNOWN', secretAccessKey: KEY.secretAccessKey });
    const r = await rejection(invoke(c, { FunctionName: 'echo', Payload: {} }));
    assert.deepEqual([r.name, r.status], ['UnrecognizedClientException', 403]);
    c.destroy();
  });

  it('refuses an unsigned request with MissingAuthenticationTokenException (403), even from loopback', async () => {
    const raw = await rawPost(signed.gateway.functionsApiUrl!, '/2015-03-31/functions/echo/invocations', '{}');
    assert.equal(raw.status, 403);
    assert.equal(raw.headers.get('x-amzn-errortype'), 'MissingAuthenticationTokenException');
    assert.deepEqual(JSON.parse(raw.body), { message: 'Missing Authentication Token' });
  });

  it('refuses a signed request whose body was changed after signing', async () => {
    const c = client(signed.gateway.functionsApiUrl!);
    c.middlewareStack.add((next) => async (args) => {
      const req = args.request as { body?: unknown };
      req.body = Buffer.from('{"tampered":true}');
      return next(args);
    }, { step: 'finalizeRequest', priority: 'low', name: 'tamper' });
    const r = await rejection(invoke(c, { FunctionName: 'echo', Payload: { original: true } }));
    assert.deepEqual([r.name, r.status], ['InvalidSignatureException', 403]);
    c.destroy();
  });

  it('without credentials, refuses peers outside allowUnsignedFrom', async () => {
    const raw = await rawPost(fenced.gateway.functionsApiUrl!, '/2015-03-31/functions/echo/invocations', '{}');
    assert.equal(raw.status, 403);
    assert.equal(raw.headers.get('x-amzn-errortype'), 'AccessDeniedException');
  });

  it('is not served unless enabled', async () => {
    const gw = await startGateway({ functions: functions(dir) });
    assert.equal(gw.gateway.functionsApiUrl, undefined);
    await gw.close();
  });
});
