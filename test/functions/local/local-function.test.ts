// The sandbox pool: cold then warm, concurrency and the queue, timeouts, crashes that cost one invocation only,
// idle reclaim, init errors, stats and close. Real child processes running examples/functions/.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { InvokeError } from '../../../src/functions/types.ts';
import { waitFor } from '../../helpers/process.ts';
import { closeAll, invoke, json, localFunction, recordingLogger } from './fixtures.ts';

after(closeAll);

function failure(err: unknown): string | undefined {
  return err instanceof InvokeError ? err.failure : undefined;
}

describe('LocalFunction pool', () => {
  it('starts a sandbox on the first invocation and reuses it, warm, for the next', async () => {
    const fn = localFunction('echo', { handler: 'echo.handler' });
    const cold = await invoke(fn, { n: 1 });
    const warm = await invoke(fn, { n: 2 });
    assert.equal(cold.status, 'ok');
    assert.ok(cold.initDurationMs !== undefined && cold.initDurationMs > 0, 'the cold start reports its init duration');
    assert.equal(warm.initDurationMs, undefined);
    assert.equal(json(warm).pid, json(cold).pid, 'same sandbox process');
    assert.deepEqual(json(warm).event, { n: 2 });
    const stats = fn.stats();
    assert.equal(stats.kind, 'local');
    assert.equal(stats.invocations, 2);
    assert.equal(stats.coldStarts, 1);
    assert.equal(stats.errors, 0);
    assert.ok(stats.initDurationMsTotal > 0 && stats.durationMsTotal > 0);
    assert.deepEqual(stats.sandboxes, { warm: 1, busy: 0, starting: 0 });
  });

  it('runs one invocation per sandbox, up to reservedConcurrency, then queues FIFO and throttles past the queue', async () => {
    const fn = localFunction('sleepy', { handler: 'sleep.handler', reservedConcurrency: 2, queue: { maxSize: 1, timeout: '10s' } });
    const running = [invoke(fn, { ms: 400 }), invoke(fn, { ms: 400 })];
    const queued = invoke(fn, { ms: 10 });
    await assert.rejects(invoke(fn, { ms: 10 }), (err) => failure(err) === 'throttled');
    assert.equal(fn.stats().queued, 1);
    assert.equal(fn.stats().throttles, 1);
    await waitFor(() => fn.stats().sandboxes.busy === 2, 5000, 'two busy sandboxes');
    const results = await Promise.all([...running, queued]);
    assert.deepEqual(results.map((r) => r.status), ['ok', 'ok', 'ok']);
    const stats = fn.stats();
    assert.equal(stats.coldStarts, 2, 'the queued invocation reused a sandbox');
    assert.equal(stats.sandboxes.warm, 2);
    assert.equal(stats.queued, 0);
  });

  it('gives up on a queued invocation after queue.timeout (throttled)', async () => {
    const fn = localFunction('sleepy-queue', { handler: 'sleep.handler', reservedConcurrency: 1, queue: { maxSize: 5, timeout: '150ms' } });
    const running = invoke(fn, { ms: 500 });
    const started = Date.now();
    await assert.rejects(invoke(fn, { ms: 10 }), (err) => failure(err) === 'throttled');
    assert.ok(Date.now() - started >= 140);
    assert.equal((await running).status, 'ok');
  });

  it('aborts a queued invocation when the caller\'s signal fires', async () => {
    const fn = localFunction('sleepy-abort', { handler: 'sleep.handler', reservedConcurrency: 1 });
    const running = invoke(fn, { ms: 300 });
    const ac = new AbortController();
    const queued = invoke(fn, { ms: 10 }, { signal: ac.signal });
    ac.abort();
    await assert.rejects(queued, (err) => failure(err) === 'aborted');
    assert.equal(fn.stats().queued, 0);
    assert.equal((await running).status, 'ok');
  });

  it('answers an aborted running invocation at once and returns its sandbox to the pool when the handler ends', async () => {
    const fn = localFunction('sleepy-abort-running', { handler: 'sleep.handler', reservedConcurrency: 1 });
    const ac = new AbortController();
    const running = invoke(fn, { ms: 300 }, { signal: ac.signal });
    await waitFor(() => fn.stats().sandboxes.busy === 1, 5000, 'a busy sandbox');
    ac.abort();
    await assert.rejects(running, (err) => failure(err) === 'aborted');
    assert.equal(fn.stats().sandboxes.busy, 1, 'the sandbox is not killed for it');
    await waitFor(() => fn.stats().sandboxes.busy === 0, 5000, 'the handler to end');
    assert.equal((await invoke(fn, { ms: 1 })).initDurationMs, undefined, 'the same sandbox, warm');
  });

  it('kills a sandbox past the timeout (InvokeError timeout) and serves the next invocation from a new one', async () => {
    const fn = localFunction('slow', { handler: 'sleep.handler', timeout: '300ms' });
    const first = await invoke(fn, { ms: 10 });
    await assert.rejects(invoke(fn, { ms: 5000 }), (err) => failure(err) === 'timeout' && /timed out after 0.30 seconds/.test((err as Error).message));
    const next = await invoke(fn, { ms: 10 });
    assert.equal(next.status, 'ok');
    assert.ok(next.initDurationMs !== undefined, 'a fresh sandbox');
    const stats = fn.stats();
    assert.equal(stats.timeouts, 1);
    assert.equal(stats.errors, 1);
    assert.equal(stats.coldStarts, 2);
    assert.equal(first.status, 'ok');
  });

  it('confines a crash, process.exit, out-of-memory and an infinite loop to their invocation while another function keeps serving', async () => {
    const healthy = localFunction('healthy', { handler: 'echo.handler' });
    const crashes = localFunction('crashes', { handler: 'crash.handler' });
    const exits = localFunction('exits', { handler: 'exit.handler' });
    const oom = localFunction('oom', { handler: 'oom.handler', memorySize: 64 });
    const loops = localFunction('loops', { handler: 'loop.handler', timeout: '500ms' });
    const [crashResult, exitResult, oomResult, loopResult, ...healthyResults] = await Promise.allSettled([
      invoke(crashes), invoke(exits), invoke(oom), invoke(loops), invoke(healthy), invoke(healthy),
    ]);
    const crashValue = (crashResult as PromiseFulfilledResult<Awaited<ReturnType<typeof invoke>>>).value;
    assert.equal(crashValue.status, 'error');
    assert.deepEqual([json(crashValue).errorType, json(crashValue).errorMessage], ['Error', 'uncaught in a timer']);
    assert.equal(exitResult.status, 'fulfilled');
    const exitValue = (exitResult as PromiseFulfilledResult<Awaited<ReturnType<typeof invoke>>>).value;
    assert.equal(exitValue.status, 'error');
    assert.equal(exitValue.functionError, 'Unhandled');
    assert.equal(json(exitValue).errorType, 'Runtime.ExitError');
    assert.match(json(exitValue).errorMessage, /Runtime exited with error: exit status 3/);
    const oomValue = (oomResult as PromiseFulfilledResult<Awaited<ReturnType<typeof invoke>>>).value;
    assert.equal(json(oomValue).errorType, 'Runtime.OutOfMemory');
    assert.equal(loopResult.status, 'rejected');
    assert.equal(failure((loopResult as PromiseRejectedResult).reason), 'timeout');
    for (const r of healthyResults) assert.equal(r.status === 'fulfilled' && r.value.status, 'ok');
    // Each broken function serves again from a fresh sandbox; the healthy one never noticed.
    assert.equal(json(await invoke(exits)).errorType, 'Runtime.ExitError');
    assert.equal(exits.stats().coldStarts, 2);
    assert.equal((await invoke(crashes)).status, 'error');
    assert.equal(crashes.stats().coldStarts, 2);
    assert.equal((await invoke(healthy)).status, 'ok');
    assert.equal(healthy.stats().errors, 0);
  });

  it('reclaims a sandbox idle for idleTimeout; the next invocation is cold', async () => {
    const fn = localFunction('idle', { handler: 'echo.handler', idleTimeout: '200ms' });
    const first = await invoke(fn);
    assert.equal(fn.stats().sandboxes.warm, 1);
    await waitFor(() => fn.stats().sandboxes.warm === 0, 5000, 'the idle sandbox reclaimed');
    const second = await invoke(fn);
    assert.ok(second.initDurationMs !== undefined);
    assert.notEqual(json(second).pid, json(first).pid);
  });

  it('fails an invocation whose sandbox reports an init error (init_failed) and logs it', async () => {
    const logger = recordingLogger();
    const fn = localFunction('broken', { handler: 'init-error.handler' }, logger);
    await assert.rejects(invoke(fn), (err) => failure(err) === 'init_failed' && /missing configuration: DATABASE_URL/.test((err as Error).message));
    const fnMissing = localFunction('missing', { handler: 'echo.nope' });
    await assert.rejects(invoke(fnMissing), (err) => failure(err) === 'init_failed' && /Runtime.HandlerNotFound/.test((err as Error).message));
    const fnNoFile = localFunction('nofile', { handler: 'nowhere.handler' });
    await assert.rejects(invoke(fnNoFile), (err) => failure(err) === 'init_failed' && /Runtime.ImportModuleError/.test((err as Error).message));
    assert.equal(fn.stats().errors, 1);
    assert.equal(fn.stats().sandboxes.warm, 0);
    assert.ok(logger.entries.some((e) => e.msg === 'function init failed' && e.fields.function === 'broken'));
  });

  it('close() kills every sandbox and rejects pending invocations with unavailable', async () => {
    const fn = localFunction('closing', { handler: 'sleep.handler', reservedConcurrency: 1 });
    const running = invoke(fn, { ms: 5000 });
    const queued = invoke(fn, { ms: 10 });
    await waitFor(() => fn.stats().sandboxes.busy === 1, 5000, 'a busy sandbox');
    const rejected = [running, queued].map((p) => assert.rejects(p, (err) => failure(err) === 'unavailable'));
    await fn.close();
    await Promise.all(rejected);
    await assert.rejects(invoke(fn), (err) => failure(err) === 'unavailable');
    assert.deepEqual(fn.stats().sandboxes, { warm: 0, busy: 0, starting: 0 });
  });
});
