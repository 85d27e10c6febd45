import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { runCli, tempDir } from './run.ts';

const VALID = `# a small kitchen
upstreams:
  kitchen:
    targets: [{ url: "http://127.0.0.1:3001" }]
plugins:
  request-id: {}
routes:
  - name: orders
    match: { path: /orders/* }
    upstream: kitchen
  - name: menu
    match: { path: /menu }
    plugins: { mock: { body: { soup: true } } }
`;

const INVALID = `listen: { port: eighty }
upstreams:
  kitchen:
    targets: [{ url: "http://127.0.0.1:3001" }]
routes:
  - name: orders
    match: { path: /orders/* }
    upstream: orders
  - name: orders
    match: { path: menu }
    upstrem: kitchen
plugins:
  corz: {}
`;

describe('expeditor validate', () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  before(async () => { tmp = await tempDir(); });
  after(() => tmp.remove());

  it('a valid file: exit 0 and a one-line summary on stdout', async () => {
    const file = await tmp.write('valid.yaml', VALID);
    const r = await runCli(['validate', file]);
    assert.equal(r.stderr, '');
    assert.equal(r.stdout, `${file}: valid (2 routes, 1 upstream, 1 global plugin)\n`);
    assert.equal(r.code, 0);
  });

  it('an invalid file: exit 2 and every error, in file order, as FILE:LINE: PATH: MESSAGE', async () => {
    const file = await tmp.write('invalid.yaml', INVALID);
    const r = await runCli(['validate', file]);
    assert.equal(r.code, 2);
    assert.equal(r.stdout, '');
    assert.deepEqual(r.stderr.trimEnd().split('\n'), [
      `${file}:1: listen.port: must be an integer, not "eighty"`,
      `${file}:8: routes[0].upstream: unknown upstream "orders"`,
      `${file}:9: routes[1].name: duplicate route name "orders" (also routes[0])`,
      `${file}:10: routes[1].match.path: must be a path starting with "/" or a list of them`,
      `${file}:11: routes[1].upstrem: unknown key "upstrem" (did you mean "upstream"?)`,
      `${file}:13: plugins.corz: unknown key "corz" (did you mean "cors"?)`,
      `${file}: 6 errors`,
    ]);
  });

  it('what only the trial build finds (a plugin refusing its config) is an error too', async () => {
    const file = await tmp.write('plugin.yaml', 'routes:\n  - name: a\n    match: { path: /a }\n    plugins:\n      mock: {}\n      cors: { origins: ["https://shop.example.com/"] }\n');
    const r = await runCli(['validate', file]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, new RegExp(`^${escape(file)}:6: routes\\[0\\]\\.plugins\\.cors\\.origins\\[0\\]: .+$`, 'm'));
    assert.match(r.stderr, /: 1 error\n$/);
  });

  it('a JSON file is read as well', async () => {
    const file = await tmp.write('config.json', JSON.stringify({ routes: [{ name: 'menu', match: { path: '/menu' }, plugins: { mock: {} } }] }));
    const r = await runCli(['validate', file]);
    assert.equal(r.stdout, `${file}: valid (1 route, 0 upstreams, 0 global plugins)\n`);
    assert.equal(r.code, 0);
  });

  it('YAML syntax errors and duplicate keys are reported with their lines', async () => {
    const file = await tmp.write('dup.yaml', 'routes: []\nlisten:\n  port: 1\n  port: 2\n');
    const r = await runCli(['validate', file]);
    assert.equal(r.code, 2);
    assert.equal(r.stderr, `${file}:4: listen.port: duplicate key "port"\n${file}: 1 error\n`);
  });

  it('environment placeholders come from the environment of the command', async () => {
    const file = await tmp.write('env.yaml', 'admin: { host: 0.0.0.0, token: "${env:EXPEDITOR_TEST_TOKEN}" }\nlisten: { port: "${env:EXPEDITOR_TEST_PORT:-8080}" }\nroutes: []\n');
    const unset = await runCli(['validate', file], { env: { EXPEDITOR_TEST_TOKEN: undefined } });
    assert.equal(unset.code, 2);
    assert.equal(unset.stderr.split('\n')[0], `${file}:1: admin.token: environment variable EXPEDITOR_TEST_TOKEN is not set and has no default`);
    const set = await runCli(['validate', file], { env: { EXPEDITOR_TEST_TOKEN: 'a-token-of-enough-length', EXPEDITOR_TEST_PORT: '9090' } });
    assert.equal(set.stderr, '');
    assert.equal(set.code, 0);
  });

  it('a missing file: a clear error and exit 2', async () => {
    const file = `${tmp.dir}/nope.yaml`;
    const r = await runCli(['validate', file]);
    assert.equal(r.code, 2);
    assert.equal(r.stderr, `${file}: cannot read the config file: no such file\n${file}: 1 error\n`);
  });

  it('no file argument: usage error, exit 2', async () => {
    const r = await runCli(['validate']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /missing required argument 'file'/);
    assert.match(r.stderr, /--help/);
  });
});

describe('expeditor --help', () => {
  it('validate --help prints its usage and exits 0', async () => {
    const r = await runCli(['validate', '--help']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^Usage: expeditor validate \[options\] <file>$/m);
    assert.match(r.stdout, /exits 2/);
  });

  it('start --help prints its usage and options and exits 0', async () => {
    const r = await runCli(['start', '--help']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^Usage: expeditor start \[options\]$/m);
    assert.match(r.stdout, /-c, --config <file>/);
    assert.match(r.stdout, /--no-watch/);
  });

  it('the top level lists the commands; an unknown command exits 2', async () => {
    const help = await runCli(['--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^\s+start \[options\]/m);
    assert.match(help.stdout, /^\s+validate <file>/m);
    const unknown = await runCli(['serve']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown command 'serve'/);
  });
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
