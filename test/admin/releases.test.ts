import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startGateway, type TestGateway } from '../helpers/gateway.ts';

const TOKENS = {
  reader: 'reader-token-0123456789abcdef',
  ci: 'ci-token-0123456789abcdef',
  root: 'root-token-0123456789abcdef',
  legacy: 'legacy-admin-token-0123456789',
};

interface Answer { status: number; type: string; body: Record<string, any> }

async function call(base: string, method: string, path: string, token: string | undefined, body?: unknown): Promise<Answer> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  const res = await fetch(base + path, { method, headers, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, type: res.headers.get('content-type') ?? '', body: text ? JSON.parse(text) as Record<string, any> : {} };
}

function assertProblem(a: Answer, status: number, code: string) {
  assert.equal(a.status, status, JSON.stringify(a.body));
  assert.equal(a.type, 'application/problem+json');
  assert.equal(a.body.code, code);
}

/** An API config: one mock route answering `body`. */
const apiConfig = (body: string, extra: Record<string, unknown> = {}) => ({
  routes: [{ name: 'menu', match: { path: '/menu' }, plugins: { mock: { body } } }],
  ...extra,
});

describe('admin API: deployments, stages and the audit log', () => {
  let dir: string;
  let gw: TestGateway;
  let admin: string;
  const as = (who: keyof typeof TOKENS) => (method: string, path: string, body?: unknown) => call(admin, method, path, TOKENS[who], body);
  const reader = as('reader');
  const ci = as('ci');
  const root = as('root');

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'expeditor-admin-releases-'));
    gw = await startGateway({
      store: { url: `sqlite:${join(dir, 'x.db')}` },
      admin: {
        token: TOKENS.legacy,
        tokens: [
          { name: 'reader', token: TOKENS.reader, role: 'read' },
          { name: 'ci', token: TOKENS.ci, role: 'deploy' },
          { name: 'root', token: TOKENS.root, role: 'admin' },
        ],
      },
      routes: [{ name: 'menu', match: { path: '/menu' }, plugins: { mock: {} } }],
    });
    admin = gw.adminUrl!;
  });
  after(async () => {
    await gw?.close();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it('no token or an unknown one is 401; a known token without the role is 403 forbidden', async () => {
    assertProblem(await call(admin, 'GET', '/stages', undefined), 401, 'unauthorized');
    assertProblem(await call(admin, 'GET', '/stages', 'not-a-token-0123456789'), 401, 'unauthorized');
    const denied = await reader('POST', '/stages/prod/deploy', { config: apiConfig('x'), message: 'm' });
    assertProblem(denied, 403, 'forbidden');
    assert.match(denied.body.detail, /needs a token with the "deploy" role; the token "reader" has "read"/);
    assertProblem(await reader('POST', '/stages/prod/rollback', {}), 403, 'forbidden');
    assertProblem(await reader('POST', '/cache/purge', { tag: 'menu' }), 403, 'forbidden');
    assertProblem(await ci('PUT', '/config', 'routes: []\n'), 403, 'forbidden');
    assertProblem(await ci('POST', '/upstreams/x/targets/y/drain'), 403, 'forbidden');
    assert.equal((await call(admin, 'GET', '/stages', 'not-a-token-0123456789')).status, 401);
    // Nothing was deployed by the refused requests.
    assert.deepEqual((await root('GET', '/deployments')).body, { deployments: [] });
  });

  it('each role reaches what it may: read the GETs, deploy also deploys and purges, admin everything', async () => {
    for (const who of [reader, ci, root]) {
      for (const path of ['/status', '/stages', '/deployments', '/audit']) assert.equal((await who('GET', path)).status, 200, path);
    }
    assert.equal((await ci('POST', '/cache/purge', { tag: 'menu' })).status, 200);
    const put = await call(admin, 'PUT', '/config', TOKENS.root, 'routes: [{ name: menu, match: { path: /menu }, plugins: { mock: {} } }]\n');
    assert.equal(put.status, 200, JSON.stringify(put.body));
    assert.equal((await call(admin, 'GET', '/status', TOKENS.legacy)).status, 200, 'admin.token still works');
  });

  let first = '';
  let second = '';

  it('POST /stages/:name/deploy with a config: a snapshot without the node sections, the stage and the diff', async () => {
    const a = await ci('POST', '/stages/prod/deploy', { config: apiConfig('leek', { listen: { port: 1 }, store: { url: 'sqlite:elsewhere.db' } }), message: 'first menu' });
    assert.equal(a.status, 200, JSON.stringify(a.body));
    first = a.body.deployment.id;
    assert.match(first, /^[0-9a-f]{64}$/);
    assert.equal(a.body.created, true);
    assert.equal(a.body.deployment.author, 'ci');
    assert.equal(a.body.from, null);
    assert.equal(a.body.changed, true);
    assert.equal(a.body.stage.name, 'prod');
    assert.equal(a.body.stage.version, 1);
    assert.equal(a.body.stage.deploymentId, first);
    assert.equal(a.body.stage.updatedBy, 'ci');
    assert.deepEqual(a.body.changes, [{ section: 'routes', name: 'menu', kind: 'added', fields: [] }]);

    const d = await reader('GET', `/deployments/${first.slice(0, 8)}`);
    assert.equal(d.status, 200);
    assert.deepEqual(d.body.config, apiConfig('leek'), 'listen and store are the node\'s, not the deployment\'s');
    assert.equal(d.body.message, 'first menu');

    const again = await ci('POST', '/stages/prod/deploy', { config: apiConfig('leek'), message: 'same again' });
    assert.equal(again.body.created, false);
    assert.equal(again.body.changed, false);
    assert.equal(again.body.stage.version, 1);

    const b = await ci('POST', '/stages/prod/deploy', { config: apiConfig('onion'), message: 'second menu' });
    second = b.body.deployment.id;
    assert.equal(b.body.from, first);
    assert.equal(b.body.stage.version, 2);
    assert.deepEqual(b.body.changes, [{ section: 'routes', name: 'menu', kind: 'changed', fields: [{ path: 'plugins.mock.body', before: 'leek', after: 'onion' }] }]);
  });

  it('an invalid config is refused with every error\'s path, and nothing is written', async () => {
    const before = await reader('GET', '/deployments');
    const audit = await reader('GET', '/audit');
    const bad = {
      routes: [
        { name: 'a', match: { path: '/a' }, upstream: 'nowhere' },
        { name: 'b', match: { path: '/b' }, plugins: { mock: { body: '${env:HOME}' } } },
      ],
      plugins: { corz: {} },
    };
    const a = await ci('POST', '/stages/prod/deploy', { config: bad, message: 'broken' });
    assertProblem(a, 400, 'invalid_config');
    assert.match(a.body.detail, /nothing was deployed/);
    assert.deepEqual(a.body.errors.map((e: { path: string }) => e.path), ['routes[1].plugins.mock.body']);
    const b = await ci('POST', '/stages/prod/deploy', { config: { ...bad, routes: [bad.routes[0]] }, message: 'broken' });
    assertProblem(b, 400, 'invalid_config');
    assert.deepEqual(b.body.errors, [
      { path: 'plugins.corz', message: 'unknown key "corz" (did you mean "cors"?)' },
      { path: 'routes[0].upstream', message: 'unknown upstream "nowhere"' },
    ]);
    assert.deepEqual(await reader('GET', '/deployments'), before);
    assert.deepEqual(await reader('GET', '/audit'), audit);
    assert.equal((await reader('GET', '/stages/prod')).body.deploymentId, second);
  });

  it('refuses a body it can\'t read: both or neither of config and deployment, no message, unknown fields', async () => {
    assertProblem(await ci('POST', '/stages/prod/deploy', { message: 'm' }), 400, 'bad_request');
    assertProblem(await ci('POST', '/stages/prod/deploy', { config: apiConfig('x'), deployment: first, message: 'm' }), 400, 'bad_request');
    assertProblem(await ci('POST', '/stages/prod/deploy', { deployment: first }), 400, 'bad_request');
    const unknown = await ci('POST', '/stages/prod/deploy', { deployment: first, message: 'm', force: true });
    assertProblem(unknown, 400, 'bad_request');
    assert.equal(unknown.body.errors[0].param, 'force');
    assertProblem(await ci('POST', '/stages/prod/deploy', 'not json'), 400, 'bad_request');
    assertProblem(await reader('GET', '/audit?limit=0'), 400, 'bad_request');
    assertProblem(await reader('GET', '/deployments?limit=5&colour=red'), 400, 'bad_request');
  });

  it('POST /stages/:name/deploy with a deployment id (or a 6+ character prefix) points another stage at it', async () => {
    const a = await ci('POST', '/stages/staging/deploy', { deployment: first.slice(0, 10), message: 'promote the first menu' });
    assert.equal(a.status, 200, JSON.stringify(a.body));
    assert.equal(a.body.stage.deploymentId, first);
    assert.equal(a.body.stage.version, 1);
    assertProblem(await ci('POST', '/stages/staging/deploy', { deployment: 'ffffffffff', message: 'm' }), 404, 'route_not_found');
    const stages = await reader('GET', '/stages');
    assert.deepEqual(stages.body.stages.map((s: { name: string }) => s.name), ['prod', 'staging']);
  });

  it('POST /stages/:name/rollback returns to the previous deployment, or to `to`; history lists every change', async () => {
    const back = await ci('POST', '/stages/prod/rollback', {});
    assert.equal(back.status, 200, JSON.stringify(back.body));
    assert.equal(back.body.stage.deploymentId, first);
    assert.equal(back.body.from, second);
    assert.equal(back.body.stage.version, 3);
    const to = await root('POST', '/stages/prod/rollback', { to: second.slice(0, 6), message: 'onion after all' });
    assert.equal(to.body.stage.deploymentId, second);
    assert.equal(to.body.stage.version, 4);

    const h = await reader('GET', '/stages/prod/history?limit=10');
    assert.equal(h.status, 200);
    assert.deepEqual(h.body.history.map((c: Record<string, unknown>) => [c.version, c.from, c.to, c.actor, c.message]), [
      [4, first, second, 'root', 'onion after all'],
      [3, second, first, 'ci', `rollback to ${first.slice(0, 12)}`],
      [2, first, second, 'ci', 'second menu'],
      [1, null, first, 'ci', 'first menu'],
    ]);
    assert.equal((await reader('GET', '/stages/prod/history?limit=1')).body.history.length, 1);
    assertProblem(await reader('GET', '/stages/nope/history'), 404, 'route_not_found');
    assertProblem(await reader('GET', '/stages/nope'), 404, 'route_not_found');
    assertProblem(await ci('POST', '/stages/nope/rollback', {}), 404, 'route_not_found');
    assertProblem(await ci('POST', '/stages/staging/rollback', {}), 400, 'bad_request');
  });

  it('a change at a stale expectedVersion is 409 conflict, and nothing is written', async () => {
    const stage = (await reader('GET', '/stages/prod')).body;
    const stale = await ci('POST', '/stages/prod/deploy', { deployment: first, message: 'late', expectedVersion: stage.version - 1 });
    assertProblem(stale, 409, 'conflict');
    assertProblem(await ci('POST', '/stages/prod/rollback', { expectedVersion: stage.version + 1 }), 409, 'conflict');
    assert.deepEqual((await reader('GET', '/stages/prod')).body, stage);
    const fresh = await ci('POST', '/stages/prod/deploy', { deployment: first, message: 'on time', expectedVersion: stage.version });
    assert.equal(fresh.body.stage.version, stage.version + 1);
  });

  it('GET /deployments lists summaries, newest first', async () => {
    const a = await reader('GET', '/deployments?limit=1');
    assert.equal(a.body.deployments.length, 1);
    assert.equal(a.body.deployments[0].id, second);
    assert.equal(a.body.deployments[0].config, undefined);
    assert.deepEqual((await reader('GET', '/deployments')).body.deployments.map((d: { id: string }) => d.id), [second, first]);
  });

  it('GET /audit: every change with the token\'s name as the actor, filtered and paged', async () => {
    const all = (await reader('GET', '/audit?limit=1000')).body.entries as Array<Record<string, any>>;
    const actions = all.map((e) => `${e.action} ${e.target} ${e.actor}`);
    assert.ok(actions.includes('cache.purge tag:menu ci'), actions.join('\n'));
    assert.ok(actions.includes('config.apply config root'), actions.join('\n'));
    assert.ok(actions.includes(`deployment.create ${first} ci`), actions.join('\n'));
    assert.ok(actions.includes('stage.create prod ci'), actions.join('\n'));
    const updates = (await reader('GET', '/audit?action=stage.update&target=prod')).body.entries as Array<Record<string, any>>;
    assert.deepEqual(updates.map((e) => e.actor), ['ci', 'root', 'ci', 'ci']);
    const page = await reader('GET', '/audit?limit=2');
    assert.equal(page.body.entries.length, 2);
    assert.equal(page.body.next, page.body.entries[1].id);
    const rest = await reader('GET', `/audit?limit=1000&before=${page.body.next}`);
    assert.deepEqual(rest.body.entries.map((e: { id: number }) => e.id), all.slice(2).map((e) => e.id));
  });
});

describe('admin API without a reachable state store', () => {
  let dir: string;
  let gw: TestGateway;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'expeditor-admin-nostore-'));
    await writeFile(join(dir, 'a-file'), 'not a directory');
    gw = await startGateway({ store: { url: `sqlite:${join(dir, 'a-file', 'x.db')}` }, routes: [{ name: 'm', match: { path: '/m' }, plugins: { mock: {} } }] });
  });
  after(async () => {
    await gw?.close();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it('answers the store\'s endpoints 503 store_unavailable, and the rest as usual', async () => {
    for (const [method, path, body] of [['GET', '/stages'], ['GET', '/deployments'], ['GET', '/audit'], ['POST', '/stages/prod/deploy', { config: apiConfig('x'), message: 'm' }]] as const) {
      const a = await call(gw.adminUrl!, method, path, undefined, body);
      assertProblem(a, 503, 'store_unavailable');
      assert.match(a.body.detail, /the state store can't be opened/);
    }
    assert.equal((await call(gw.adminUrl!, 'GET', '/status', undefined)).status, 200);
    // PUT /config still applies; the audit entry it could not write is logged.
    assert.equal((await call(gw.adminUrl!, 'PUT', '/config', undefined, 'routes: [{ name: n, match: { path: /n }, plugins: { mock: {} } }]\n')).status, 200);
    assert.equal((await fetch(`${gw.url}/n`)).status, 200);
  });
});
