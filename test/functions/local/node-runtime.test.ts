// The built-in Node.js runtime: handler styles and module kinds, `context`, errors, logs and the log tail, the
// sandbox environment, and AWS's response size limit.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { closeAll, EXAMPLES, invoke, json, localFunction, recordingLogger } from './fixtures.ts';

after(closeAll);

describe('built-in Node.js runtime', () => {
  it('runs async ESM, CommonJS callback and TypeScript handlers', async () => {
    const esm = await invoke(localFunction('esm', { handler: 'echo.handler' }), { x: 1 });
    assert.deepEqual(json(esm).event, { x: 1 });
    const cjs = await invoke(localFunction('cjs', { handler: 'callback.handler' }));
    assert.equal(json(cjs).style, 'callback');
    assert.equal(json(cjs).module, 'object', 'loaded as CommonJS');
    const ts = await invoke(localFunction('ts', { handler: 'typescript.handler' }), { name: 'Ada' });
    assert.deepEqual(json(ts), { message: 'hello Ada', typed: true });
  });

  it('holds a callback result until the event loop is empty, unless callbackWaitsForEmptyEventLoop is false', async () => {
    const waits = await invoke(localFunction('waits', { handler: 'callback.handler' }), { delayMs: 300 });
    assert.ok(waits.durationMs >= 290, `waited for the timer (${waits.durationMs} ms)`);
    const noWait = await invoke(localFunction('no-wait', { handler: 'callback.noWait' }), { delayMs: 300 });
    assert.deepEqual(json(noWait), { waited: false });
    assert.ok(noWait.durationMs < 250, `answered before the timer (${noWait.durationMs} ms)`);
    const legacy = await invoke(localFunction('legacy', { handler: 'callback.legacy' }));
    assert.deepEqual(json(legacy), { legacy: true });
  });

  it('reports a thrown error or a callback error with its name as errorType', async () => {
    const thrown = await invoke(localFunction('throws', { handler: 'throws.handler' }));
    assert.equal(thrown.status, 'error');
    assert.equal(thrown.functionError, 'Unhandled');
    const body = json(thrown);
    assert.equal(body.errorType, 'ValidationError');
    assert.equal(body.errorMessage, 'quantity must be positive');
    assert.ok(Array.isArray(body.stackTrace) && body.stackTrace.some((l: string) => l.includes('throws.mjs')));
    const called = await invoke(localFunction('cb-fails', { handler: 'callback.fails' }));
    assert.deepEqual({ ...json(called), stackTrace: undefined }, { errorType: 'TypeError', errorMessage: 'bad input', stackTrace: undefined });
  });

  describe('context and environment', () => {
    const secret = `s3cr3t-${randomUUID()}`;
    let echo: any;
    before(async () => {
      process.env.SECRET_TOKEN = secret;
      try {
        const fn = localFunction('ctx', { handler: 'echo.handler', memorySize: 256, timeout: '7s', environment: { GREETING: 'hi', AWS_REGION: 'eu-west-3' } });
        echo = json(await invoke(fn, {}, {
          requestId: 'req-1234',
          traceId: 'Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1',
          clientContext: Buffer.from(JSON.stringify({ custom: { k: 'v' } })).toString('base64'),
          cognitoIdentity: JSON.stringify({ cognitoIdentityId: 'id-1' }),
        }));
      } finally {
        delete process.env.SECRET_TOKEN;
      }
    });

    it('fills context as Lambda does', () => {
      const c = echo.context;
      assert.equal(c.awsRequestId, 'req-1234');
      assert.equal(c.functionName, 'ctx');
      assert.equal(c.functionVersion, '$LATEST');
      assert.equal(c.invokedFunctionArn, 'arn:aws:lambda:eu-west-3:000000000000:function:ctx');
      assert.equal(c.memoryLimitInMB, '256');
      assert.equal(c.logGroupName, '/aws/lambda/ctx');
      assert.match(c.logStreamName, /^\d{4}\/\d{2}\/\d{2}\/\[\$LATEST\][0-9a-f]{32}$/);
      assert.equal(c.callbackWaitsForEmptyEventLoop, true);
      assert.ok(c.remainingMs > 6000 && c.remainingMs <= 7000, `remaining ${c.remainingMs}`);
      assert.deepEqual(c.clientContext, { custom: { k: 'v' } });
      assert.deepEqual(c.identity, { cognitoIdentityId: 'id-1' });
      assert.equal(echo.cwd, EXAMPLES.replace(/\/$/, ''));
    });

    it('sets the AWS_LAMBDA_* variables and the function\'s environment, and nothing of the gateway\'s', () => {
      const env = echo.env;
      assert.equal(env.SECRET_TOKEN, undefined, 'the gateway\'s secret stays out');
      assert.equal(env.NODE_COMPILE_CACHE, undefined);
      assert.equal(env.GREETING, 'hi');
      assert.equal(env.AWS_REGION, 'eu-west-3');
      assert.equal(env.AWS_DEFAULT_REGION, 'eu-west-3');
      assert.equal(env.AWS_LAMBDA_FUNCTION_NAME, 'ctx');
      assert.equal(env.AWS_LAMBDA_FUNCTION_VERSION, '$LATEST');
      assert.equal(env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE, '256');
      assert.equal(env._HANDLER, 'echo.handler');
      assert.equal(env.LAMBDA_TASK_ROOT, EXAMPLES.replace(/\/$/, ''));
      assert.match(env.AWS_LAMBDA_RUNTIME_API, /^127\.0\.0\.1:\d+$/);
      assert.equal(env.TZ, ':UTC');
      assert.equal(env._X_AMZN_TRACE_ID, 'Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1');
      assert.ok(env.PATH);
      const allowed = /^(AWS_|LAMBDA_|_HANDLER$|_X_AMZN_TRACE_ID$|TZ$|LANG$|PATH$|TMPDIR$|GREETING$)/;
      const others = Object.keys(env).filter((k) => !allowed.test(k));
      assert.deepEqual(others, [], 'only the minimal set');
    });
  });

  it('counts down getRemainingTimeInMillis()', async () => {
    const r = json(await invoke(localFunction('remaining', { handler: 'echo.remaining', timeout: '2s' })));
    assert.ok(r.first <= 2000 && r.first > 1500, `first ${r.first}`);
    assert.ok(r.first - r.second >= 90, `decreased by ${r.first - r.second}`);
  });

  it('logs each output line with the function name, request id and stream, and returns the tail on request', async () => {
    const logger = recordingLogger();
    const fn = localFunction('chatty', { handler: 'echo.chatty' }, logger);
    const r = await invoke(fn, { lines: 2 }, { requestId: 'req-logs', tailLogs: true });
    const lines = logger.entries.filter((e) => e.msg === 'function log' && e.fields.requestId === 'req-logs');
    // stdout and stderr are separate pipes: their relative order is not kept, the order within each is.
    assert.deepEqual(lines.map((e) => `${e.fields.function} ${e.fields.stream} ${e.fields.line}`).sort(), [
      'chatty stderr to stderr', 'chatty stdout line 0 ', 'chatty stdout line 1 ',
    ]);
    assert.match(r.logTail!, /^START RequestId: req-logs Version: \$LATEST\n/);
    assert.match(r.logTail!, /line 0 \nline 1 \n/);
    assert.match(r.logTail!, /to stderr\n/);
    assert.match(r.logTail!, /END RequestId: req-logs\nREPORT RequestId: req-logs\tDuration: [\d.]+ ms\tBilled Duration: \d+ ms\tMemory Size: 128 MB\tMax Memory Used: \d+ MB\tInit Duration: [\d.]+ ms\n$/);
    const plain = await invoke(fn, { lines: 1 });
    assert.equal(plain.logTail, undefined, 'no tail unless asked');
  });

  it('keeps only the last 4 KB of a long log in the tail', async () => {
    const fn = localFunction('long-log', { handler: 'echo.chatty' });
    const r = await invoke(fn, { lines: 100, width: 100 }, { tailLogs: true });
    assert.ok(Buffer.byteLength(r.logTail!) <= 4096);
    assert.ok(Buffer.byteLength(r.logTail!) > 3500);
    assert.match(r.logTail!, /line 99 x+\n/);
    assert.doesNotMatch(r.logTail!, /line 0 /);
  });

  it('fails a response over 6 MB with Function.ResponseSizeTooLarge, and the sandbox keeps serving', async () => {
    const fn = localFunction('big', { handler: 'echo.big' });
    const tooBig = await invoke(fn, { bytes: 6_300_000 });
    assert.equal(tooBig.status, 'error');
    assert.equal(json(tooBig).errorType, 'Function.ResponseSizeTooLarge');
    const fits = await invoke(fn, { bytes: 6_000_000 });
    assert.equal(fits.status, 'ok');
    assert.equal(fits.payload.length, 6_000_002);
    assert.equal(fn.stats().coldStarts, 1);
  });
});
