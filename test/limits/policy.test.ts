import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RequestContext } from '../../src/core/context.ts';
import type { Reply } from '../../src/core/reply.ts';
import type { Consumer, Identity } from '../../src/identity/types.ts';
import { MemoryStore } from '../../src/limits/memory-store.ts';
import { Policy, limitClock } from '../../src/limits/policy.ts';
import { calendarQuota, compileRateLimits, slidingWindow, tokenBucket, type CompiledLimit } from '../../src/limits/limits.ts';
import { compileKey, consumerKey, keyValue, type KeyFunction } from '../../src/limits/keys.ts';
import { limitHeaderItems, mostRestrictive, recordLimitHeaders, sfString } from '../../src/limits/headers.ts';
import { rateIntervalMs } from '../../src/limits/schema.ts';
import { limitStats } from '../../src/limits/stats.ts';
import { StoreUnavailable, type LimitStore } from '../../src/limits/types.ts';
import { PluginConfigError } from '../../src/core/plugin.ts';
import { context } from '../plugins/support.ts';

/** A realistic epoch time (ms doubles near 1.75e12 are where float bugs show). */
const T0 = 1_754_000_000_000;

function consumer(name: string, groups: string[] = []): Consumer {
  return { name, id: name, groups, groupSet: new Set(groups), metadata: {}, idHeader: name, groupsHeader: groups.join(',') };
}

function ctxFor(o: { consumer?: Consumer; ip?: string; headers?: Record<string, string>; credentialId?: string; route?: string } = {}): RequestContext {
  const ctx = context({ clientIp: o.ip ?? '10.0.0.1', headers: o.headers });
  if (o.consumer !== undefined) {
    ctx.consumer = o.consumer;
    const identity: Identity = { method: 'key-auth', consumer: o.consumer, subject: o.consumer.name, scopes: [], credentialId: o.credentialId };
    ctx.identity = identity;
  }
  if (o.route !== undefined) ctx.route = { name: o.route } as RequestContext['route'];
  return ctx;
}

let seq = 0;
function policy(limits: CompiledLimit[], o: { key?: KeyFunction; store?: LimitStore; failure?: 'fail-open' | 'fail-closed' | 'fallback-local'; legacy?: boolean } = {}): Policy {
  const store = o.store ?? new MemoryStore();
  return new Policy({
    id: `test.${++seq}`, source: 'rate-limit', limits, key: o.key ?? compileKey('ip', 'ip'), store: () => store,
    onStoreFailure: o.failure ?? 'fail-open', headers: { draft: true, legacy: o.legacy ?? false },
  });
}

/** Checks a request at `now`; the local store answers synchronously. */
function at(p: Policy, now: number, ctx = ctxFor()): { reply: Reply | undefined; ctx: RequestContext } {
  limitClock.now = () => now;
  const r = p.check(ctx);
  assert.ok(!(r instanceof Promise), 'the local store answers synchronously');
  return { reply: r ?? undefined, ctx };
}

const header = (ctx: RequestContext, name: string) => ctx.responseHeaders.set?.get(name);

afterEach(() => {
  limitClock.now = () => Date.now();
});

describe('rates', () => {
  it('parses "10/s", "600/m", "5/10s", "0.5/s" and numbers (per second) into ms per request', () => {
    assert.equal(rateIntervalMs('10/s'), 100);
    assert.equal(rateIntervalMs('600/m'), 100);
    assert.equal(rateIntervalMs('5/10s'), 2000);
    assert.equal(rateIntervalMs('0.5/s'), 2000);
    assert.equal(rateIntervalMs('24/d'), 3_600_000);
    assert.equal(rateIntervalMs(4), 250);
    assert.throws(() => rateIntervalMs('0/s'), /above 0/);
  });

  it('defaults the burst to one second of the rate (at least 1)', () => {
    assert.equal(tokenBucket('b', '10/s').spec.limit, 10);
    assert.equal(tokenBucket('b', '3/s').spec.limit, 3);
    assert.equal(tokenBucket('b', '5/m').spec.limit, 1);
    assert.equal(tokenBucket('b', '10/s', 20).spec.limit, 20);
  });

  it('names limits by default, and refuses two with one id', () => {
    const l = compileRateLimits([{ rate: '10/s', burst: 20 }, { requests: 1000, window: '1h' }], 'limits');
    assert.deepEqual(l.map((x) => x.spec.id), ['burst', 'window']);
    assert.throws(() => compileRateLimits([{ rate: '10/s' }, { rate: '100/m' }], 'limits'), (err: unknown) => {
      assert.ok(err instanceof PluginConfigError);
      assert.equal(err.path, 'limits[1]');
      assert.match(err.message, /limit id "burst" is also limits\[0\]'s/);
      return true;
    });
  });
});

describe('token bucket through a policy (controllable clock)', () => {
  it('admits exactly the burst at once, then refuses with Retry-After rounded up to the second', () => {
    const p = policy([tokenBucket('burst', '10/s', 20)]);
    for (let i = 0; i < 20; i++) assert.equal(at(p, T0).reply, undefined, `request ${i + 1}`);
    const { reply, ctx } = at(p, T0);
    assert.equal(reply?.status, 429);
    assert.equal(reply?.code, 'rate_limited');
    assert.deepEqual(reply?.headers, { 'retry-after': '1' }); // 100 ms to the next token → 1 s
    assert.equal(header(ctx, 'ratelimit'), '"burst";r=0;t=2');
    assert.equal(header(ctx, 'ratelimit-policy'), '"burst";q=20;w=2');
  });

  it('refills one request per interval: exactly when due, not a millisecond before', () => {
    const p = policy([tokenBucket('burst', '10/s', 2)]);
    at(p, T0);
    at(p, T0);
    assert.equal(at(p, T0 + 99).reply?.status, 429);
    assert.equal(at(p, T0 + 100).reply, undefined);
    assert.equal(at(p, T0 + 100).reply?.status, 429);
    // After a quiet spell the bucket is full again, never fuller.
    assert.equal(at(p, T0 + 10_000).reply, undefined);
    assert.equal(at(p, T0 + 10_000).reply, undefined);
    assert.equal(at(p, T0 + 10_000).reply?.status, 429);
  });

  it('Retry-After is the wait to the next token, rounded up (a slow rate: 2 per minute)', () => {
    const p = policy([tokenBucket('slow', '2/m', 1)]);
    at(p, T0);
    const refused = at(p, T0 + 1);
    assert.deepEqual(refused.reply?.headers, { 'retry-after': '30' }); // 29.999 s → 30
    assert.equal(at(p, T0 + 29_999).reply?.status, 429);
    assert.equal(at(p, T0 + 30_000).reply, undefined);
  });

  it('several limits are all enforced, and a refused request uses none of them', () => {
    const p = policy([tokenBucket('burst', '10/s', 5), slidingWindow('hourly', 7, '1h')]);
    for (let i = 0; i < 5; i++) assert.equal(at(p, T0).reply, undefined);
    assert.equal(at(p, T0).reply?.status, 429, 'burst used up');
    // Refused by the burst: the hourly count did not move, so 2 more pass once tokens are back.
    assert.equal(at(p, T0 + 1000).reply, undefined);
    const seventh = at(p, T0 + 1000);
    assert.equal(seventh.reply, undefined);
    assert.equal(header(seventh.ctx, 'ratelimit'), '"hourly";r=0;t=' + String(Math.ceil((3_600_000 - ((T0 + 1000) % 3_600_000)) / 1000)));
    const refused = at(p, T0 + 1000);
    assert.equal(refused.reply?.status, 429);
    assert.match(refused.reply?.detail ?? '', /rate limit "hourly" \(7 per 1h\) exceeded/);
  });
});

describe('sliding window through a policy', () => {
  it('counts the previous window by how much of it still overlaps', () => {
    const start = Math.ceil(T0 / 10_000) * 10_000; // a window boundary
    const p = policy([slidingWindow('w', 10, '10s')]);
    for (let i = 0; i < 10; i++) assert.equal(at(p, start + 5000).reply, undefined);
    assert.equal(at(p, start + 9999).reply?.status, 429, 'the last ms of the window');
    // Next window, 50% in: the previous 10 weigh 5, so 5 more pass.
    for (let i = 0; i < 5; i++) assert.equal(at(p, start + 15_000).reply, undefined, `request ${i + 1} at 50%`);
    const refused = at(p, start + 15_000);
    assert.equal(refused.reply?.status, 429);
    // The weight drops below the count 1 s later: Retry-After 1.
    assert.deepEqual(refused.reply?.headers, { 'retry-after': '1' });
    assert.equal(at(p, start + 15_999).reply?.status, 429);
    assert.equal(at(p, start + 16_000).reply, undefined);
  });
});

describe('quotas (calendar periods)', () => {
  it('resets at midnight in the configured time zone, not UTC', () => {
    // 2025-03-10 23:59:59.999 in New York (EDT, UTC-4) is 2025-03-11T03:59:59.999Z.
    const beforeMidnight = Date.parse('2025-03-11T03:59:59.999Z');
    const p = policy([calendarQuota('daily', 3, 'day', 'America/New_York')]);
    for (let i = 0; i < 3; i++) assert.equal(at(p, Date.parse('2025-03-10T14:00:00Z')).reply, undefined);
    const refused = at(p, beforeMidnight);
    assert.equal(refused.reply?.status, 429);
    assert.equal(refused.reply?.code, 'quota_exceeded');
    assert.deepEqual(refused.reply?.headers, { 'retry-after': '1' });
    assert.match(refused.reply?.detail ?? '', /quota "daily" \(3 per day \(America\/New_York\)\) is used up; it resets at 2025-03-11T04:00:00.000Z/);
    // UTC midnight came and went four hours earlier: it did not reset the New York day.
    assert.equal(at(p, Date.parse('2025-03-11T00:30:00Z')).reply?.code, 'quota_exceeded');
    const fresh = at(p, beforeMidnight + 1);
    assert.equal(fresh.reply, undefined);
    assert.equal(header(fresh.ctx, 'ratelimit'), '"daily";r=2;t=86400');
    assert.equal(header(fresh.ctx, 'ratelimit-policy'), '"daily";q=3;w=86400');
  });

  it('a month quota says when the month ends; the week starts on Monday', () => {
    const p = policy([calendarQuota('monthly', 1, 'month', 'Europe/Paris')]);
    at(p, Date.parse('2025-06-15T12:00:00Z'));
    const refused = at(p, Date.parse('2025-06-30T21:59:59Z'));
    assert.match(refused.reply?.detail ?? '', /resets at 2025-06-30T22:00:00.000Z/); // midnight CEST
    assert.equal(at(p, Date.parse('2025-06-30T22:00:00Z')).reply, undefined);
    const w = policy([calendarQuota('weekly', 1, 'week', 'UTC')]);
    at(w, Date.parse('2025-06-15T23:59:59Z')); // a Sunday
    assert.equal(at(w, Date.parse('2025-06-16T00:00:00Z')).reply, undefined, 'Monday is a new week');
  });

  it('a quota refusal wins over a throttle refusal: the code tells the client to stop, not to slow down', () => {
    const p = policy([tokenBucket('burst', '1/h', 1), calendarQuota('daily', 1, 'day', 'UTC')]);
    at(p, T0);
    const refused = at(p, T0 + 1);
    assert.equal(refused.reply?.code, 'quota_exceeded');
  });
});

describe('keys', () => {
  it('layout rl:{<policy>:<client>}:<limit>: one hash tag per client, so one request is one Cluster slot', () => {
    const p = policy([tokenBucket('burst', '1/s', 1), slidingWindow('hourly', 5, '1h')], { key: compileKey(['route', 'consumer'], 'ip') });
    const checks = p.checks('r=orders|c=alice', T0);
    assert.deepEqual(checks.map((c) => c.key), [`rl:{${p.id}:r=orders|c=alice}:burst`, `rl:{${p.id}:r=orders|c=alice}:hourly`]);
  });

  it('keys on each part of `by`, in order', () => {
    const alice = consumer('alice', ['silver', 'gold']);
    const ctx = ctxFor({ consumer: alice, ip: '192.0.2.7', headers: { 'X-Tenant': 'acme' }, credentialId: 'ios', route: 'orders' });
    const key = (by: Parameters<typeof compileKey>[0], groups: string[] = []) => compileKey(by, 'ip', groups)(ctx);
    assert.deepEqual(key('global'), { value: '*', cls: 'global' });
    assert.deepEqual(key('consumer'), { value: 'c=alice', cls: 'consumer' });
    assert.deepEqual(key('group'), { value: 'g=silver', cls: 'group' });
    assert.deepEqual(key('group', ['gold']), { value: 'g=gold', cls: 'group' }, 'the first group with an override');
    assert.deepEqual(key('credential'), { value: 'k=alice/ios', cls: 'credential' });
    assert.deepEqual(key('ip'), { value: 'i=192.0.2.7', cls: 'ip' });
    assert.deepEqual(key('header:X-Tenant'), { value: 'h.x-tenant=acme', cls: 'header:X-Tenant' });
    assert.deepEqual(key(['route', 'consumer', 'ip']), { value: 'r=orders|c=alice|i=192.0.2.7', cls: 'route+consumer+ip' });
    assert.equal(consumerKey('alice'), key('consumer')!.value, 'the usage report finds the plan\'s counters');
  });

  it('whenMissing: ip falls back to the client address, shared puts all in one budget, skip does not limit', () => {
    const anonymous = ctxFor({ ip: '198.51.100.9' });
    assert.deepEqual(compileKey('consumer', 'ip')(anonymous), { value: 'c~ip=198.51.100.9', cls: 'fallback-ip' });
    assert.deepEqual(compileKey('consumer', 'shared')(anonymous), { value: 'c~', cls: 'shared' });
    assert.equal(compileKey('consumer', 'skip')(anonymous), undefined);
    const p = policy([tokenBucket('burst', '1/h', 1)], { key: compileKey('consumer', 'skip') });
    for (let i = 0; i < 5; i++) assert.equal(at(p, T0, ctxFor()).reply, undefined);
  });

  it('a long or odd value becomes a fixed-size digest (no braces, bounded keys)', () => {
    assert.equal(keyValue('alice'), 'alice');
    assert.equal(keyValue('2001:db8::1'), '2001:db8::1');
    for (const v of ['x'.repeat(8000), 'a}b', '{tag}', 'with space']) {
      const k = keyValue(v);
      assert.match(k, /^#[A-Za-z0-9_-]{22}$/);
    }
    assert.notEqual(keyValue('a}b'), keyValue('a}c'));
  });
});

describe('headers', () => {
  it('RateLimit-Policy lists every limit; RateLimit names the most restrictive; legacy headers on request', () => {
    const p = policy([tokenBucket('burst', '10/s', 20), slidingWindow('hourly', 1000, '1h')], { legacy: true });
    const start = Math.floor(T0 / 3_600_000) * 3_600_000;
    const { ctx } = at(p, start + 1_060_000);
    assert.equal(header(ctx, 'ratelimit-policy'), '"burst";q=20;w=2, "hourly";q=1000;w=3600');
    assert.equal(header(ctx, 'ratelimit'), '"burst";r=19;t=1');
    assert.equal(header(ctx, 'x-ratelimit-limit'), '20');
    assert.equal(header(ctx, 'x-ratelimit-remaining'), '19');
    assert.equal(header(ctx, 'x-ratelimit-reset'), '1');
    // With the hourly count nearly used up, it is the one to pace by.
    const q = policy([tokenBucket('burst', '10/s', 20), slidingWindow('hourly', 3, '1h')]);
    at(q, start + 1_060_000);
    at(q, start + 1_060_000);
    const third = at(q, start + 1_060_000).ctx;
    assert.equal(header(third, 'ratelimit'), '"hourly";r=0;t=2540');
  });

  it('policies of one request (route limit, plan, quota) merge into one set of headers', () => {
    const ctx = ctxFor();
    recordLimitHeaders(ctx, [{ name: 'burst', q: 20, w: 2, r: 15, t: 1, retry: 0, draft: true, legacy: false }]);
    recordLimitHeaders(ctx, [{ name: 'gold-monthly', q: 1000, w: 2592000, r: 3, t: 90000, retry: 0, draft: true, legacy: false }]);
    assert.equal(header(ctx, 'ratelimit-policy'), '"burst";q=20;w=2, "gold-monthly";q=1000;w=2592000');
    assert.equal(header(ctx, 'ratelimit'), '"gold-monthly";r=3;t=90000');
    assert.equal(limitHeaderItems(ctx).length, 2);
  });

  it('picks a refused limit first, then the fewest left, then the longest reset; quotes names as sf-strings', () => {
    const item = (name: string, r: number, t: number, retry = 0) => ({ name, q: 10, w: 1, r, t, retry, draft: true, legacy: false });
    assert.equal(mostRestrictive([item('a', 0, 5), item('b', 3, 1, 2)]).name, 'b');
    assert.equal(mostRestrictive([item('a', 4, 5), item('b', 3, 1)]).name, 'b');
    assert.equal(mostRestrictive([item('a', 3, 1), item('b', 3, 9)]).name, 'b');
    assert.equal(sfString('a"b\\c'), '"a\\"b\\\\c"');
  });
});

describe('store failures', () => {
  const failing = (): LimitStore => ({
    kind: 'redis',
    hit: () => Promise.reject(new StoreUnavailable('down')),
    peek: () => Promise.reject(new StoreUnavailable('down')),
    close: async () => {},
  });

  it('fail-closed answers 503 rate_limit_unavailable with Retry-After: 1; fail-open lets the request through', async () => {
    const closed = policy([tokenBucket('burst', '1/s', 1)], { store: failing(), failure: 'fail-closed' });
    const reply = await closed.check(ctxFor());
    assert.equal((reply as Reply).status, 503);
    assert.equal((reply as Reply).code, 'rate_limit_unavailable');
    assert.deepEqual((reply as Reply).headers, { 'retry-after': '1' });
    const open = policy([tokenBucket('burst', '1/s', 1)], { store: failing(), failure: 'fail-open' });
    assert.equal(await open.check(ctxFor()), undefined);
  });

  it('a bug in the store is not a store failure: it propagates', async () => {
    const broken: LimitStore = { kind: 'redis', hit: () => Promise.reject(new TypeError('bug')), peek: () => Promise.reject(new TypeError('bug')), close: async () => {} };
    const p = policy([tokenBucket('burst', '1/s', 1)], { store: broken, failure: 'fail-open' });
    await assert.rejects(async () => p.check(ctxFor()), TypeError);
  });
});

describe('stats', () => {
  it('counts each decision by policy, source, key class and outcome', async () => {
    const p = policy([tokenBucket('burst', '1/h', 2)], { key: compileKey('consumer', 'ip') });
    const alice = consumer('alice');
    for (let i = 0; i < 3; i++) at(p, T0, ctxFor({ consumer: alice }));
    at(p, T0, ctxFor());
    const closed = policy([tokenBucket('burst', '1/s', 1)], {
      failure: 'fail-closed',
      store: { kind: 'redis', hit: () => Promise.reject(new StoreUnavailable('down')), peek: () => Promise.reject(new StoreUnavailable('down')), close: async () => {} },
    });
    await closed.check(ctxFor());
    assert.equal(limitStats.value({ policy: p.id, source: 'rate-limit', key: 'consumer', outcome: 'allowed' }), 2);
    assert.equal(limitStats.value({ policy: p.id, source: 'rate-limit', key: 'consumer', outcome: 'rate_limited' }), 1);
    assert.equal(limitStats.value({ policy: p.id, source: 'rate-limit', key: 'fallback-ip', outcome: 'allowed' }), 1);
    assert.equal(limitStats.value({ policy: closed.id, source: 'rate-limit', key: 'ip', outcome: 'failed_closed' }), 1);
    assert.equal(limitStats.sum({ policy: p.id }), 4);
    assert.ok(limitStats.snapshot().some((c) => c.labels.policy === p.id && c.value === 2));
  });
});
