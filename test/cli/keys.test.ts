import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { createHash, createHmac } from 'node:crypto';
import { parse } from 'yaml';
import { eventually, runCli, spawnCli, tempDir } from './run.ts';

const CONFIG = `# Expeditor: test config
listen: { port: 0, host: 127.0.0.1 }
admin: { port: 0, host: 127.0.0.1 }
routes:
  - name: menu   # the only route
    match: { path: /menu }
    plugins:
      key-auth: {}
      mock: { body: menu }

consumers:
  alice:
    groups: [staff]   # staff only
  bob: {}
`;

interface Cred { type: string; id?: string; keyHash?: string; expiresAt?: string; revoked?: boolean }
const credentials = async (file: string, consumer: string): Promise<Cred[]> =>
  (parse(await readFile(file, 'utf8')) as { consumers: Record<string, { credentials?: Cred[] }> }).consumers[consumer]?.credentials ?? [];

describe('expeditor keys', () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  before(async () => { tmp = await tempDir(); });
  after(() => tmp.remove());

  it('create: prints the key once on stdout, stores only its SHA-256, and keeps comments and layout', async () => {
    const file = await tmp.write('create.yaml', CONFIG);
    const r = await runCli(['keys', 'create', '--consumer', 'alice', '--id', 'alice-ios', '--expires', '2031-05-01', '-c', file]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^exp_[A-Za-z0-9_-]{43}\n$/);
    const key = r.stdout.trim();
    assert.match(r.stderr, /added key "alice-ios" to consumers\.alice/);
    const text = await readFile(file, 'utf8');
    assert.ok(!text.includes(key), 'the key itself is never written');
    assert.ok(text.startsWith(CONFIG.slice(0, CONFIG.indexOf('  bob: {}'))), 'everything before the new credential is byte for byte the same');
    assert.deepEqual(await credentials(file, 'alice'), [{ type: 'key-auth', id: 'alice-ios', keyHash: `sha256:${createHash('sha256').update(key).digest('hex')}`, expiresAt: '2031-05-01T00:00:00Z' }]);
    assert.equal((await runCli(['validate', file])).code, 0);
  });

  it('edits flow-style and empty entries in place, and keeps a JSON file JSON', async () => {
    const head = 'routes:\n  - { name: a, match: { path: /a }, plugins: { key-auth: {}, mock: {} } }\nconsumers:\n';
    const file = await tmp.write('layouts.yaml', `${head}  flow: { groups: [x], credentials: [] }   # flow\n  empty: {}\n  listed:\n    credentials: []   # keys here\n`);
    for (const c of ['flow', 'empty', 'listed']) assert.equal((await runCli(['keys', 'create', '--consumer', c, '--id', `${c}-1`, '-c', file])).code, 0);
    assert.equal((await runCli(['keys', 'revoke', '--consumer', 'flow', '--id', 'flow-1', '-c', file])).code, 0);
    const lines = (await readFile(file, 'utf8')).split('\n');
    assert.match(lines[3]!, /^  flow: \{ groups: \[x\], credentials: \[\{ type: key-auth, id: flow-1, keyHash: "sha256:[0-9a-f]{64}", revoked: true \}\] \}   # flow$/);
    assert.deepEqual(lines.slice(4, 8).map((l) => l.replace(/sha256:[0-9a-f]{64}/, 'H')), ['  empty:', '    credentials:', '      - type: key-auth', '        id: empty-1']);
    assert.deepEqual(lines.slice(9, 11), ['  listed:', '    credentials:   # keys here']);

    const json = await tmp.write('config.json', JSON.stringify({ routes: [{ name: 'a', match: { path: '/a' }, plugins: { 'key-auth': {}, mock: {} } }], consumers: { j: {} } }, null, 2));
    assert.equal((await runCli(['keys', 'create', '--consumer', 'j', '--id', 'j1', '-c', json])).code, 0);
    assert.equal((JSON.parse(await readFile(json, 'utf8')) as { consumers: { j: { credentials: Cred[] } } }).consumers.j.credentials[0]!.id, 'j1');
  });

  it('create --hmac: stores HMAC-SHA-256 keyed with auth.keySecret (after ${env:} interpolation)', async () => {
    const file = await tmp.write('hmac.yaml', `${CONFIG}auth:\n  keySecret: \${env:TEST_KEY_SECRET}\n`);
    const env = { TEST_KEY_SECRET: 'a-long-enough-server-secret' };
    const r = await runCli(['keys', 'create', '--consumer', 'bob', '--hmac', '-c', file], { env });
    assert.equal(r.code, 0, r.stderr);
    const [cred] = await credentials(file, 'bob');
    assert.match(cred!.id!, /^key-[0-9a-f]{8}$/);
    assert.equal(cred!.keyHash, `hmac-sha256:${createHmac('sha256', env.TEST_KEY_SECRET).update(r.stdout.trim()).digest('hex')}`);
    assert.match(await readFile(file, 'utf8'), /keySecret: \$\{env:TEST_KEY_SECRET\}/);
  });

  it('refuses, leaving the file unchanged: --hmac without keySecret, an unknown consumer, a taken id, a past expiry', async () => {
    const file = await tmp.write('refuse.yaml', CONFIG);
    const cases: Array<[string[], RegExp]> = [
      [['--consumer', 'alice', '--hmac'], /--hmac needs auth\.keySecret/],
      [['--consumer', 'alcie'], /no consumer "alcie" .*\(did you mean "alice"\?\).*--create-consumer/],
      [['--consumer', 'not valid!', '--create-consumer'], /not a valid consumer name/],
      [['--consumer', 'alice', '--expires', '2001-01-01'], /in the past/],
      [['--consumer', 'alice', '--expires', 'tomorrow'], /give a date/],
      [['--id', 'x'], /required option '--consumer <name>'/],
    ];
    for (const [args, message] of cases) {
      const r = await runCli(['keys', 'create', ...args, '-c', file]);
      assert.equal(r.code, 2, args.join(' '));
      assert.match(r.stderr, message);
      assert.equal(r.stdout, '', 'no key is printed when none is stored');
    }
    assert.equal((await runCli(['keys', 'create', '--consumer', 'alice', '--id', 'one', '-c', file])).code, 0);
    const taken = await runCli(['keys', 'create', '--consumer', 'alice', '--id', 'one', '-c', file]);
    assert.equal(taken.code, 2);
    assert.match(taken.stderr, /already has a credential "one"/);
    assert.equal((await credentials(file, 'alice')).length, 1);
  });

  it('refuses to write a file that would not validate', async () => {
    const broken = CONFIG.replace('mock: { body: menu }', 'mock: { body: menu }\n    upstream: nowhere');
    const file = await tmp.write('broken.yaml', broken);
    const r = await runCli(['keys', 'create', '--consumer', 'alice', '-c', file]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /routes\[0\]\.upstream: unknown upstream "nowhere"/);
    assert.match(r.stderr, /would not be valid after this change/);
    assert.equal(r.stdout, '');
    assert.equal(await readFile(file, 'utf8'), broken);
  });

  it('create --create-consumer adds a consumer that is not there yet', async () => {
    const file = await tmp.write('new-consumer.yaml', CONFIG);
    const r = await runCli(['keys', 'create', '--consumer', 'carol', '--create-consumer', '--id', 'c1', '-c', file]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual((await credentials(file, 'carol')).map((c) => c.id), ['c1']);
    assert.equal((await runCli(['validate', file])).code, 0);
  });

  it('revoke marks the key revoked (once), and names the keys there are when the id is wrong', async () => {
    const file = await tmp.write('revoke.yaml', CONFIG);
    await runCli(['keys', 'create', '--consumer', 'bob', '--id', 'b1', '-c', file]);
    await runCli(['keys', 'create', '--consumer', 'bob', '--id', 'b2', '-c', file]);
    const r = await runCli(['keys', 'revoke', '--consumer', 'bob', '--id', 'b1', '-c', file]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual((await credentials(file, 'bob')).map((c) => [c.id, c.revoked]), [['b1', true], ['b2', undefined]]);
    const again = await runCli(['keys', 'revoke', '--consumer', 'bob', '--id', 'b1', '-c', file]);
    assert.equal(again.code, 0);
    assert.match(again.stderr, /already revoked/);
    const wrong = await runCli(['keys', 'revoke', '--consumer', 'bob', '--id', 'b3', '-c', file]);
    assert.equal(wrong.code, 2);
    assert.match(wrong.stderr, /no API key "b3" \(its keys: b1, b2\)/);
  });

  it('list shows consumer, id, expiry and status, never a hash', async () => {
    const file = await tmp.write('list.yaml', CONFIG);
    await runCli(['keys', 'create', '--consumer', 'alice', '--id', 'a1', '--expires', '2040-01-01T12:00:00Z', '-c', file]);
    await runCli(['keys', 'create', '--consumer', 'bob', '--id', 'b1', '-c', file]);
    await runCli(['keys', 'revoke', '--consumer', 'bob', '--id', 'b1', '-c', file]);
    const r = await runCli(['keys', 'list', '-c', file]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, [
      'CONSUMER  ID  EXPIRES               STATUS',
      'alice     a1  2040-01-01T12:00:00Z  active',
      'bob       b1  -                     revoked',
      '',
    ].join('\n'));
    assert.equal((await runCli(['keys', 'list', '--consumer', 'bob', '-c', file])).stdout.split('\n').length, 3);
    assert.equal((await runCli(['keys', 'list', '--consumer', 'nobody', '-c', file])).code, 2);
  });

  it('a running gateway takes a created key on its file watch, and refuses it once revoked and reloaded (SIGHUP)', async () => {
    const file = await tmp.write('live.yaml', CONFIG);
    const child = spawnCli(['start', '--config', file]);
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    try {
      const [line] = await once(child.stdout!.setEncoding('utf8'), 'data') as [string];
      const proxy = /proxy (http:\/\/\S+?),/.exec(line)?.[1];
      assert.ok(proxy, `unexpected first line: ${line}`);
      const created = await runCli(['keys', 'create', '--consumer', 'alice', '--id', 'live', '-c', file]);
      assert.equal(created.code, 0, created.stderr);
      const key = created.stdout.trim();
      await eventually(async () => assert.equal((await fetch(`${proxy}/menu`, { headers: { apikey: key } })).status, 200));
      assert.equal(await (await fetch(`${proxy}/menu`, { headers: { apikey: key } })).text(), 'menu');

      assert.equal((await runCli(['keys', 'revoke', '--consumer', 'alice', '--id', 'live', '-c', file])).code, 0);
      child.kill('SIGHUP');
      await eventually(async () => assert.equal((await fetch(`${proxy}/menu`, { headers: { apikey: key } })).status, 401));
      const res = await fetch(`${proxy}/menu`, { headers: { apikey: key } });
      assert.equal(((await res.json()) as { code: string }).code, 'invalid_credentials');
      assert.doesNotMatch(stderr, /reload refused/);
    } finally {
      child.kill('SIGTERM');
      if (child.exitCode === null) await once(child, 'exit');
    }
  });
});
