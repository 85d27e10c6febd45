import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { diffConfigs, fieldChanges, formatDiff } from '../../src/deploy/diff.ts';

const base = {
  upstreams: { kitchen: { targets: [{ url: 'http://a:1', weight: 1 }] } },
  routes: [
    { name: 'menu', match: { path: '/menu' }, upstream: 'kitchen' },
    { name: 'orders', match: { path: '/orders/:id', methods: ['GET'] }, upstream: 'kitchen', plugins: { cache: { defaultTtl: '1m' } } },
  ],
  metrics: { enabled: true },
};

describe('config diff', () => {
  it('is empty for the same config, whatever the key order', () => {
    const reordered = { metrics: { enabled: true }, routes: base.routes, upstreams: base.upstreams };
    assert.deepEqual(diffConfigs(base, reordered), []);
    assert.equal(formatDiff([]), 'no changes\n');
  });

  it('names routes by name and changed fields by path, route by route', () => {
    const next = structuredClone(base);
    next.routes.reverse();
    next.routes[0]!.plugins!.cache.defaultTtl = '5m';
    (next.routes[0]!.match as { methods: string[] }).methods.push('PUT');
    next.routes.push({ name: 'bar', match: { path: '/bar' }, upstream: 'kitchen' } as never);
    next.upstreams.kitchen.targets[0]!.weight = 3;
    const changes = diffConfigs(base, next);
    assert.deepEqual(changes, [
      { section: 'routes', name: 'bar', kind: 'added', fields: [] },
      { section: 'routes', name: 'orders', kind: 'changed', fields: [
        { path: 'match.methods[1]', after: 'PUT' },
        { path: 'plugins.cache.defaultTtl', before: '1m', after: '5m' },
      ] },
      { section: 'upstreams', name: 'kitchen', kind: 'changed', fields: [{ path: 'targets[0].weight', before: 1, after: 3 }] },
    ]);
    assert.equal(formatDiff(changes), [
      '+ routes bar',
      '~ routes orders',
      '    match.methods[1]: (none) → "PUT"',
      '    plugins.cache.defaultTtl: "1m" → "5m"',
      '~ upstreams kitchen',
      '    targets[0].weight: 1 → 3',
      '',
    ].join('\n'));
  });

  it('reports removed entities and whole sections, and everything as added against nothing deployed', () => {
    const next = { routes: [base.routes[0]!], upstreams: base.upstreams };
    assert.deepEqual(diffConfigs(base, next).map((c) => [c.kind, c.section, c.name]), [
      ['removed', 'metrics', ''],
      ['removed', 'routes', 'orders'],
    ]);
    assert.deepEqual(diffConfigs(undefined, base).map((c) => [c.kind, c.section, c.name]), [
      ['added', 'metrics', ''], ['added', 'routes', 'menu'], ['added', 'routes', 'orders'], ['added', 'upstreams', 'kitchen'],
    ]);
  });

  it('quotes keys that are not identifiers, and compares leaves by value', () => {
    assert.deepEqual(fieldChanges({ 'x.y': 1, a: [1, { b: 2 }] }, { 'x.y': 2, a: [1, { b: 2 }] }), [{ path: '"x.y"', before: 1, after: 2 }]);
    assert.deepEqual(fieldChanges({ a: 1 }, { a: '1' }), [{ path: 'a', before: 1, after: '1' }]);
  });
});
