import { describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Static } from '@sinclair/typebox';
import type { DnsDiscoveryConfig } from '../../src/config/schema/upstream.ts';
import type { Logger } from '../../src/core/logger.ts';
import { DnsDiscovery, type DiscoveredTarget } from '../../src/upstream/discovery/dns.ts';
import { startDnsServer, type TestDnsServer } from '../helpers/dns-server.ts';

type Entry = Static<typeof DnsDiscoveryConfig>;

interface LogLine { level: 'info' | 'warn' | 'error'; msg: string; fields: Record<string, unknown> | undefined }

function recordingLogger(): Logger & { lines: LogLine[]; warns(): LogLine[] } {
  const lines: LogLine[] = [];
  return {
    lines,
    warns: () => lines.filter((l) => l.level === 'warn'),
    info: (msg, fields) => void lines.push({ level: 'info', msg, fields }),
    warn: (msg, fields) => void lines.push({ level: 'warn', msg, fields }),
    error: (msg, fields) => void lines.push({ level: 'error', msg, fields }),
  };
}

/** Records onChange calls; `next()` resolves with the next one (or fails after `timeoutMs`). */
function changeRecorder() {
  const calls: { at: number; targets: DiscoveredTarget[] }[] = [];
  let waiter: ((t: DiscoveredTarget[]) => void) | undefined;
  return {
    calls,
    onChange: (targets: DiscoveredTarget[]) => {
      calls.push({ at: performance.now(), targets });
      waiter?.(targets);
      waiter = undefined;
    },
    next: (timeoutMs: number) => new Promise<DiscoveredTarget[]>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no onChange within ${timeoutMs} ms`)), timeoutMs);
      waiter = (t) => {
        clearTimeout(timer);
        resolve(t);
      };
    }),
  };
}

function entry(dns: TestDnsServer, e: Partial<Entry> & { name: string }): Entry {
  return { type: 'A', port: 8080, scheme: 'http', weight: 1, resolver: dns.resolver, minTtl: '100ms', maxTtl: '300s', ...e };
}

/** A DNS server and a discovery over it, both torn down after the test. */
async function setup(t: TestContext, zones: Record<string, Parameters<TestDnsServer['set']>[1]>, entries: (dns: TestDnsServer) => Entry[]) {
  const dns = await startDnsServer();
  for (const [name, zone] of Object.entries(zones)) dns.set(name, zone);
  const logger = recordingLogger();
  const changes = changeRecorder();
  const discovery = new DnsDiscovery('api', entries(dns), logger, changes.onChange);
  t.after(async () => {
    discovery.stop();
    await dns.close();
  });
  return { dns, logger, changes, discovery };
}

const a = (...addresses: string[]) => addresses.map((address) => ({ address, ttl: 1 }));

describe('DnsDiscovery', { concurrency: true }, () => {
  it('turns A records into sorted targets with the entry\'s scheme, port and weight', async (t) => {
    const { discovery } = await setup(t, { 'api.test': { A: a('10.0.0.2', '10.0.0.1') } }, (dns) => [
      entry(dns, { name: 'api.test', scheme: 'https', port: 8443, weight: 3 }),
    ]);
    const expected = [{ origin: 'https://10.0.0.1:8443', weight: 3 }, { origin: 'https://10.0.0.2:8443', weight: 3 }];
    assert.deepEqual(await discovery.start(), expected);
    assert.deepEqual(discovery.current(), expected);
  });

  it('calls onChange with the new set about one TTL after the answers change', async (t) => {
    const { dns, changes, discovery } = await setup(t, { 'api.test': { A: a('10.0.0.1', '10.0.0.2') } }, (dns) => [entry(dns, { name: 'api.test' })]);
    await discovery.start();
    dns.set('api.test', { A: a('10.0.0.2', '10.0.0.3') });
    const changedAt = performance.now();
    const targets = await changes.next(3000);
    const elapsed = performance.now() - changedAt;
    t.diagnostic(`onChange ${elapsed.toFixed(0)} ms after the change (TTL 1 s)`);
    // Re-resolved at the TTL (1 s), not at minTtl (100 ms), and not much later.
    assert.ok(elapsed >= 800 && elapsed <= 1600, `onChange after ${elapsed} ms`);
    assert.deepEqual(targets, [{ origin: 'http://10.0.0.2:8080', weight: 1 }, { origin: 'http://10.0.0.3:8080', weight: 1 }]);
    assert.deepEqual(discovery.current(), targets);
    assert.equal(changes.calls.length, 1);
  });

  it('does not call onChange when a re-resolution gives the same set, in another order', async (t) => {
    const { dns, changes, discovery } = await setup(t, { 'api.test': { A: a('10.0.0.1', '10.0.0.2') } }, (dns) => [entry(dns, { name: 'api.test' })]);
    await discovery.start();
    dns.set('api.test', { A: a('10.0.0.2', '10.0.0.1') });
    await dns.nextQuery('api.test', 'A');
    await dns.nextQuery('api.test', 'A');
    await sleep(50);
    assert.equal(changes.calls.length, 0);
  });

  it('re-resolves at the TTL clamped to [minTtl, maxTtl]', async (t) => {
    const { dns, discovery } = await setup(t, {
      'long.test': { A: [{ address: '10.0.0.1', ttl: 3600 }] },
      'zero.test': { A: [{ address: '10.0.0.2', ttl: 0 }] },
    }, (dns) => [
      entry(dns, { name: 'long.test', maxTtl: '300ms' }),
      entry(dns, { name: 'zero.test', minTtl: '500ms' }),
    ]);
    const gap = async (name: string) => {
      const first = await dns.nextQuery(name);
      return (await dns.nextQuery(name)).at - first.at;
    };
    await discovery.start();
    const [long, zero] = await Promise.all([gap('long.test'), gap('zero.test')]);
    t.diagnostic(`TTL 3600 s with maxTtl 300 ms: ${long.toFixed(0)} ms; TTL 0 with minTtl 500 ms: ${zero.toFixed(0)} ms`);
    assert.ok(long >= 250 && long < 700, `TTL 3600 s, maxTtl 300 ms: re-resolved after ${long} ms`);
    assert.ok(zero >= 450 && zero < 900, `TTL 0, minTtl 500 ms: re-resolved after ${zero} ms`);
  });

  it('keeps the last set through SERVFAIL and NXDOMAIN, logs once per streak, and publishes the recovery', async (t) => {
    const { dns, logger, changes, discovery } = await setup(t, { 'api.test': { A: a('10.0.0.1') } }, (dns) => [
      entry(dns, { name: 'api.test', minTtl: '200ms' }),
    ]);
    const before = await discovery.start();
    dns.set('api.test', { rcode: 'SERVFAIL' });
    await dns.nextQuery('api.test');
    await sleep(700); // several retries at minTtl
    const failingQueries = dns.queries.filter((q) => q.name === 'api.test').length;
    dns.set('api.test', { rcode: 'NXDOMAIN' });
    await dns.nextQuery('api.test');
    await sleep(300);
    assert.deepEqual(discovery.current(), before);
    assert.equal(changes.calls.length, 0);
    assert.equal(logger.warns().length, 1, JSON.stringify(logger.warns()));
    assert.equal(logger.warns()[0]!.fields!.dns, 'api.test');
    assert.equal(logger.warns()[0]!.fields!.kept, 1);
    t.diagnostic(`${failingQueries} queries during the SERVFAIL streak, 1 warning`);
    assert.ok(failingQueries >= 3, `retried ${failingQueries} times`);

    dns.set('api.test', { A: a('10.0.0.9') });
    assert.deepEqual(await changes.next(1000), [{ origin: 'http://10.0.0.9:8080', weight: 1 }]);
    assert.equal(logger.lines.filter((l) => l.msg === 'DNS discovery recovered').length, 1);
  });

  it('keeps the last set when the DNS server goes away, and warns once', async (t) => {
    const { dns, logger, changes, discovery } = await setup(t, { 'api.test': { A: a('10.0.0.1') } }, (dns) => [
      entry(dns, { name: 'api.test', minTtl: '200ms' }),
    ]);
    const before = await discovery.start();
    await dns.close();
    await sleep(1800); // the TTL, then several retries at minTtl
    assert.deepEqual(discovery.current(), before);
    assert.equal(changes.calls.length, 0);
    const warns = logger.warns();
    assert.equal(warns.length, 1, JSON.stringify(warns));
    const err = warns[0]!.fields!.err as NodeJS.ErrnoException;
    t.diagnostic(`server gone: ${err.code}`);
    assert.ok(err instanceof Error);
  });

  it('turns SRV records of the lowest priority into host:port targets with their weights', async (t) => {
    const { dns, changes, discovery } = await setup(t, {
      '_http._tcp.svc.test': {
        SRV: [
          { priority: 10, weight: 5, port: 8001, target: 'a.svc.test', ttl: 1 },
          { priority: 10, weight: 0, port: 8002, target: 'b.svc.test', ttl: 1 },
          { priority: 20, weight: 100, port: 8003, target: 'c.svc.test', ttl: 1 },
        ],
      },
      'a.svc.test': { A: a('10.0.1.1') },
      'b.svc.test': { AAAA: a('fd00::b') },
      'c.svc.test': { A: a('10.0.1.3') },
    }, (dns) => [entry(dns, { name: '_http._tcp.svc.test', type: 'SRV', port: undefined, scheme: 'https' })]);
    assert.deepEqual(await discovery.start(), [
      { origin: 'https://10.0.1.1:8001', weight: 5 },
      { origin: 'https://[fd00::b]:8002', weight: 1 }, // AAAA when the host has no A; weight 0 counts as 1
    ]);
    // No address left in priority 10: priority 20 takes over, at the next re-resolution (minTtl: SRV has no TTL).
    dns.set('a.svc.test', { A: [] });
    dns.set('b.svc.test', {});
    assert.deepEqual(await changes.next(1000), [{ origin: 'https://10.0.1.3:8003', weight: 100 }]);
  });

  it('turns AAAA records into bracketed IPv6 origins', async (t) => {
    const { discovery } = await setup(t, { 'v6.test': { AAAA: a('fd00::2', 'fd00::1') } }, (dns) => [
      entry(dns, { name: 'v6.test', type: 'AAAA', port: 9000 }),
    ]);
    assert.deepEqual(await discovery.start(), [{ origin: 'http://[fd00::1]:9000', weight: 1 }, { origin: 'http://[fd00::2]:9000', weight: 1 }]);
  });

  it('merges entries: one target per origin, the largest weight wins', async (t) => {
    const { discovery } = await setup(t, { 'one.test': { A: a('10.0.0.1', '10.0.0.2') }, 'two.test': { A: a('10.0.0.2') } }, (dns) => [
      entry(dns, { name: 'one.test', weight: 1 }),
      entry(dns, { name: 'two.test', weight: 7 }),
    ]);
    assert.deepEqual(await discovery.start(), [{ origin: 'http://10.0.0.1:8080', weight: 1 }, { origin: 'http://10.0.0.2:8080', weight: 7 }]);
  });

  it('start() rejects naming every DNS name when nothing resolves, and leaves nothing running', async (t) => {
    const { dns, discovery } = await setup(t, { 'empty.test': { A: [] } }, (dns) => [
      entry(dns, { name: 'missing.test' }),
      entry(dns, { name: 'empty.test' }),
    ]);
    await assert.rejects(discovery.start(), (err: Error) => {
      assert.match(err.message, /upstream "api"/);
      assert.match(err.message, /missing\.test \(A\): .*ENOTFOUND/);
      assert.match(err.message, /empty\.test \(A\): .*ENODATA/);
      return true;
    });
    const count = dns.queries.length;
    await sleep(400);
    assert.equal(dns.queries.length, count);
  });

  it('start() succeeds with the entries that resolved, warns about the others and picks them up later', async (t) => {
    const { dns, logger, changes, discovery } = await setup(t, { 'api.test': { A: a('10.0.0.1') } }, (dns) => [
      entry(dns, { name: 'api.test' }),
      entry(dns, { name: 'late.test' }),
    ]);
    assert.deepEqual(await discovery.start(), [{ origin: 'http://10.0.0.1:8080', weight: 1 }]);
    assert.deepEqual(logger.warns().map((w) => w.fields!.dns), ['late.test']);
    dns.set('late.test', { A: a('10.0.0.5') });
    assert.deepEqual((await changes.next(1000)).map((x) => x.origin), ['http://10.0.0.1:8080', 'http://10.0.0.5:8080']);
  });

  it('stop() ends every timer: no query reaches the server afterwards and onChange stays silent', async (t) => {
    const { dns, changes, discovery } = await setup(t, {
      'a.test': { A: [{ address: '10.0.0.1', ttl: 0 }] },
      '_x._tcp.test': { SRV: [{ priority: 1, weight: 1, port: 80, target: 'a.test', ttl: 0 }] },
    }, (dns) => [
      entry(dns, { name: 'a.test' }),
      entry(dns, { name: '_x._tcp.test', type: 'SRV', port: undefined }),
      entry(dns, { name: 'failing.test' }), // retried every minTtl
    ]);
    await discovery.start();
    await sleep(350);
    discovery.stop();
    // The server shares this event loop: a query already sent when stop() ran is only counted now.
    await sleep(20);
    const before = dns.queries.length;
    dns.set('a.test', { A: [{ address: '10.0.0.2', ttl: 0 }] });
    await sleep(500); // 5 × minTtl
    t.diagnostic(`${before} queries while running (~350 ms, minTtl 100 ms), ${dns.queries.length - before} after stop()`);
    assert.ok(before >= 6, `${before} queries before stop`);
    assert.equal(dns.queries.length, before);
    assert.equal(changes.calls.length, 0);
  });

  it('does not keep the process alive (timers are unref\'ed)', async (t) => {
    const dns = await startDnsServer();
    t.after(() => dns.close());
    dns.set('api.test', { A: [{ address: '10.0.0.1', ttl: 3600 }] });
    const moduleUrl = new URL('../../src/upstream/discovery/dns.ts', import.meta.url).href;
    const script = `
      import { DnsDiscovery } from ${JSON.stringify(moduleUrl)};
      const entry = { name: 'api.test', type: 'A', port: 80, scheme: 'http', weight: 1, resolver: ${JSON.stringify(dns.resolver)}, minTtl: '1s', maxTtl: '300s' };
      const d = new DnsDiscovery('api', [entry, { ...entry, name: 'failing.test' }], { info() {}, warn() {}, error() {} }, () => {});
      console.log(JSON.stringify(await d.start()));`;
    const started = performance.now();
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
    const [code] = await once(child, 'exit');
    clearTimeout(killer);
    t.diagnostic(`child exited after ${(performance.now() - started).toFixed(0)} ms`);
    assert.equal(code, 0);
    assert.deepEqual(JSON.parse(out), [{ origin: 'http://10.0.0.1:80', weight: 1 }]);
  });

  it('refuses a resolver that is not an IP address', () => {
    assert.throws(
      () => new DnsDiscovery('api', [{ name: 'api.test', type: 'A', port: 80, scheme: 'http', weight: 1, resolver: 'dns.internal:53', minTtl: '1s', maxTtl: '300s' }], recordingLogger(), () => {}),
      /upstream "api": discovery.dns "api.test": resolver "dns.internal:53" must be an IP address/,
    );
  });
});
