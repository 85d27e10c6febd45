import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import { runCli, tempDir } from './run.ts';
import { spawnGateway } from '../helpers/process.ts';
import { generateApiKey, hashApiKey } from '../../src/identity/api-keys.ts';

const CONFIG = `# Expeditor: plans
listen: { port: 0, host: 127.0.0.1 }
admin: { port: 0, host: 127.0.0.1 }
plans:
  gold:   # the paying tier
    throttle: { rate: 10/s, burst: 20 }
    quota: { limit: 10000, period: month, timeZone: Europe/Paris }
    allowVolatile: true
  free:
    throttle: { rate: 1/s }
    routes: [menu]
routes:
  - name: menu
    match: { path: /menu }
    plugins: { mock: { body: menu } }
consumers:
  acme:
    groups: [partners]   # keep this comment
  globex: { plan: free }
  initech: {}
`;

const plansOf = async (file: string) =>
  Object.fromEntries(Object.entries((parse(await readFile(file, 'utf8')) as { consumers: Record<string, { plan?: string } | null> }).consumers).map(([k, v]) => [k, v?.plan]));

describe('expeditor plans', () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  before(async () => { tmp = await tempDir(); });
  after(() => tmp.remove());

  it('list: each plan with its throttle, quota, routes and subscribers', async () => {
    const file = await tmp.write('list.yaml', CONFIG);
    const r = await runCli(['plans', 'list', '-c', file]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdout.trimEnd().split('\n').map((l) => l.split(/\s{2,}/)), [
      ['PLAN', 'THROTTLE', 'QUOTA', 'ROUTES', 'CONSUMERS'],
      ['gold', '10/s, burst 20', '10000/month (Europe/Paris)', 'all', '-'],
      ['free', '1/s', '-', 'menu', 'globex'],
    ]);
  });

  it('subscribe: sets the plan in place, keeping comments and layout; block, flow and empty consumers alike', async () => {
    const file = await tmp.write('subscribe.yaml', CONFIG);
    for (const c of ['acme', 'globex', 'initech']) {
      const r = await runCli(['plans', 'subscribe', '--consumer', c, '--plan', 'gold', '-c', file]);
      assert.equal(r.code, 0, r.stderr);
    }
    assert.deepEqual(await plansOf(file), { acme: 'gold', globex: 'gold', initech: 'gold' });
    const text = await readFile(file, 'utf8');
    assert.ok(text.startsWith(CONFIG.slice(0, CONFIG.indexOf('  globex'))), 'everything up to the first edit is byte for byte the same');
    assert.match(text, /  acme:\n    groups: \[partners\]   # keep this comment\n    plan: gold\n/);
    assert.match(text, /  globex: \{ plan: gold \}\n/);
    assert.match(text, /  initech: \{ plan: gold \}\n/);
    assert.equal((await runCli(['validate', file])).code, 0);
    const again = await runCli(['plans', 'subscribe', '--consumer', 'acme', '--plan', 'gold', '-c', file]);
    assert.match(again.stderr, /already subscribes/);
  });

  it('unsubscribe: removes the line (block) or the entry (flow)', async () => {
    const file = await tmp.write('unsubscribe.yaml', CONFIG.replace('    groups: [partners]   # keep this comment\n', '    groups: [partners]   # keep this comment\n    plan: gold\n'));
    for (const c of ['acme', 'globex']) assert.equal((await runCli(['plans', 'unsubscribe', '--consumer', c, '-c', file])).code, 0);
    assert.deepEqual(await plansOf(file), { acme: undefined, globex: undefined, initech: undefined });
    assert.equal(await readFile(file, 'utf8'), CONFIG.replace('  globex: { plan: free }', '  globex: {}'));
    const none = await runCli(['plans', 'unsubscribe', '--consumer', 'initech', '-c', file]);
    assert.equal(none.code, 0);
    assert.match(none.stderr, /has no plan/);
  });

  it('refuses an unknown plan or consumer with a suggestion, and leaves the file untouched', async () => {
    const file = await tmp.write('refuse.yaml', CONFIG);
    const plan = await runCli(['plans', 'subscribe', '--consumer', 'acme', '--plan', 'gld', '-c', file]);
    assert.equal(plan.code, 2);
    assert.match(plan.stderr, /^expeditor plans: no plan "gld" in .*refuse\.yaml \(did you mean "gold"\?\)/);
    const consumer = await runCli(['plans', 'subscribe', '--consumer', 'acm', '--plan', 'gold', '-c', file]);
    assert.equal(consumer.code, 2);
    assert.match(consumer.stderr, /no consumer "acm" .*\(did you mean "acme"\?\)/);
    assert.equal(await readFile(file, 'utf8'), CONFIG);
  });

  it('refuses a change that makes the config invalid (a quota plan on local storage without allowVolatile)', async () => {
    const file = await tmp.write('invalid.yaml', CONFIG.replace('    allowVolatile: true\n', '    allowVolatile: false\n').replace('  gold:   # the paying tier', '  gold:   # the paying tier'));
    const r = await runCli(['plans', 'subscribe', '--consumer', 'acme', '--plan', 'free', '-c', file]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /plans\.gold\.storage: is "local"/);
    assert.match(r.stderr, /would not be valid after this change/);
  });

  it('usage: reads a consumer\'s usage from a running gateway\'s admin API', async (t) => {
    const key = generateApiKey();
    const gw = await spawnGateway({
      plans: { gold: { throttle: { rate: '1/h', burst: 5 }, quota: { limit: 100, period: 'day' }, allowVolatile: true } },
      consumers: { acme: { plan: 'gold', credentials: [{ type: 'key-auth', keyHash: hashApiKey(key) }] }, initech: {} },
      routes: [{ name: 'menu', match: { path: '/menu' }, plugins: { mock: { body: 'menu' }, 'key-auth': {} } }],
    });
    t.after(() => gw.stop());
    for (let i = 0; i < 3; i++) assert.equal((await fetch(`${gw.url}/menu`, { headers: { apikey: key } })).status, 200);
    const r = await runCli(['plans', 'usage', '--consumer', 'acme', '--admin', gw.adminUrl!]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trimEnd().split('\n');
    assert.equal(lines[0], 'consumer acme, plan gold');
    assert.match(lines[1]!, /^throttle  1\/h, burst 5: 2 left \(full in 10[78]\d\d s\)$/);
    assert.match(lines[2]!, /^quota     97 of 100 left this day \(UTC\), resets \d{4}-\d{2}-\d{2}T00:00:00\.000Z$/);
    const json = await runCli(['plans', 'usage', '--consumer', 'acme', '--json', '--admin', gw.adminUrl!]);
    assert.equal((JSON.parse(json.stdout) as { quota: { used: number } }).quota.used, 3);
    assert.equal((await runCli(['plans', 'usage', '--consumer', 'initech', '--admin', gw.adminUrl!])).stdout, 'consumer initech has no plan\n');
    const unknown = await runCli(['plans', 'usage', '--consumer', 'nobody', '--admin', gw.adminUrl!]);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /404 no consumer "nobody"/);
  });
});
