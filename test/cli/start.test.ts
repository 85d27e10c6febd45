import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { ChildProcess } from 'node:child_process';
import { eventually, runCli, spawnCli, tempDir } from './run.ts';

const config = (routes: string) => `listen: { port: 0, host: 127.0.0.1 }\nadmin: { port: 0, host: 127.0.0.1 }\nroutes:\n${routes}`;
const MENU = '  - { name: menu, match: { path: /menu }, plugins: { mock: { body: menu } } }\n';
const SOUP = '  - { name: soup, match: { path: /soup }, plugins: { mock: { body: soup } } }\n';

describe('expeditor start', () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  before(async () => { tmp = await tempDir(); });
  after(() => tmp.remove());

  it('an invalid config: every error, exit 2, nothing listens', async () => {
    const file = await tmp.write('bad.yaml', 'routes:\n  - { name: a, match: { path: /a }, upstream: orders }\n');
    const r = await runCli(['start', '--config', file]);
    assert.equal(r.code, 2);
    assert.equal(r.stderr, `${file}:2: routes[0].upstream: unknown upstream "orders"\n${file}: 1 error\n`);
  });

  it('no --config: usage error, exit 2', async () => {
    const r = await runCli(['start']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /required option '-c, --config <file>' not specified/);
  });

  it('serves, reloads on SIGHUP (refusing an invalid file), and drains and exits 0 on SIGTERM', async () => {
    const file = await tmp.write('gateway.yaml', config(MENU));
    const child: ChildProcess = spawnCli(['start', '--config', file, '--no-watch']);
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    try {
      const [line] = await once(child.stdout!.setEncoding('utf8'), 'data') as [string];
      const m = /^expeditor: proxy (http:\/\/127\.0\.0\.1:\d+), admin (http:\/\/127\.0\.0\.1:\d+)\n$/.exec(line);
      assert.ok(m, `unexpected first line: ${line}`);
      const [, proxy, admin] = m;
      assert.equal(await (await fetch(`${proxy}/menu`)).text(), 'menu');

      await tmp.write('gateway.yaml', config(SOUP));
      child.kill('SIGHUP');
      await eventually(async () => assert.equal((await fetch(`${proxy}/soup`)).status, 200));
      assert.equal((await fetch(`${proxy}/menu`)).status, 404);

      const hash = ((await (await fetch(`${admin}/status`)).json()) as { configHash: string }).configHash;
      await tmp.write('gateway.yaml', config('  - { name: broken, match: { path: nope } }\n'));
      child.kill('SIGHUP');
      await eventually(async () => assert.match(stderr, /reload refused/));
      assert.equal((await fetch(`${proxy}/soup`)).status, 200);
      assert.equal(((await (await fetch(`${admin}/status`)).json()) as { configHash: string }).configHash, hash);

      child.kill('SIGTERM');
      const [code] = await once(child, 'exit') as [number | null];
      assert.equal(code, 0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
