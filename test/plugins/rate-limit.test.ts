import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { rateLimit } from '../../src/plugins/rate-limit/plugin.ts';
import { quota } from '../../src/plugins/quota/plugin.ts';
import { PluginConfigError } from '../../src/core/plugin.ts';
import { assertConfigError, configure, create, schemaRefuses, scope } from './support.ts';

describe('rate-limit config', () => {
  it('defaults: by consumer, falling back to the client address; local storage, fail-open; draft headers only', () => {
    const c = configure(rateLimit, { limits: [{ rate: '10/s', burst: 20 }] });
    assert.equal(c.by, 'consumer');
    assert.equal(c.whenMissing, 'ip');
    assert.equal(c.storage, 'local');
    assert.equal(c.onStoreFailure, 'fail-open');
    assert.equal(c.fallbackShare, 1);
    assert.deepEqual(c.headers, { draft: true, legacy: false });
    assert.deepEqual(c.groups, {});
  });

  it('accepts rates as "10/s", "600/m", "5/10s" or a number, and windows as durations', () => {
    for (const rate of ['10/s', '600/m', '5/10s', '0.5/s', 3]) assert.ok(!schemaRefuses(rateLimit, { limits: [{ rate }] }), String(rate));
    assert.ok(!schemaRefuses(rateLimit, { limits: [{ requests: 100, window: '10s' }, { requests: 1000, window: 3_600_000 }] }));
  });

  it('refuses, by schema: no limits, a malformed rate, a limit that mixes both kinds, an unknown key part', () => {
    assert.ok(schemaRefuses(rateLimit, { limits: [] }));
    assert.ok(schemaRefuses(rateLimit, { limits: [{ rate: '10 per second' }] }));
    assert.ok(schemaRefuses(rateLimit, { limits: [{ rate: '10/s', requests: 5, window: '1s' }] }));
    assert.ok(schemaRefuses(rateLimit, { limits: [{ rate: '10/s' }], by: 'user' }));
    assert.ok(schemaRefuses(rateLimit, { limits: [{ rate: '10/s' }], by: [] }));
    assert.ok(schemaRefuses(rateLimit, { limits: [{ rate: '10/s' }], fallbackShare: 0 }));
  });

  it('refuses two limits with one id, naming the limit (and in a group)', () => {
    assertConfigError(rateLimit, { limits: [{ rate: '10/s' }, { rate: '1000/h' }] }, 'limits[1]', /give each limit its own `id`/);
    assertConfigError(rateLimit, { limits: [{ rate: '10/s' }], groups: { gold: { limits: [{ id: 'x', requests: 1, window: '1s' }, { id: 'x', rate: '1/s' }] } } }, 'groups.gold.limits[1].id', /limit id "x"/);
  });

  it('refuses storage: redis without the root redis section', () => {
    assertConfigError(rateLimit, { limits: [{ rate: '10/s' }], storage: 'redis' }, 'storage', /no root `redis` section/);
    const withRedis = { ...scope(), redis: { url: 'redis://127.0.0.1:1', keyPrefix: 'expeditor:', timeout: '50ms', connectTimeout: '2s' } };
    // Creating the plugin opens nothing: the connection is made on the first request.
    assert.doesNotThrow(() => create(rateLimit, { limits: [{ rate: '10/s' }], storage: 'redis' }, withRedis));
  });

  it('handles the throttle phase only', () => {
    const h = create(rateLimit, { limits: [{ rate: '10/s' }] });
    assert.deepEqual(Object.keys(h), ['throttle']);
  });
});

describe('quota config', () => {
  it('refuses local storage unless allowVolatile: a quota that resets on restart must be chosen knowingly', () => {
    assert.throws(() => create(quota, { limit: 1000, period: 'day' }), (err: unknown) => {
      assert.ok(err instanceof PluginConfigError);
      assert.equal(err.path, 'storage');
      assert.match(err.message, /lost on restart.*allowVolatile: true/);
      return true;
    });
    assert.doesNotThrow(() => create(quota, { limit: 1000, period: 'day', allowVolatile: true }));
  });

  it('refuses an unknown time zone and a period other than day, week or month', () => {
    assertConfigError(quota, { limit: 1, period: 'day', allowVolatile: true, timeZone: 'Mars/Olympus' }, 'timeZone', /unknown time zone "Mars\/Olympus"/);
    assert.ok(schemaRefuses(quota, { limit: 1, period: 'year', allowVolatile: true }));
    assert.ok(schemaRefuses(quota, { limit: 0, period: 'day', allowVolatile: true }));
  });

  it('defaults: UTC, by consumer, id from the period', () => {
    const c = configure(quota, { limit: 5, period: 'month', allowVolatile: true });
    assert.equal(c.timeZone, 'UTC');
    assert.equal(c.by, 'consumer');
    assert.equal(c.id, undefined);
  });
});
