import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startGateway, startUpstream, simpleConfig, type TestGateway, type TestUpstream } from '../helpers/gateway.ts';
import { ConfigError } from '../../src/config/errors.ts';

const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
const TOKEN = 'test-admin-token-0123456789';

interface Answer {
  status: number;
  type: string;
  headers: Headers;
  body: Record<string, unknown>;
}

/** One admin request; the body is sent as given (YAML or JSON text). */
async function call(base: string, method: string, path: string, options: { body?: string; type?: string; token?: string; auth?: string } = {}): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (options.type) headers['content-type'] = options.type;
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.auth) headers.authorization = options.auth;
  const res = await fetch(base + path, { method, headers, body: options.body });
  const text = await res.text();
  return { status: res.status, type: res.headers.get('content-type') ?? '', headers: res.headers, body: text ? JSON.parse(text) as Record<string, unknown> : {} };
}

function assertProblem(a: Answer, status: number, code: string) {
  assert.equal(a.status, status, JSON.stringify(a.body));
  assert.equal(a.type, 'application/problem+json');
  assert.equal(a.body.code, code);
  assert.equal(a.body.status, status);
  assert.equal(a.body.type, `https://expeditor.dev/errors/${code}`);
  assert.equal(typeof a.body.title, 'string');
  assert.match(String(a.body.requestId), /^[0-9a-f-]{36}$/);
}

/** A config body for the running test gateway: keeps its listen/admin sections so nothing static changes. */
function yamlConfig(upstreamUrl: string, routes: string): string {
  return `listen: { port: 0, host: 127.0.0.1 }
admin: { port: 0, host: 127.0.0.1 }
upstreams:
  kitchen:
    targets: [{ url: "${upstreamUrl}" }]
routes:
${routes}`;
}

const INVALID_YAML = `upstreams:
  kitchen:
    targets: [{ url: "http://127.0.0.1:1" }]
routes:
  - name: orders
    match: { path: /orders/* }
    upstream: orders
  - name: orders
    match: { path: /menu, methods: [get] }
    upstream: kitchen
    preserveHost: maybe
plugins:
  corz: {}
`;

const INVALID_ERRORS = [
  { path: 'routes[1].match.methods[0]', message: 'must be an HTTP method in upper case, such as "GET"', line: 9 },
  { path: 'routes[1].preserveHost', message: 'must be true or false, not "maybe"', line: 11 },
  { path: 'plugins.corz', message: 'unknown key "corz" (did you mean "cors"?)', line: 13 },
  { path: 'routes[0].upstream', message: 'unknown upstream "orders"', line: 7 },
  { path: 'routes[1].name', message: 'duplicate route name "orders" (also routes[0])', line: 8 },
];

describe('admin API', () => {
  let up: TestUpstream;
  let gw: TestGateway;
  let admin: string;

  before(async () => {
    up = await startUpstream();
    gw = await startGateway(simpleConfig(up.url, [
      { name: 'orders', match: { path: '/orders/*', methods: ['GET'] }, plugins: { 'request-id': {} } },
    ]));
    admin = gw.adminUrl!;
  });
  after(async () => {
    await gw?.close();
    await up?.close();
  });

  it('GET /status: version, uptime, config hash and counts', async () => {
    const a = await call(admin, 'GET', '/status');
    assert.equal(a.status, 200);
    assert.equal(a.type, 'application/json');
    assert.equal(a.headers.get('cache-control'), 'no-store');
    assert.equal(a.body.version, VERSION);
    assert.equal(typeof a.body.uptimeSeconds, 'number');
    assert.ok((a.body.uptimeSeconds as number) >= 0);
    assert.ok(!Number.isNaN(Date.parse(String(a.body.startedAt))));
    assert.ok(!Number.isNaN(Date.parse(String(a.body.configLoadedAt))));
    assert.match(String(a.body.configHash), /^[0-9a-f]{16}$/);
    assert.equal(a.body.configHash, gw.gateway.runtime.hash);
    assert.deepEqual(a.body.counts, { routes: 1, upstreams: 1, targets: 1 });
  });

  it('GET /routes: each route with its match, upstream and plugin chain', async () => {
    const a = await call(admin, 'GET', '/routes');
    assert.equal(a.status, 200);
    assert.deepEqual(a.body, {
      routes: [{ name: 'orders', match: { path: '/orders/*', methods: ['GET'] }, priority: 0, upstream: 'up', plugins: ['request-id'] }],
    });
  });

  it('GET /schema: the config JSON Schema', async () => {
    const a = await call(admin, 'GET', '/schema');
    assert.equal(a.status, 200);
    assert.equal(a.body.$schema, 'http://json-schema.org/draft-07/schema#');
    assert.deepEqual(a.body, JSON.parse(readFileSync(new URL('../../schema/expeditor.schema.json', import.meta.url), 'utf8')));
  });

  describe('POST /config/validate', () => {
    it('a valid YAML config: valid, with counts; nothing is applied', async () => {
      const hash = gw.gateway.runtime.hash;
      const a = await call(admin, 'POST', '/config/validate', { type: 'application/yaml', body: yamlConfig(up.url, '  - { name: menu, match: { path: /menu }, upstream: kitchen }\n') });
      assert.equal(a.status, 200);
      assert.deepEqual(a.body, { valid: true, routes: 1, upstreams: 1 });
      assert.equal(gw.gateway.runtime.hash, hash);
    });

    it('a valid JSON config', async () => {
      const body = JSON.stringify({ routes: [{ name: 'menu', match: { path: '/menu' }, plugins: { mock: { body: 'soup' } } }] });
      const a = await call(admin, 'POST', '/config/validate', { type: 'application/json', body });
      assert.deepEqual(a.body, { valid: true, routes: 1, upstreams: 0 });
    });

    it('an invalid config: 400 problem+json with every error, its path and line', async () => {
      const a = await call(admin, 'POST', '/config/validate', { type: 'application/yaml', body: INVALID_YAML });
      assertProblem(a, 400, 'invalid_config');
      assert.equal(a.body.detail, 'invalid config (5 errors); the running config keeps serving');
      assert.deepEqual(a.body.errors, INVALID_ERRORS);
    });

    it('runs the same checks as PUT /config, plugins\' own included', async () => {
      const body = 'routes:\n  - name: a\n    match: { path: /a }\n    plugins:\n      mock: {}\n      cors: { origins: ["https://shop.example.com/"] }\n';
      const a = await call(admin, 'POST', '/config/validate', { body });
      assertProblem(a, 400, 'invalid_config');
      const errors = a.body.errors as Array<{ path: string; line?: number }>;
      assert.deepEqual(errors.map((e) => [e.path, e.line]), [['routes[0].plugins.cors.origins[0]', 6]]);
    });

    it('YAML syntax errors and an empty body are config errors too', async () => {
      const dup = await call(admin, 'POST', '/config/validate', { body: 'routes: []\nroutes: []\n' });
      assertProblem(dup, 400, 'invalid_config');
      assert.deepEqual(dup.body.errors, [{ path: 'routes', message: 'duplicate key "routes"', line: 2 }]);
      const empty = await call(admin, 'POST', '/config/validate');
      assertProblem(empty, 400, 'invalid_config');
      assert.deepEqual(empty.body.errors, [{ path: '', message: 'request body is empty: send the config as YAML or JSON' }]);
    });

    it('does not expand ${env:…}: the gateway\'s environment is not the client\'s to read', async () => {
      const a = await call(admin, 'POST', '/config/validate', { body: 'routes:\n  - name: a\n    match: { path: /a }\n    plugins: { mock: { body: "${env:HOME}" } }\n' });
      assertProblem(a, 400, 'invalid_config');
      assert.deepEqual((a.body.errors as Array<{ path: string }>).map((e) => e.path), ['routes[0].plugins.mock.body']);
    });

    it('refuses a non-loopback admin listener without a token', async () => {
      const a = await call(admin, 'POST', '/config/validate', { body: 'admin: { host: 0.0.0.0 }\nroutes: []\n' });
      assertProblem(a, 400, 'invalid_config');
      assert.deepEqual(a.body.errors, [{ path: 'admin.token', message: 'is required when the admin API listens on a non-loopback address ("0.0.0.0")', line: 1 }]);
    });
  });

  describe('PUT /config', () => {
    it('an invalid config: 400 with every error; the running config is untouched and keeps serving', async () => {
      const before = gw.gateway.runtime;
      const a = await call(admin, 'PUT', '/config', { type: 'application/yaml', body: INVALID_YAML });
      assertProblem(a, 400, 'invalid_config');
      assert.deepEqual(a.body.errors, INVALID_ERRORS);
      assert.equal(gw.gateway.runtime, before);
      const status = await call(admin, 'GET', '/status');
      assert.equal(status.body.configHash, before.hash);
      assert.equal(status.body.reloads, 0);
      const res = await fetch(`${gw.url}/orders/1`);
      assert.equal(res.status, 200);
      assert.equal(((await res.json()) as { url: string }).url, '/orders/1');
    });

    it('a plugin refusing its config is refused the same way', async () => {
      const before = gw.gateway.runtime;
      const body = yamlConfig(up.url, '  - name: a\n    match: { path: /a }\n    upstream: kitchen\n    plugins: { cors: { origins: ["https://shop.example.com/"] } }\n');
      const a = await call(admin, 'PUT', '/config', { body });
      assertProblem(a, 400, 'invalid_config');
      assert.deepEqual((a.body.errors as Array<{ path: string; line?: number }>).map((e) => [e.path, e.line]), [['routes[0].plugins.cors.origins[0]', 10]]);
      assert.equal(gw.gateway.runtime, before);
    });

    it('a valid YAML config is swapped in: the new route answers through the proxy, the old one is gone', async () => {
      const before = await call(admin, 'GET', '/status');
      const body = yamlConfig(up.url, [
        '  - name: menu',
        '    match: { path: /menu/* }',
        '    upstream: kitchen',
        '    rewrite: { stripPrefix: /menu }',
        '',
      ].join('\n'));
      const a = await call(admin, 'PUT', '/config', { type: 'application/yaml', body });
      assert.equal(a.status, 200, JSON.stringify(a.body));
      assert.equal(a.body.applied, true);
      assert.equal(a.body.routes, 1);
      assert.equal(a.body.upstreams, 1);
      assert.deepEqual(a.body.restartRequired, []);
      assert.notEqual(a.body.configHash, before.body.configHash);

      const res = await fetch(`${gw.url}/menu/soup`);
      assert.equal(res.status, 200);
      assert.equal(((await res.json()) as { url: string }).url, '/soup');
      const gone = await fetch(`${gw.url}/orders/1`);
      assert.equal(gone.status, 404);
      assert.equal(((await gone.json()) as { code: string }).code, 'route_not_found');

      const after = await call(admin, 'GET', '/status');
      assert.equal(after.body.configHash, a.body.configHash);
      assert.equal(after.body.reloads, (before.body.reloads as number) + 1);
      const routes = await call(admin, 'GET', '/routes');
      assert.deepEqual((routes.body.routes as Array<{ name: string }>).map((r) => r.name), ['menu']);
    });

    it('a valid JSON config is accepted too', async () => {
      const body = JSON.stringify({ routes: [{ name: 'json', match: { path: '/json' }, plugins: { mock: { body: { from: 'json' } } } }] });
      const a = await call(admin, 'PUT', '/config', { type: 'application/json', body });
      assert.equal(a.status, 200, JSON.stringify(a.body));
      const res = await fetch(`${gw.url}/json`);
      assert.deepEqual(await res.json(), { from: 'json' });
    });

    it('says which static sections (listen, admin) wait for a restart', async () => {
      const body = 'listen: { port: 0, host: 127.0.0.1 }\nadmin: { port: 0, host: 127.0.0.1, token: a-brand-new-admin-token }\nroutes: [{ name: m, match: { path: /m }, plugins: { mock: {} } }]\n';
      const a = await call(admin, 'PUT', '/config', { body });
      assert.equal(a.status, 200, JSON.stringify(a.body));
      assert.deepEqual(a.body.restartRequired, ['admin']);
      // The running admin listener has no token, and still has none.
      assert.equal((await call(admin, 'GET', '/status')).status, 200);
    });
  });

  describe('endpoints', () => {
    it('an unknown path: 404 problem+json listing the endpoints', async () => {
      const a = await call(admin, 'GET', '/nope');
      assertProblem(a, 404, 'route_not_found');
      assert.deepEqual(a.body.endpoints, [
        'GET /status', 'GET /routes', 'GET /schema', 'GET /consumers', 'GET /consumers/:name', 'GET /consumers/:name/usage', 'GET /plans',
        'GET /health/live', 'GET /health/ready',
        'GET /metrics', 'GET /analytics', 'GET /functions', 'GET /functions/:name', 'GET /cache', 'POST /cache/purge', 'GET /upstreams', 'GET /upstreams/:name',
        'POST /upstreams/:name/targets/:id/drain', 'DELETE /upstreams/:name/targets/:id/drain', 'POST /config/validate', 'PUT /config',
        'GET /deployments', 'GET /deployments/:id', 'GET /stages', 'GET /stages/:name', 'GET /stages/:name/history',
        'POST /stages/:name/deploy', 'POST /stages/:name/rollback', 'GET /audit',
      ]);
      assert.match(String(a.body.detail), /GET \/status, GET \/routes/);
    });

    it('a known path with the wrong method: 405 with Allow', async () => {
      const a = await call(admin, 'DELETE', '/config');
      assertProblem(a, 405, 'method_not_allowed');
      assert.equal(a.headers.get('allow'), 'PUT');
    });

    it('a body over the limit: 413', async () => {
      const a = await call(admin, 'PUT', '/config', { body: `# ${'x'.repeat(5 * 1024 * 1024)}\n` });
      assertProblem(a, 413, 'payload_too_large');
    });

    it('are not served on the proxy port', async () => {
      for (const path of ['/status', '/routes', '/schema', '/config', '/config/validate']) {
        const res = await fetch(`${gw.url}${path}`);
        assert.equal(res.status, 404, path);
        const body = await res.json() as Record<string, unknown>;
        assert.equal(body.code, 'route_not_found', path);
        assert.equal(body.configHash, undefined);
      }
      const put = await fetch(`${gw.url}/config`, { method: 'PUT', body: 'routes: []\n' });
      assert.equal(put.status, 404);
      await put.arrayBuffer();
    });
  });
});

describe('admin API with a token', () => {
  let gw: TestGateway;
  let admin: string;
  before(async () => {
    gw = await startGateway({ admin: { token: TOKEN }, routes: [{ name: 'menu', match: { path: '/menu' }, plugins: { mock: {} } }] });
    admin = gw.adminUrl!;
  });
  after(() => gw?.close());

  const requests: Array<[string, string, string?]> = [
    ['GET', '/status'], ['GET', '/routes'], ['GET', '/schema'], ['GET', '/metrics'], ['GET', '/nope'],
    ['POST', '/config/validate', 'routes: []\n'], ['PUT', '/config', 'routes: []\n'],
  ];

  it('every endpoint answers 401 problem+json without the token, and says how to authenticate', async () => {
    for (const [method, path, body] of requests) {
      const a = await call(admin, method, path, { body });
      assertProblem(a, 401, 'unauthorized');
      assert.equal(a.headers.get('www-authenticate'), 'Bearer realm="expeditor-admin"', `${method} ${path}`);
      assert.equal(a.body.endpoints, undefined);
    }
  });

  it('a wrong token, or the right one in the wrong scheme, is refused the same way', async () => {
    for (const auth of [`Bearer ${TOKEN}x`, 'Bearer short', `Basic ${Buffer.from(`admin:${TOKEN}`).toString('base64')}`, `Bearer`, `${TOKEN}`]) {
      for (const [method, path, body] of requests) {
        const a = await call(admin, method, path, { body, auth });
        assertProblem(a, 401, 'unauthorized');
        assert.match(a.headers.get('www-authenticate') ?? '', /error="invalid_token"/);
      }
    }
  });

  it('the right token opens every endpoint, and the config stays in force when a PUT is refused', async () => {
    assert.equal((await call(admin, 'GET', '/status', { token: TOKEN })).status, 200);
    assert.equal((await call(admin, 'GET', '/routes', { token: TOKEN })).status, 200);
    assert.equal((await call(admin, 'GET', '/schema', { token: TOKEN })).status, 200);
    assert.equal((await call(admin, 'GET', '/nope', { token: TOKEN })).status, 404);
    assert.equal((await call(admin, 'POST', '/config/validate', { token: TOKEN, body: 'routes: []\n' })).status, 200);
    assert.equal((await call(admin, 'GET', '/status', { auth: `bearer   ${TOKEN}` })).status, 200);
    const bad = await call(admin, 'PUT', '/config', { token: TOKEN, body: 'routes: [{ name: x }]\n' });
    assertProblem(bad, 400, 'invalid_config');
    assert.equal((await fetch(`${gw.url}/menu`)).status, 200);
    const ok = await call(admin, 'PUT', '/config', { token: TOKEN, body: 'routes: [{ name: soup, match: { path: /soup }, plugins: { mock: {} } }]\n' });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.equal((await fetch(`${gw.url}/soup`)).status, 200);
  });
});

describe('admin listener address', () => {
  it('a non-loopback admin host without a token is refused at validation: nothing starts', async () => {
    await assert.rejects(startGateway({ admin: { host: '0.0.0.0' }, routes: [] }), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.deepEqual(err.issues, [{ path: 'admin.token', message: 'is required when the admin API listens on a non-loopback address ("0.0.0.0")' }]);
      return true;
    });
  });

  it('admin.enabled: false serves no admin API at all', async () => {
    const gw = await startGateway({ admin: { enabled: false }, routes: [{ name: 'm', match: { path: '/m' }, plugins: { mock: {} } }] });
    try {
      assert.equal(gw.adminUrl, undefined);
      assert.equal((await fetch(`${gw.url}/status`)).status, 404);
    } finally {
      await gw.close();
    }
  });
});
