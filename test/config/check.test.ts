import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checkConfig } from '../../src/config/check.ts';
import { parseConfigText } from '../../src/config/load.ts';
import { ConfigError, type ConfigIssue } from '../../src/config/errors.ts';

async function issuesOf(text: string): Promise<ConfigIssue[]> {
  try {
    await checkConfig(parseConfigText(text, 'test.yaml', { env: {} }));
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    return [...err.issues];
  }
  assert.fail('expected the config to be refused');
}

describe('checkConfig', () => {
  it('passes a valid config and returns it with defaults', async () => {
    const config = await checkConfig(parseConfigText('routes:\n  - { name: a, match: { path: /a }, plugins: { mock: {} } }\n', 't', { env: {} }));
    assert.equal(config.routes[0]!.priority, 0);
  });

  it('reports what only a plugin can refuse, at the path and line of the field', async () => {
    const found = await issuesOf([
      'routes:',
      '  - name: a',
      '    match: { path: /a }',
      '    plugins:',
      '      mock: {}',
      '      cors:',
      '        origins: ["https://shop.example.com/"]',
    ].join('\n'));
    assert.equal(found.length, 1);
    assert.equal(found[0]!.path, 'routes[0].plugins.cors.origins[0]');
    assert.equal(found[0]!.line, 7);
  });

  it('reports TLS files that cannot be read', async () => {
    const found = await issuesOf('listen:\n  tls: { cert: /nonexistent/cert.pem, key: /nonexistent/key.pem }\nroutes: []\n');
    assert.deepEqual(found, [
      { path: 'listen.tls.cert', message: 'cannot read "/nonexistent/cert.pem": no such file', line: 2 },
      { path: 'listen.tls.key', message: 'cannot read "/nonexistent/key.pem": no such file', line: 2 },
    ]);
  });

  it('stops at schema errors: a trial build needs a valid config', async () => {
    assert.deepEqual(await issuesOf('routes: []\nlisten: { port: x }\n'), [{ path: 'listen.port', message: 'must be an integer, not "x"', line: 2 }]);
  });
});
