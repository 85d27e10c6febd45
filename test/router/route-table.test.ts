import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { RouteTable, normalizeHost, type TableRoute, type MatchInput } from '../../src/router/route-table.ts';
import type { CompiledRoute } from '../../src/core/route.ts';

type Spec = Partial<Omit<TableRoute, 'route' | 'index'>> & { name: string; paths: string[] };

function table(specs: Spec[]): RouteTable {
  return new RouteTable(specs.map((s, index) => ({
    route: { name: s.name } as CompiledRoute,
    paths: s.paths,
    hosts: s.hosts ?? [],
    methods: s.methods,
    headers: s.headers ?? [],
    query: s.query ?? [],
    priority: s.priority ?? 0,
    index,
  })));
}

function match(t: RouteTable, path: string, input: Partial<MatchInput> = {}) {
  const r = t.lookup(path, { method: 'GET', host: 'example.com', headers: {}, query: '', ...input });
  return r.kind === 'route' ? { name: r.route.name, params: { ...r.params } } : r;
}

describe('path precedence', () => {
  const t = table([
    { name: 'wild', paths: ['/users/*'] },
    { name: 'param', paths: ['/users/:id'] },
    { name: 'static', paths: ['/users/me'] },
    { name: 'deep-param', paths: ['/users/:id/orders'] },
    { name: 'root-wild', paths: ['/*'] },
  ]);
  test('static beats param beats wildcard', () => {
    assert.equal((match(t, '/users/me') as { name: string }).name, 'static');
    assert.deepEqual(match(t, '/users/42'), { name: 'param', params: { id: '42' } });
    assert.deepEqual(match(t, '/users/42/x/y'), { name: 'wild', params: { '*': '42/x/y' } });
  });
  test('longer beats shorter', () => {
    assert.deepEqual(match(t, '/users/42/orders'), { name: 'deep-param', params: { id: '42' } });
    assert.equal((match(t, '/other') as { name: string }).name, 'root-wild');
  });
  test('static prefix does not match a longer segment', () => {
    const t2 = table([{ name: 'a', paths: ['/admin'] }]);
    assert.deepEqual(match(t2, '/administrator'), { kind: 'none' });
    assert.deepEqual(match(t2, '/admin/'), { kind: 'none' });
  });
});

describe('hosts', () => {
  const t = table([
    { name: 'any', paths: ['/x/*'] },
    { name: 'wild', paths: ['/x/*'], hosts: ['*.example.com'] },
    { name: 'deeper-wild', paths: ['/x/*'], hosts: ['*.eu.example.com'] },
    { name: 'exact', paths: ['/x/*'], hosts: ['api.example.com'] },
    { name: 'exact-static', paths: ['/x/y'], hosts: ['api.example.com'] },
  ]);
  test('exact host beats wildcard host beats any host', () => {
    assert.equal((match(t, '/x/z', { host: 'api.example.com' }) as { name: string }).name, 'exact');
    assert.equal((match(t, '/x/z', { host: 'www.example.com' }) as { name: string }).name, 'wild');
    assert.equal((match(t, '/x/z', { host: 'a.eu.example.com' }) as { name: string }).name, 'deeper-wild');
    assert.equal((match(t, '/x/z', { host: 'other.org' }) as { name: string }).name, 'any');
  });
  test('wildcard needs at least one label: the bare domain is not matched', () => {
    assert.equal((match(t, '/x/z', { host: 'example.com' }) as { name: string }).name, 'any');
  });
  test('a host tier with no matching path falls through to the next tier', () => {
    const t2 = table([{ name: 'exact', paths: ['/only'], hosts: ['api.example.com'] }, { name: 'any', paths: ['/*'] }]);
    assert.equal((match(t2, '/else', { host: 'api.example.com' }) as { name: string }).name, 'any');
  });
  test('host normalisation: case, port, trailing dot, IPv6', () => {
    assert.equal(normalizeHost('API.Example.COM:8080'), 'api.example.com');
    assert.equal(normalizeHost('api.example.com.'), 'api.example.com');
    assert.equal(normalizeHost('[::1]:8080'), '[::1]');
    assert.equal(normalizeHost(undefined), '');
  });
});

describe('methods, headers and query', () => {
  const t = table([
    { name: 'read', paths: ['/items/:id'], methods: ['GET'] },
    { name: 'write', paths: ['/items/:id'], methods: ['PUT', 'DELETE'] },
    { name: 'v2', paths: ['/items/:id'], methods: ['GET'], headers: [['x-version', (v) => v === '2']] },
    { name: 'debug', paths: ['/items/:id'], methods: ['GET'], query: [['debug', (v) => v !== undefined]] },
    { name: 'fallback', paths: ['/items/*'], methods: ['POST'] },
  ]);
  test('method selects among routes on one path', () => {
    assert.equal((match(t, '/items/1') as { name: string }).name, 'read');
    assert.equal((match(t, '/items/1', { method: 'DELETE' }) as { name: string }).name, 'write');
  });
  test('HEAD is served by a GET route', () => {
    assert.equal((match(t, '/items/1', { method: 'HEAD' }) as { name: string }).name, 'read');
  });
  test('a route with more conditions wins when they hold', () => {
    assert.equal((match(t, '/items/1', { headers: { 'x-version': '2' } }) as { name: string }).name, 'v2');
    assert.equal((match(t, '/items/1', { headers: { 'x-version': '3' } }) as { name: string }).name, 'read');
    assert.equal((match(t, '/items/1', { query: 'debug=1' }) as { name: string }).name, 'debug');
  });
  test('when the method fails on the specific path, a less specific path is tried', () => {
    assert.equal((match(t, '/items/1', { method: 'POST' }) as { name: string }).name, 'fallback');
  });
  test('405 lists the methods the path allows', () => {
    const r = match(t, '/items/1', { method: 'PATCH' }) as { kind: string; allow: string[] };
    assert.equal(r.kind, 'method');
    assert.deepEqual([...r.allow].sort(), ['DELETE', 'GET', 'HEAD', 'POST', 'PUT']);
  });
});

describe('priority', () => {
  test('an explicit priority overrides path specificity', () => {
    const t = table([
      { name: 'specific', paths: ['/api/users'] },
      { name: 'catch-all', paths: ['/api/*'], priority: 10 },
    ]);
    assert.equal((match(t, '/api/users') as { name: string }).name, 'catch-all');
  });
  test('among routes with equal conditions the first in the file wins', () => {
    const t = table([{ name: 'first', paths: ['/same'], methods: ['GET'] }, { name: 'second', paths: ['/same'], methods: ['GET'] }]);
    assert.equal((match(t, '/same') as { name: string }).name, 'first');
  });
  test('two routes no request can tell apart are refused, naming the second', () => {
    assert.throws(() => table([{ name: 'a', paths: ['/same'] }, { name: 'b', paths: ['/same'] }]), (err: Error & { index?: number; other?: number }) => err.index === 1 && err.other === 0);
  });
});

describe('encoded characters', () => {
  const t = table([{ name: 'admin', paths: ['/admin'] }, { name: 'files', paths: ['/files/:name'] }, { name: 'public', paths: ['/public/*'] }]);
  test('an encoded slash is not a separator and parameters stay encoded', () => {
    assert.deepEqual(match(t, '/files/a%2Fb'), { name: 'files', params: { name: 'a%2Fb' } });
    assert.deepEqual(match(t, '/public/..%2Fadmin'), { name: 'public', params: { '*': '..%2Fadmin' } });
  });
});

test('10,000 routes: lookup cost does not grow with the number of routes', () => {
  const few = table(Array.from({ length: 10 }, (_, i) => ({ name: `r${i}`, paths: [`/svc${i}/items/:id`] })));
  const many = table(Array.from({ length: 10_000 }, (_, i) => ({ name: `r${i}`, paths: [`/svc${i}/items/:id`] })));
  const time = (t: RouteTable, path: string) => {
    for (let i = 0; i < 20_000; i++) t.lookup(path, { method: 'GET', host: 'h', headers: {}, query: '' });
    const start = process.hrtime.bigint();
    for (let i = 0; i < 100_000; i++) t.lookup(path, { method: 'GET', host: 'h', headers: {}, query: '' });
    return Number(process.hrtime.bigint() - start) / 100_000;
  };
  assert.equal((match(many, '/svc9999/items/7') as { name: string }).name, 'r9999');
  const nsFew = time(few, '/svc5/items/7');
  const nsMany = time(many, '/svc5005/items/7');
  // A linear scan would be ~1000x slower; allow generous noise for a shared machine.
  assert.ok(nsMany < nsFew * 5 + 500, `10,000 routes: ${nsMany.toFixed(0)} ns/lookup vs 10 routes: ${nsFew.toFixed(0)} ns`);
});
