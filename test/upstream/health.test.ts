import { createHook } from 'node:async_hooks';
import { describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';
import { Value } from '@sinclair/typebox/value';
import { ActiveHealthConfig, PassiveHealthConfig } from '../../src/config/schema/upstream.ts';
import type { Logger } from '../../src/core/logger.ts';
import { ActiveHealthChecker, type ActiveHealthConfigT } from '../../src/upstream/health/active.ts';
import type { HealthChangeListener } from '../../src/upstream/health/change.ts';
import { OutlierDetector, type PassiveHealthConfigT } from '../../src/upstream/health/passive.ts';
import { Target } from '../../src/upstream/target.ts';
import { closedPort, within } from './support.ts';

// Generous: the suite must pass on a loaded CI machine; a working checker answers within a few intervals.
const WAIT = 10_000;

interface Change { target: Target; healthy: boolean; reason: string; at: number }

/** An onChange listener that queues the changes; `next()` resolves with the next one (failing after WAIT ms). */
function changes() {
  const seen: Change[] = [];
  let read = 0;
  let wake: (() => void) | undefined;
  return {
    seen,
    listener: (target: Target, healthy: boolean, reason: string) => {
      seen.push({ target, healthy, reason, at: performance.now() });
      wake?.();
    },
    next(what = 'health change'): Promise<Change> {
      return within((async () => {
        while (read >= seen.length) await new Promise<void>((resolve) => (wake = resolve));
        return seen[read++]!;
      })(), WAIT, what);
    },
  };
}

interface Line { level: 'info' | 'warn' | 'error'; msg: string; fields: Record<string, unknown> | undefined }

function capturingLogger(): Logger & { lines: Line[] } {
  const lines: Line[] = [];
  return {
    lines,
    info: (msg, fields) => void lines.push({ level: 'info', msg, fields }),
    warn: (msg, fields) => void lines.push({ level: 'warn', msg, fields }),
    error: (msg, fields) => void lines.push({ level: 'error', msg, fields }),
  };
}

type Mode = { status: number } | 'hang';

/**
 * A target whose /health answers as `mode(n)` says for the n-th probe (1-based), counting probes. Hung requests
 * are held until the server closes.
 */
async function healthTarget(t: TestContext, mode: (n: number) => Mode) {
  const sockets = new Set<Socket>();
  const hits: Array<{ n: number; at: number; closed: Promise<void> }> = [];
  let onHit: (() => void) | undefined;
  const server = http.createServer((req, res) => {
    const n = hits.length + 1;
    hits.push({ n, at: performance.now(), closed: new Promise((resolve) => req.socket.once('close', () => resolve())) });
    onHit?.();
    const m = mode(n);
    if (m === 'hang') return;
    res.writeHead(m.status, { 'content-type': 'text/plain' }).end(`probe ${n}`);
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const target = new Target(`http://127.0.0.1:${port}`, 1, new Pool(`http://127.0.0.1:${port}`));
  const close = () => new Promise<void>((resolve) => {
    for (const s of sockets) s.destroy();
    server.close(() => resolve());
  });
  t.after(async () => {
    await close();
    await target.pool.destroy();
  });
  return {
    target,
    hits,
    sockets,
    close,
    /** Resolves once the server has received `count` probes in all. */
    hit(count: number): Promise<void> {
      return within((async () => {
        while (hits.length < count) await new Promise<void>((resolve) => (onHit = resolve));
      })(), WAIT, `probe ${count}`);
    },
  };
}

/**
 * Counts the timers created by the health modules that are neither cleared nor fired. (Their timers are unref'ed,
 * so a leak would not keep the process up: `process.getActiveResourcesInfo()` would not show it either.)
 */
function healthTimers(t: TestContext): { live(): number } {
  const live = new Set<number>();
  const hook = createHook({
    init(id, type) {
      if (type !== 'Timeout') return;
      const limit = Error.stackTraceLimit;
      Error.stackTraceLimit = 30;
      const frames = (new Error().stack ?? '').split('\n');
      Error.stackTraceLimit = limit;
      // Only timers the health modules set themselves, not undici's shared timer started on their behalf.
      const caller = frames[frames.findIndex((f) => f.includes('at setTimeout (node:timers')) + 1] ?? '';
      if (caller.includes('/src/upstream/health/')) live.add(id);
    },
    destroy(id) {
      live.delete(id);
    },
  }).enable();
  t.after(() => void hook.disable());
  return { live: () => live.size };
}

function activeConfig(overrides: Partial<ActiveHealthConfigT> = {}): ActiveHealthConfigT {
  return { ...Value.Default(ActiveHealthConfig, {}) as ActiveHealthConfigT, interval: '50ms', timeout: '500ms', ...overrides };
}

function passiveConfig(overrides: Partial<PassiveHealthConfigT> = {}): PassiveHealthConfigT {
  return { ...Value.Default(PassiveHealthConfig, {}) as PassiveHealthConfigT, ...overrides };
}

function checker(t: TestContext, config: ActiveHealthConfigT, onChange: HealthChangeListener, logger: Logger = capturingLogger()) {
  const c = new ActiveHealthChecker('api', config, logger, onChange);
  t.after(() => c.stop());
  return c;
}

describe('active health checks', () => {
  it('takes a target out after exactly unhealthyThreshold failed probes and back after healthyThreshold passes', async (t) => {
    let failing = false;
    let firstFailure = 0;
    let firstRecovery = 0;
    const up = await healthTarget(t, (n) => {
      if (n === 3) failing = true;
      if (failing && firstFailure === 0) firstFailure = n;
      if (!failing && firstFailure !== 0 && firstRecovery === 0) firstRecovery = n;
      return { status: failing ? 500 : 200 };
    });
    const log = capturingLogger();
    const events = changes();
    checker(t, activeConfig({ unhealthyThreshold: 3, healthyThreshold: 2 }), events.listener, log).start([up.target]);

    const down = await events.next('unhealthy');
    assert.equal(down.healthy, false);
    assert.equal(down.reason, 'status 500');
    assert.equal(up.target.healthy, false);
    // The change is reported when the third failure is recorded, before another probe could start.
    assert.equal(up.hits.length - firstFailure + 1, 3);

    failing = false;
    const back = await events.next('healthy again');
    assert.equal(back.healthy, true);
    assert.equal(back.reason, 'status 200');
    assert.equal(up.target.healthy, true);
    assert.equal(up.hits.length - firstRecovery + 1, 2);
    assert.equal(events.seen.length, 2, 'each change reported once');

    // Each change logged once, with the upstream, the target and the reason.
    assert.deepEqual(log.lines.map((l) => [l.level, l.msg, l.fields?.upstream, l.fields?.target, l.fields?.reason]), [
      ['warn', 'upstream target unhealthy', 'api', up.target.id, 'status 500'],
      ['info', 'upstream target healthy', 'api', up.target.id, 'status 200'],
    ]);
  });

  it('probes with the configured method, path and headers, once per interval', async (t) => {
    const seen: Array<{ method: string; url: string; host: string | undefined; probe: unknown; connection: string | undefined }> = [];
    let third: () => void;
    const thirdProbe = new Promise<void>((resolve) => (third = resolve));
    const server = http.createServer((req, res) => {
      seen.push({ method: req.method!, url: req.url!, host: req.headers.host, probe: req.headers['x-probe'], connection: req.headers.connection });
      if (seen.length === 3) third();
      res.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    t.after(() => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }));
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const target = new Target(origin, 1, new Pool(origin));
    t.after(() => target.pool.destroy());
    const c = checker(t, activeConfig({ method: 'HEAD', path: '/ready?deep=1', interval: '100ms', headers: { host: 'svc.internal', 'x-probe': 'yes' } }), () => {});
    const start = performance.now();
    c.start([target]);
    await within(thirdProbe, WAIT, 'three probes');
    const elapsed = performance.now() - start;
    c.stop();
    assert.deepEqual(seen[0], { method: 'HEAD', url: '/ready?deep=1', host: 'svc.internal', probe: 'yes', connection: 'close' });
    // First probe right away (start jitter ≤ interval / 10), then one per interval: never more often. The upper bound
    // only catches a gross error (a loaded machine delays timers).
    assert.ok(elapsed >= 195 && elapsed < 2000, `three probes took ${elapsed} ms`);
  });

  it('counts a probe without an answer as a failure when the timeout fires', async (t) => {
    const up = await healthTarget(t, () => 'hang');
    const events = changes();
    const started = performance.now();
    checker(t, activeConfig({ timeout: '150ms', unhealthyThreshold: 1 }), events.listener).start([up.target]);
    const down = await events.next('unhealthy');
    assert.equal(down.reason, 'timeout');
    // Native timer: never early (the probe started after `started`), late only by scheduling delay.
    assert.ok(down.at - started >= 149, `timed out ${down.at - started} ms after start`);
    const waited = down.at - up.hits[0]!.at;
    assert.ok(waited < 1500, `timed out ${waited} ms after the probe arrived`);
    // The hung probe's connection is closed, not left behind.
    await within(up.hits[0]!.closed, WAIT, 'hung probe connection closed');
  });

  it('counts a refused connection as a failure, including a target whose listener closes', async (t) => {
    const port = await closedPort();
    const dead = new Target(`http://127.0.0.1:${port}`, 1, new Pool(`http://127.0.0.1:${port}`));
    t.after(() => dead.pool.destroy());
    const up = await healthTarget(t, () => ({ status: 200 }));
    const events = changes();
    checker(t, activeConfig({ unhealthyThreshold: 2 }), events.listener).start([dead, up.target]);

    const first = await events.next('closed port unhealthy');
    assert.equal(first.target, dead);
    assert.equal(first.reason, 'ECONNREFUSED');

    await up.hit(2);
    assert.equal(up.target.healthy, true);
    await up.close();
    const second = await events.next('closed listener unhealthy');
    assert.equal(second.target, up.target);
    assert.equal(second.healthy, false);
    assert.equal(second.reason, 'ECONNREFUSED');
  });

  it('accepts only the configured statuses when statuses is set, any 2xx/3xx otherwise', async (t) => {
    let status = 302;
    const up = await healthTarget(t, () => ({ status }));
    const events = changes();
    checker(t, activeConfig({ statuses: [200, 204], unhealthyThreshold: 1, healthyThreshold: 1 }), events.listener).start([up.target]);
    const down = await events.next('302 refused');
    assert.deepEqual([down.healthy, down.reason], [false, 'status 302']);
    status = 204;
    const back = await events.next('204 accepted');
    assert.deepEqual([back.healthy, back.reason], [true, 'status 204']);

    const defaults = await healthTarget(t, (n) => ({ status: n <= 2 ? 399 : 400 }));
    const events2 = changes();
    checker(t, activeConfig({ unhealthyThreshold: 1 }), events2.listener).start([defaults.target]);
    const down2 = await events2.next('400 refused by default');
    assert.equal(down2.reason, 'status 400');
    assert.equal(defaults.hits.length, 3, '399 passed twice, 400 failed at once');
  });

  it('probes no more after stop while a probe is in flight, and leaves no timer or connection behind', async (t) => {
    const tracked = healthTimers(t);
    const up = await healthTarget(t, (n) => (n === 3 ? 'hang' : { status: 500 }));
    const events = changes();
    // Two failures recorded, the third probe hangs: a result recorded after stop would take the target out.
    const c = checker(t, activeConfig({ unhealthyThreshold: 3, timeout: '5s' }), events.listener);
    c.start([up.target]);
    await up.hit(3);
    c.stop();
    await within(up.hits[2]!.closed, WAIT, 'in-flight probe aborted');
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(tracked.live(), 0, 'every timer of the checker cleared');
    // Absence can only be observed by waiting: five intervals without a probe.
    await sleep(250);
    assert.equal(up.hits.length, 3);
    assert.equal(up.sockets.size, 0);
    assert.equal(events.seen.length, 0);
    assert.equal(up.target.healthy, true);
  });

  it('probes no more after stop between two probes, and leaves no timer behind', async (t) => {
    const tracked = healthTimers(t);
    const up = await healthTarget(t, () => ({ status: 500 }));
    let stopped: () => void;
    const stoppedNow = new Promise<void>((resolve) => (stopped = resolve));
    // The change is reported as the probe's result is recorded; right after it, the next probe's timer is pending.
    const c: ActiveHealthChecker = checker(t, activeConfig({ unhealthyThreshold: 1 }), () => queueMicrotask(() => {
      c.stop();
      stopped();
    }));
    c.start([up.target]);
    await within(stoppedNow, WAIT, 'first probe');
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(tracked.live(), 0, 'every timer of the checker cleared');
    await sleep(250);
    assert.equal(up.hits.length, 1);
  });

  it('keeps the state of targets that stay on update, probes new ones and stops probing removed ones', async (t) => {
    const other = await healthTarget(t, () => ({ status: 200 }));
    const leaving = await healthTarget(t, () => ({ status: 200 }));
    let c: ActiveHealthChecker | undefined;
    let leftAt = 0;
    // The membership changes while the second failing probe of `up` is in flight: with its state kept, that probe
    // counts and the third failure takes `up` out; with its state lost it would take three more.
    const up = await healthTarget(t, (n) => {
      if (n === 2) {
        c!.update([up.target, other.target]);
        leftAt = leaving.hits.length;
      }
      return { status: 500 };
    });
    const events = changes();
    c = checker(t, activeConfig({ unhealthyThreshold: 3 }), events.listener);
    c.start([up.target, leaving.target]);
    const down = await events.next('unhealthy');
    assert.equal(down.target, up.target);
    assert.equal(up.hits.length, 3);
    await other.hit(2);
    // A probe already on its way when the target left may still arrive; none starts after.
    assert.ok(leaving.hits.length <= leftAt + 1, 'removed target no longer probed');
    const afterRemoval = leaving.hits.length;
    await sleep(150);
    assert.equal(leaving.hits.length, afterRemoval);
  });
});

describe('passive outlier detection', () => {
  function targets(t: TestContext, n: number): Target[] {
    const list = Array.from({ length: n }, (_, i) => new Target(`http://127.0.0.1:${10001 + i}`, 1, new Pool(`http://127.0.0.1:${10001 + i}`)));
    t.after(() => Promise.all(list.map((x) => x.pool.destroy())));
    return list;
  }

  function detector(t: TestContext, config: PassiveHealthConfigT, onChange: HealthChangeListener = () => {}, logger: Logger = capturingLogger()) {
    const d = new OutlierDetector('api', config, logger, onChange);
    t.after(() => d.stop());
    return d;
  }

  it('ejects after N consecutive failures, not after N-1 with a success in between', (t) => {
    const [a, b] = targets(t, 2);
    const d = detector(t, passiveConfig({ consecutiveFailures: 3, baseEjectionTime: '1s' }));
    d.setTargets([a!, b!]);
    const now = Date.now();
    d.failure(a!, now);
    d.failure(a!, now);
    d.success(a!, now);
    d.failure(a!, now);
    d.failure(a!, now);
    assert.equal(a!.ejectedUntil, 0);
    assert.equal(a!.consecutiveFailures, 2);
    assert.equal(a!.available(now), true);
    d.failure(a!, now);
    assert.equal(a!.ejectedUntil, now + 1000);
    assert.equal(a!.ejections, 1);
    assert.equal(a!.consecutiveFailures, 0);
    assert.equal(a!.available(now), false);
    // Failures of requests still in flight when it was ejected don't start the next streak.
    d.failure(a!, now + 10);
    assert.equal(a!.consecutiveFailures, 0);
  });

  it('classifies the configured statuses as failures', (t) => {
    const d = detector(t, passiveConfig({ statuses: [502, 503] }));
    assert.deepEqual([500, 502, 503, 504, 200].map((s) => d.isFailureStatus(s)), [false, true, true, false, false]);
  });

  it('brings an ejected target back on time, and grows the ejection on repeats up to maxEjectionTime', async (t) => {
    const [a, b] = targets(t, 2);
    const events = changes();
    const log = capturingLogger();
    const d = detector(t, passiveConfig({ consecutiveFailures: 2, baseEjectionTime: '100ms', maxEjectionTime: '250ms' }), events.listener, log);
    d.setTargets([a!, b!]);
    // The count decays one step per maxEjectionTime back in the pool; here each repeat comes at once.
    const expected = [100, 200, 250, 250];
    for (const [i, ms] of expected.entries()) {
      const now = Date.now();
      const start = performance.now();
      d.failure(a!, now);
      d.failure(a!, now);
      assert.equal(a!.ejectedUntil - now, ms, `ejection ${i + 1} lasts ${a!.ejectedUntil - now} ms`);
      const out = await events.next(`ejection ${i + 1}`);
      assert.deepEqual([out.target, out.healthy, out.reason], [a, false, '2 consecutive failures']);
      const back = await events.next(`return ${i + 1}`);
      const waited = performance.now() - start;
      assert.deepEqual([back.target, back.healthy, back.reason], [a, true, 'ejection expired']);
      assert.ok(waited >= ms - 2 && waited < ms + 1000, `ejection ${i + 1} lasted ${waited} ms, expected ${ms}`);
      assert.equal(a!.available(Date.now()), true);
    }
    assert.equal(a!.ejections, 4);
    const ejected = log.lines.filter((l) => l.msg === 'upstream target ejected');
    const returned = log.lines.filter((l) => l.msg === 'upstream target returned');
    assert.deepEqual(ejected.map((l) => [l.level, l.fields?.upstream, l.fields?.target, l.fields?.ejectionMs]), expected.map((ms) => ['warn', 'api', a!.id, ms]));
    assert.deepEqual(returned.map((l) => [l.level, l.fields?.target]), expected.map(() => ['info', a!.id]));
  });

  it('lets the ejection count decay by one per maxEjectionTime spent back in the pool', async (t) => {
    const [a, b] = targets(t, 2);
    const events = changes();
    const d = detector(t, passiveConfig({ consecutiveFailures: 1, baseEjectionTime: '20ms', maxEjectionTime: '100ms' }), events.listener);
    d.setTargets([a!, b!]);
    d.failure(a!);
    await events.next('ejected');
    await events.next('returned');
    d.failure(a!);
    await events.next('ejected again');
    const back = await events.next('returned again');
    assert.equal(a!.ejections, 2);
    const returnedAt = Date.now() - (performance.now() - back.at);
    d.success(a!, returnedAt + 90);
    assert.equal(a!.ejections, 2, 'not yet one maxEjectionTime back');
    d.success(a!, returnedAt + 150);
    assert.equal(a!.ejections, 1);
    d.failure(a!, returnedAt + 160);
    assert.equal(a!.ejectedUntil - (returnedAt + 160), 40, 'second ejection length again');
  });

  it('never ejects more than maxEjectedPercent of the pool, and logs a refusal once per streak', async (t) => {
    const [a, b, c, e] = targets(t, 4);
    const events = changes();
    const log = capturingLogger();
    const d = detector(t, passiveConfig({ consecutiveFailures: 2, baseEjectionTime: '80ms', maxEjectedPercent: 50 }), events.listener, log);
    d.setTargets([a!, b!, c!, e!]);
    const now = Date.now();
    for (const x of [a!, b!, c!]) for (let i = 0; i < 4; i++) d.failure(x, now);
    assert.ok(a!.ejectedUntil > now && b!.ejectedUntil > now, 'two of four ejected');
    assert.equal(c!.ejectedUntil, 0, 'a third would exceed 50%');
    assert.equal(c!.consecutiveFailures, 4);
    assert.equal(log.lines.filter((l) => l.msg.includes('not ejected')).length, 1);

    await events.next('a ejected');
    await events.next('b ejected');
    await events.next('a or b returned');
    d.failure(c!);
    assert.ok(c!.ejectedUntil > Date.now(), 'ejected once there is room');
  });

  it('cannot eject the only target at 50%, can at 100%', (t) => {
    const [a] = targets(t, 1);
    const half = detector(t, passiveConfig({ consecutiveFailures: 1, maxEjectedPercent: 50 }));
    half.setTargets([a!]);
    half.failure(a!);
    assert.equal(a!.ejectedUntil, 0);
    half.stop();
    const all = detector(t, passiveConfig({ consecutiveFailures: 1, maxEjectedPercent: 100 }));
    all.setTargets([a!]);
    a!.consecutiveFailures = 0;
    all.failure(a!);
    assert.ok(a!.ejectedUntil > Date.now());
  });

  it('ignores targets it was not given and forgets removed ones', async (t) => {
    const [a, b, c] = targets(t, 3);
    const events = changes();
    const d = detector(t, passiveConfig({ consecutiveFailures: 1, baseEjectionTime: '30ms', maxEjectedPercent: 100 }), events.listener);
    d.setTargets([a!, b!]);
    d.failure(c!);
    assert.equal(c!.consecutiveFailures, 0);
    d.failure(a!);
    await events.next('ejected');
    d.setTargets([b!]);
    // No return is reported for a target that left the pool.
    await sleep(80);
    assert.equal(events.seen.length, 1);
  });

  it('clears its return timers on stop', async (t) => {
    const tracked = healthTimers(t);
    const [a, b] = targets(t, 2);
    const d = detector(t, passiveConfig({ consecutiveFailures: 1, baseEjectionTime: '10s' }));
    d.setTargets([a!, b!]);
    d.failure(a!);
    assert.equal(tracked.live(), 1);
    d.stop();
    // async_hooks reports destroyed timers in a batch, after the current tick.
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(tracked.live(), 0);
  });
});
