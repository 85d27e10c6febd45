import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { runCli, tempDir } from './run.ts';

const config = (ttl: string, extraRoute = '') => `# the menu API
store: { url: "sqlite:./state/expeditor.db" }
listen: { port: 8080 }
upstreams:
  kitchen: { targets: [{ url: "http://127.0.0.1:3001" }] }
routes:
  - name: menu
    match: { path: /menu }
    upstream: kitchen
    plugins: { cache: { defaultTtl: ${ttl} } }
${extraRoute}`;

/** The deployment/stage commands against a real SQLite store in a temp dir (the store's own tests cover PostgreSQL). */
describe('expeditor deploy, diff, history, rollback', () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let file: string;
  const env = { ...process.env, EXPEDITOR_ACTOR: 'ada', EXPEDITOR_STORE_URL: '' };
  const cli = (args: string[]) => runCli(args, { env });
  before(async () => {
    tmp = await tempDir();
    file = await tmp.write('expeditor.yaml', config('1m'));
  });
  after(() => tmp.remove());

  it('diff before the first deploy: everything is new', async () => {
    const r = await cli(['diff', '--stage', 'prod', '-c', file]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /stage prod does not exist yet/);
    assert.match(r.stdout, /^\+ routes menu$/m);
    assert.match(r.stdout, /^\+ upstreams kitchen$/m);
    assert.doesNotMatch(r.stdout, /listen|store/, 'node sections are not part of a deployment');
  });

  let first = '';
  it('deploy: a content-addressed deployment, the stage created and pointed at it', async () => {
    const r = await cli(['deploy', '--stage', 'prod', '-m', 'first menu', '-c', file]);
    assert.equal(r.code, 0, r.stderr);
    const m = /^deployment ([0-9a-f]{12}) \(new\)/.exec(r.stdout);
    assert.ok(m, r.stdout);
    first = m[1]!;
    assert.match(r.stdout, new RegExp(`stage prod now serves ${first} \\(version 1, new stage\\)`));
    const again = await cli(['deploy', '--stage', 'prod', '-m', 'same again', '-c', file]);
    assert.match(again.stdout, new RegExp(`deployment ${first} \\(existing\\), 0 changes`));
    assert.match(again.stdout, /already serves/);
  });

  let second = '';
  it('diff shows a changed field by path; deploy moves the stage', async () => {
    await writeFile(file, config('5m', '  - { name: specials, match: { path: /specials }, upstream: kitchen }\n'));
    const d = await cli(['diff', '--stage', 'prod', '-c', file]);
    assert.match(d.stdout, /^\+ routes specials$/m);
    assert.match(d.stdout, /^~ routes menu\n {4}plugins\.cache\.defaultTtl: "1m" → "5m"$/m);
    const r = await cli(['deploy', '--stage', 'prod', '-m', 'longer cache, specials', '-c', file]);
    second = /^deployment ([0-9a-f]{12})/.exec(r.stdout)![1]!;
    assert.notEqual(second, first);
    assert.match(r.stdout, new RegExp(`stage prod now serves ${second} \\(version 2, was ${first}\\)`));
  });

  it('refuses to deploy an invalid config, with the error\'s path, and changes nothing', async () => {
    const bad = await tmp.write('bad.yaml', config('1m').replace('upstream: kitchen', 'upstream: kitchn'));
    const r = await cli(['deploy', '--stage', 'prod', '-m', 'typo', '-c', bad]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /routes\[0\]\.upstream: unknown upstream "kitchn"/);
    const h = await cli(['history', '--stage', 'prod', '-c', file]);
    assert.equal(h.stdout.trim().split('\n').length, 3, h.stdout);
  });

  it('rollback returns to the previous deployment; history shows every change with its actor', async () => {
    const r = await cli(['rollback', '--stage', 'prod', '-c', file]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`stage prod now serves ${first} \\(version 3, was ${second}\\)`));
    const h = await cli(['history', '--stage', 'prod', '-c', file]);
    const lines = h.stdout.trim().split('\n').map((l) => l.split(/\s{2,}/));
    assert.deepEqual(lines.map((l) => [l[0], l[1], l[2], l[4], l[5]]), [
      ['VERSION', 'DEPLOYMENT', 'FROM', 'ACTOR', 'MESSAGE'],
      ['3', first, second, 'ada', `rollback to ${first}`],
      ['2', second, first, 'ada', 'longer cache, specials'],
      ['1', first, '-', 'ada', 'first menu'],
    ]);
    const to = await cli(['rollback', '--stage', 'prod', '--to', second.slice(0, 8), '-m', 'forward again', '-c', file]);
    assert.match(to.stdout, new RegExp(`now serves ${second} \\(version 4`));
    const all = await cli(['history', '-c', file]);
    assert.match(all.stdout, /^DEPLOYMENT\s+CREATED\s+AUTHOR\s+MESSAGE$/m);
    assert.equal(all.stdout.trim().split('\n').length, 3, 'two deployments');
  });

  it('refuses unknown stages and deployments', async () => {
    const r = await cli(['rollback', '--stage', 'staging', '-c', file]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /no stage "staging"/);
    const bad = await cli(['rollback', '--stage', 'prod', '--to', 'ffffffffff', '-c', file]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /no deployment "ffffffffff"/);
  });
});
