// Custom runtimes (`runtime: provided`): a POSIX shell + curl bootstrap speaking the Runtime API, the RSS watchdog
// on its process tree, and AWS's own Node.js runtime interface client (aws-lambda-ric) run unchanged.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { InvokeError } from '../../../src/functions/types.ts';
import { closeAll, EXAMPLES, invoke, json, localFunction } from './fixtures.ts';

after(closeAll);

const shell = { runtime: 'provided', codeDir: 'provided' } as const;

describe('provided runtime', () => {
  it('has curl for the shell bootstrap', () => {
    assert.doesNotThrow(() => execFileSync('curl', ['--version']), 'curl must be installed for the shell custom runtime');
  });

  it('runs a shell bootstrap, warm across invocations, without the gateway\'s environment', async () => {
    process.env.SECRET_TOKEN = 'gateway-secret';
    let fn;
    try {
      fn = localFunction('shell', { ...shell, handler: 'function.handler' });
      const first = await invoke(fn, { a: [1, 2] }, { requestId: 'req-sh-1' });
      assert.equal(first.status, 'ok');
      assert.deepEqual(json(first), { echo: { a: [1, 2] }, handler: 'function.handler', requestId: 'req-sh-1', secret: '', region: 'us-east-1' });
    } finally {
      delete process.env.SECRET_TOKEN;
    }
    const second = await invoke(fn, { b: true }, { requestId: 'req-sh-2', tailLogs: true });
    assert.equal(json(second).requestId, 'req-sh-2');
    assert.equal(second.initDurationMs, undefined);
    assert.match(second.logTail!, /invocation req-sh-2\n/);
    assert.equal(fn.stats().coldStarts, 1);
  });

  it('passes an error the bootstrap posts to /error on as the invocation\'s error', async () => {
    const r = await invoke(localFunction('shell-fail', { ...shell, handler: 'function.fail' }));
    assert.equal(r.status, 'error');
    assert.deepEqual(json(r), { errorType: 'ShellError', errorMessage: 'something went wrong' });
  });

  it('kills a sandbox whose process tree passes memorySize (Runtime.OutOfMemory)', async () => {
    const fn = localFunction('shell-hog', { ...shell, handler: 'function.hog', memorySize: 64 });
    const r = await invoke(fn);
    assert.equal(r.status, 'error');
    assert.equal(json(r).errorType, 'Runtime.OutOfMemory');
    assert.match(json(r).errorMessage, /signal: killed/);
    assert.equal((await invoke(localFunction('shell-after-hog', { ...shell, handler: 'function.handler' }))).status, 'ok');
  });

  it('fails init when the bootstrap reports /init/error or there is no bootstrap to run', async () => {
    await assert.rejects(invoke(localFunction('shell-nofile', { ...shell, handler: 'nowhere.handler' })),
      (err) => err instanceof InvokeError && err.failure === 'init_failed' && /Runtime.ImportModuleError/.test(err.message));
    await assert.rejects(invoke(localFunction('no-bootstrap', { runtime: 'provided', codeDir: '.', handler: 'x.y' })),
      (err) => err instanceof InvokeError && err.failure === 'init_failed');
  });

  // aws-lambda-ric (a devDependency) compiles native code at install (cmake, make, g++). CI installs the tools and
  // must run this test; a checkout installed without it (npm ci --ignore-scripts, say) says why it skips.
  const ricMissing = existsSync(join(EXAMPLES, '../../node_modules/aws-lambda-ric/index.mjs'))
    ? undefined
    : 'aws-lambda-ric is not installed (its native build needs cmake, make and g++; then npm ci)';
  if (ricMissing !== undefined && process.env.CI === 'true') throw new Error(ricMissing);
  it('runs AWS\'s runtime interface client (aws-lambda-ric, a devDependency) as a bootstrap', { skip: ricMissing }, async () => {
    const environment = { NODE: process.execPath };
    const fn = localFunction('ric', { runtime: 'provided', codeDir: 'ric', handler: 'app.handler', environment });
    const ok = await invoke(fn, { hello: 'ric' }, { requestId: 'req-ric' });
    assert.equal(ok.status, 'ok', ok.payload.toString());
    assert.deepEqual(json(ok), { via: 'aws-lambda-ric', event: { hello: 'ric' }, requestId: 'req-ric' });
    const failed = await invoke(localFunction('ric-fails', { runtime: 'provided', codeDir: 'ric', handler: 'app.fails', environment }));
    assert.equal(failed.status, 'error');
    assert.equal(json(failed).errorType, 'RangeError');
    assert.equal(json(failed).errorMessage, 'out of range');
  });
});
