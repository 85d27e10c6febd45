import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { simpleConfig, startGateway, startUpstream } from '../helpers/gateway.ts';

type Echo = { headers: Record<string, string | undefined> };

const consumers = {
  guest: { groups: ['visitors'] },
  partner: { id: 'p-42', groups: ['partners', 'gold'], metadata: { tier: 'gold' } },
};

async function setup(t: { after(fn: () => Promise<void>): void }, routes: Array<Record<string, unknown>>, extra: Record<string, unknown> = {}) {
  const up = await startUpstream();
  const gw = await startGateway(simpleConfig(up.url, routes, { consumers, ...extra }));
  t.after(async () => { await gw.close(); await up.close(); });
  return { up, gw };
}

const SPOOFED = {
  'x-consumer-id': 'admin', 'X-Consumer-Username': 'admin', 'x-consumer-groups': 'admins',
  'x-authenticated-scopes': 'everything', 'x-authenticated-subject': 'root', 'x-consumer-anonymous': 'false',
};

describe('identity headers upstream', () => {
  it('strips client copies of the identity headers on a route without authentication', async (t) => {
    const { gw } = await setup(t, [{ name: 'open', match: { path: '/*' } }]);
    const body = await (await fetch(`${gw.url}/x`, { headers: SPOOFED })).json() as Echo;
    for (const name of Object.keys(SPOOFED)) assert.equal(body.headers[name.toLowerCase()], undefined, name);
  });

  it('strips client copies of renamed identity headers too, and sends the gateway\'s under the new names', async (t) => {
    const { gw } = await setup(t, [{ name: 'anon', match: { path: '/*' }, auth: { anonymous: 'partner' } }], {
      auth: { upstreamHeaders: { consumerId: 'X-Tenant-Id', consumerUsername: 'X-Tenant' } },
    });
    const body = await (await fetch(`${gw.url}/x`, { headers: { 'x-tenant-id': 'evil', 'x-tenant': 'evil', ...SPOOFED } })).json() as Echo;
    assert.equal(body.headers['x-tenant-id'], 'p-42');
    assert.equal(body.headers['x-tenant'], 'partner');
    assert.equal(body.headers['x-consumer-id'], undefined);
    assert.equal(body.headers['x-consumer-groups'], 'partners,gold');
    assert.equal(body.headers['x-authenticated-scopes'], undefined);
  });

  it('sends the anonymous consumer with X-Consumer-Anonymous: true, replacing spoofed values', async (t) => {
    const { gw } = await setup(t, [{ name: 'anon', match: { path: '/*' }, auth: { anonymous: 'guest' } }]);
    const body = await (await fetch(`${gw.url}/x`, { headers: SPOOFED })).json() as Echo;
    assert.equal(body.headers['x-consumer-id'], 'guest');
    assert.equal(body.headers['x-consumer-username'], 'guest');
    assert.equal(body.headers['x-consumer-groups'], 'visitors');
    assert.equal(body.headers['x-consumer-anonymous'], 'true');
    assert.equal(body.headers['x-authenticated-scopes'], undefined);
    assert.equal(body.headers['x-authenticated-subject'], undefined);
  });
});

describe('acl', () => {
  it('answers 401 (not 403) on a route that authenticates nobody', async (t) => {
    const { up, gw } = await setup(t, [{ name: 'r', match: { path: '/*' }, plugins: { acl: { allowGroups: ['gold'] } } }]);
    const res = await fetch(`${gw.url}/x`);
    assert.equal(res.status, 401);
    assert.equal((await res.json() as { code: string }).code, 'unauthorized');
    assert.equal(up.requests.length, 0);
  });

  it('answers 403 forbidden to a known consumer outside the allowed groups, before the upstream', async (t) => {
    const { up, gw } = await setup(t, [
      { name: 'gold', match: { path: '/gold' }, auth: { anonymous: 'guest' }, plugins: { acl: { allowGroups: ['gold'] } } },
      { name: 'partner', match: { path: '/partner' }, auth: { anonymous: 'partner' }, plugins: { acl: { allowGroups: ['gold'] } } },
      { name: 'denied', match: { path: '/denied' }, auth: { anonymous: 'partner' }, plugins: { acl: { denyGroups: ['partners'] } } },
      { name: 'byname', match: { path: '/byname' }, auth: { anonymous: 'partner' }, plugins: { acl: { allowConsumers: ['guest'] } } },
    ]);
    const refused = await fetch(`${gw.url}/gold`);
    assert.equal(refused.status, 403);
    assert.equal(refused.headers.get('content-type'), 'application/problem+json');
    assert.equal((await refused.json() as { code: string }).code, 'forbidden');
    assert.equal((await fetch(`${gw.url}/partner`)).status, 200);
    assert.equal((await fetch(`${gw.url}/denied`)).status, 403);
    assert.equal((await fetch(`${gw.url}/byname`)).status, 403);
    assert.equal(up.requests.length, 1);
  });

  it('answers 403 with error="insufficient_scope" when the identity lacks a required scope', async (t) => {
    const { gw } = await setup(t, [{ name: 'r', match: { path: '/*' }, auth: { anonymous: 'partner' }, plugins: { acl: { scopes: ['orders:write'] } } }]);
    const res = await fetch(`${gw.url}/x`);
    assert.equal(res.status, 403);
    assert.equal(res.headers.get('www-authenticate'), 'Bearer realm="expeditor", error="insufficient_scope", scope="orders:write"');
  });

  it('refuses a config whose acl names an unknown consumer, with the path of the field', async () => {
    await assert.rejects(startGateway(simpleConfig('http://127.0.0.1:1', [
      { name: 'r', match: { path: '/*' }, plugins: { acl: { allowConsumers: ['nobody'] } } },
    ], { consumers })), /routes\[0\]\.plugins\.acl\.allowConsumers\[0\]: unknown consumer "nobody"/);
  });
});

describe('consumer-scoped plugins', () => {
  const routes = [
    { name: 'a', match: { path: '/a' }, auth: { anonymous: 'partner' } },
    {
      name: 'b', match: { path: '/b' }, auth: { anonymous: 'partner' },
      plugins: { headers: { response: { set: { 'x-plan': 'route' } } } },
      consumerPlugins: { partner: { headers: { response: { set: { 'x-plan': 'route+consumer' } } } } },
    },
    { name: 'c', match: { path: '/c' }, auth: { anonymous: 'guest' }, plugins: { headers: { response: { set: { 'x-plan': 'route' } } } } },
  ];

  it('applies the most specific scope: route+consumer > consumer > route > global', async (t) => {
    const { gw } = await setup(t, routes, {
      plugins: { headers: { response: { set: { 'x-plan': 'global' } } } },
      consumers: { ...consumers, partner: { ...consumers.partner, plugins: { headers: { response: { set: { 'x-plan': 'consumer' } } } } } },
    });
    // Response edits run after the consumer is known; request edits (rewrite phase) run before it is.
    const plan = async (path: string) => (await fetch(`${gw.url}${path}`)).headers.get('x-plan');
    assert.equal(await plan('/a'), 'consumer');
    assert.equal(await plan('/b'), 'route+consumer');
    assert.equal(await plan('/c'), 'route');
  });

  it('refuses an authentication plugin in a consumer scope, naming the path', async () => {
    await assert.rejects(startGateway(simpleConfig('http://127.0.0.1:1', [{ name: 'r', match: { path: '/*' } }], {
      consumers: { partner: { plugins: { 'key-auth': {} } } },
    })), /consumers\.partner\.plugins\.key-auth: "key-auth" authenticates/);
  });

  it('refuses route references to unknown consumers', async () => {
    await assert.rejects(startGateway(simpleConfig('http://127.0.0.1:1', [
      { name: 'r', match: { path: '/*' }, auth: { anonymous: 'ghost' }, consumerPlugins: { phantom: {} } },
    ], { consumers })), (err: Error) => {
      assert.match(err.message, /routes\[0\]\.auth\.anonymous: unknown consumer "ghost"/);
      assert.match(err.message, /routes\[0\]\.consumerPlugins\.phantom: unknown consumer "phantom"/);
      return true;
    });
  });
});
