import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { validateConfig } from '../../src/config/validate.ts';
import { checkConfig } from '../../src/config/check.ts';
import { ConfigError } from '../../src/config/errors.ts';

const ROUTES = [
  { name: 'orders', match: { path: '/orders' }, plugins: { mock: {} } },
  { name: 'menu', match: { path: '/menu' }, plugins: { mock: {} } },
];

/** The issues of a config that must be refused, as `path: message` lines. */
function issues(config: Record<string, unknown>): string[] {
  try {
    validateConfig({ routes: ROUTES, ...config });
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.issues.map((i) => `${i.path}: ${i.message}`);
  }
  assert.fail('config was accepted');
}

describe('usage plan config checks', () => {
  it('accepts plans and subscriptions, applying defaults', () => {
    const c = validateConfig({
      routes: ROUTES,
      plans: { gold: { throttle: { rate: '10/s', burst: 20 }, quota: { limit: 100000, period: 'month' }, allowVolatile: true, routes: ['orders'] } },
      consumers: { acme: { plan: 'gold' } },
    });
    const gold = c.plans!.gold!;
    assert.equal(gold.quota!.timeZone, 'UTC');
    assert.equal(gold.storage, 'local');
    assert.equal(gold.onStoreFailure, 'fail-open');
    assert.deepEqual(gold.headers, { draft: true, legacy: false });
    assert.equal(c.consumers!.acme!.plan, 'gold');
  });

  it('refuses a subscription to a plan that does not exist, suggesting the nearest', () => {
    assert.deepEqual(issues({ plans: { gold: { throttle: { rate: '1/s' } } }, consumers: { acme: { plan: 'gld' } } }), [
      'consumers.acme.plan: unknown plan "gld" (did you mean "gold"?)',
    ]);
    assert.deepEqual(issues({ consumers: { acme: { plan: 'gold' } } }), ['consumers.acme.plan: unknown plan "gold" (the config has no `plans`)']);
  });

  it('refuses a plan that limits nothing, names an unknown route, or a route twice', () => {
    assert.deepEqual(issues({ plans: { empty: {}, typo: { throttle: { rate: '1/s' }, routes: ['ordres', 'menu', 'menu'] } } }), [
      'plans.empty: limits nothing: give it a `throttle`, a `quota` or both',
      'plans.typo.routes[0]: unknown route "ordres" (did you mean "orders"?)',
      'plans.typo.routes[2]: route "menu" is listed twice',
    ]);
  });

  it('refuses a bad name, rate or time zone', () => {
    assert.deepEqual(issues({ plans: { 'no spaces': { throttle: { rate: '0/s' }, quota: { limit: 1, period: 'day', timeZone: 'Nowhere/Town' }, allowVolatile: true } } }), [
      'plans["no spaces"]: invalid plan name "no spaces": use letters, digits, "_", "." and "-", starting with a letter or digit',
    ]);
    assert.deepEqual(issues({ plans: { p: { throttle: { rate: '0/s' }, quota: { limit: 1, period: 'day', timeZone: 'Nowhere/Town' }, allowVolatile: true } } }), [
      'plans.p.throttle.rate: invalid rate "0/s": both numbers must be above 0',
      'plans.p.quota.timeZone: unknown time zone "Nowhere/Town": use an IANA name such as "UTC", "Europe/Paris" or "America/New_York"',
    ]);
    assert.deepEqual(issues({ plans: { p: { throttle: { rate: 'fast' } } } }), [
      'plans.p.throttle.rate: must be a rate such as "10/s", "600/m", "5/10s" or a number of requests per second',
    ]);
  });

  it('refuses storage: redis without a redis section, and a quota on local storage without allowVolatile', () => {
    assert.deepEqual(issues({ plans: { p: { throttle: { rate: '1/s' }, storage: 'redis' } } }), [
      'plans.p.storage: is "redis" but the config has no root `redis` section: add one (`redis: { url: "redis://127.0.0.1:6379" }`), or use `storage: local`',
    ]);
    assert.deepEqual(issues({ plans: { p: { quota: { limit: 10, period: 'week' } } } }), [
      'plans.p.storage: is "local", which keeps quota counters in this process only (lost on restart, counted per process): use `storage: redis`, or set `allowVolatile: true` to accept that',
    ]);
    assert.doesNotThrow(() => validateConfig({ routes: ROUTES, redis: { url: 'redis://127.0.0.1:6379' }, plans: { p: { quota: { limit: 10, period: 'week' }, storage: 'redis' } } }));
  });

  it('the trial build of `validate` accepts a Redis-backed plan without connecting to Redis', async () => {
    const config = await checkConfig({ value: {
      routes: ROUTES, redis: { url: 'redis://127.0.0.1:1' },
      plans: { p: { throttle: { rate: '1/s' }, quota: { limit: 10, period: 'week' }, storage: 'redis', onStoreFailure: 'fail-closed' } },
      consumers: { acme: { plan: 'p' } },
    } } as never);
    assert.equal(config.plans!.p!.storage, 'redis');
  });

  it('refuses a rate-limit plugin on redis storage without a redis section, at the plugin\'s path', async () => {
    await assert.rejects(checkConfig({ value: { routes: [{ ...ROUTES[0], plugins: { mock: {}, 'rate-limit': { limits: [{ rate: '1/s' }], storage: 'redis' } } }] } } as never), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.deepEqual(err.issues.map((i) => i.path), ['routes[0].plugins.rate-limit.storage']);
      return true;
    });
  });
});
