import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { validateConfig } from '../../src/config/validate.ts';
import { parseConfigText } from '../../src/config/load.ts';
import { ConfigError, formatIssue, type ConfigIssue } from '../../src/config/errors.ts';

/** A valid config: one upstream, `orders`-free, and routes r0…r{n-1} served by it. */
function base(routes = 1): Record<string, unknown> & { routes: Array<Record<string, unknown>> } {
  return {
    upstreams: { kitchen: { targets: [{ url: 'http://127.0.0.1:3001' }] } },
    routes: Array.from({ length: routes }, (_, i) => ({ name: `r${i}`, match: { path: `/r${i}` }, upstream: 'kitchen' })),
  };
}

/** The issues validation reports for `input` (fails when it is valid). */
function issues(input: unknown, source?: Parameters<typeof validateConfig>[1]): ConfigIssue[] {
  try {
    validateConfig(input, source);
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    return [...err.issues];
  }
  assert.fail('expected the config to be refused');
}

function issuesOfText(text: string, env: NodeJS.ProcessEnv = {}): ConfigIssue[] {
  try {
    const loaded = parseConfigText(text, 'test.yaml', { env });
    validateConfig(loaded.value, loaded);
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    return [...err.issues];
  }
  assert.fail('expected the config to be refused');
}

const route = (extra: Record<string, unknown>) => ({ name: 'r', match: { path: '/r' }, plugins: { mock: {} }, ...extra });

describe('unknown keys', () => {
  it('at the top level, with a suggestion when one is close', () => {
    assert.deepEqual(issues({ ...base(), lisen: { port: 1 } }), [{ path: 'lisen', message: 'unknown key "lisen" (did you mean "listen"?)' }]);
    assert.deepEqual(issues({ ...base(), colour: 'blue' }), [{ path: 'colour', message: 'unknown key "colour"' }]);
  });

  it('nested in an object', () => {
    assert.deepEqual(issues({ ...base(), listen: { prot: 8080 } }), [{ path: 'listen.prot', message: 'unknown key "prot" (did you mean "port"?)' }]);
    assert.deepEqual(issues({ ...base(), server: { paths: { dupSlashes: 'merge' } } }), [{ path: 'server.paths.dupSlashes', message: 'unknown key "dupSlashes"' }]);
  });

  it('in a route and in an upstream', () => {
    const c = base(2);
    c.routes[1]!.upstrem = 'kitchen';
    (c.upstreams as Record<string, Record<string, unknown>>).kitchen!.conections = 4;
    assert.deepEqual(issues(c), [
      { path: 'upstreams.kitchen.conections', message: 'unknown key "conections" (did you mean "connections"?)' },
      { path: 'routes[1].upstrem', message: 'unknown key "upstrem" (did you mean "upstream"?)' },
    ]);
  });

  it('in a plugin config object, global and per route', () => {
    const c = base();
    c.plugins = { cors: { origin: ['https://a.example'] } };
    c.routes[0]!.plugins = { 'request-id': { heder: 'x-id' } };
    assert.deepEqual(issues(c), [
      { path: 'routes[0].plugins.request-id.heder', message: 'unknown key "heder" (did you mean "header"?)' },
      { path: 'plugins.cors.origin', message: 'unknown key "origin" (did you mean "origins"?)' },
    ]);
  });

  it('a misspelt plugin name, global and per route', () => {
    const c = base();
    c.plugins = { 'reqest-id': {} };
    c.routes[0]!.plugins = { corz: {} };
    assert.deepEqual(issues(c), [
      { path: 'routes[0].plugins.corz', message: 'unknown key "corz" (did you mean "cors"?)' },
      { path: 'plugins.reqest-id', message: 'unknown key "reqest-id" (did you mean "request-id"?)' },
    ]);
  });
});

describe('types and formats', () => {
  it('a wrong type says what was expected and what was found', () => {
    assert.deepEqual(issues({ ...base(), listen: { port: 'abc' } }), [{ path: 'listen.port', message: 'must be an integer, not "abc"' }]);
    assert.deepEqual(issues({ routes: 'all' }), [{ path: 'routes', message: 'must be a list, not "all"' }]);
    assert.deepEqual(issues({ ...base(), listen: [8080] }), [{ path: 'listen', message: 'must be an object (key: value), not a list' }]);
    const c = base();
    c.routes[0]!.preserveHost = 'yes';
    assert.deepEqual(issues(c), [{ path: 'routes[0].preserveHost', message: 'must be true or false, not "yes"' }]);
    assert.deepEqual(issues([]), [{ path: '', message: 'must be an object (key: value), not a list' }]);
  });

  it('ranges, lists and fixed choices', () => {
    assert.deepEqual(issues({ ...base(), listen: { port: 70000 } }), [{ path: 'listen.port', message: 'must be at most 65535, not 70000' }]);
    assert.deepEqual(issues({ ...base(), server: { paths: { duplicateSlashes: 'squash' } } }), [
      { path: 'server.paths.duplicateSlashes', message: 'must be one of "merge", "reject", "keep", not "squash"' },
    ]);
    assert.deepEqual(issues({ ...base(), upstreams: { kitchen: { targets: [] } } }), [{ path: 'upstreams.kitchen.targets', message: 'needs at least one target, or discovery.dns' }]);
    assert.deepEqual(issues({ ...base(), admin: { token: 'short' } }), [{ path: 'admin.token', message: 'must be at least 16 characters long' }]);
  });

  it('a missing required field', () => {
    assert.deepEqual(issues({ routes: [{ match: { path: '/' }, plugins: { mock: {} } }] }), [{ path: 'routes[0].name', message: 'is required' }]);
  });

  it('a path, method, target URL and name in the wrong form', () => {
    const c = base();
    c.routes[0]!.match = { path: 'orders', methods: ['get'] };
    (c.upstreams as Record<string, unknown>).kitchen = { targets: [{ url: 'http://127.0.0.1:3001/api' }] };
    c.routes[0]!.name = '-bad';
    assert.deepEqual(issues(c), [
      { path: 'upstreams.kitchen.targets[0].url', message: 'must be an origin such as "http://10.0.0.5:8080" (scheme, host and port; no path)' },
      { path: 'routes[0].name', message: 'must be a name of letters, digits, "_", "." and "-", starting with a letter or digit, at most 128 characters' },
      { path: 'routes[0].match.path', message: 'must be a path starting with "/" or a list of them' },
      { path: 'routes[0].match.methods[0]', message: 'must be an HTTP method in upper case, such as "GET"' },
    ]);
  });

  it('a target URL the pattern lets through but no URL parser accepts', () => {
    const c = base();
    (c.upstreams as Record<string, unknown>).kitchen = { targets: [{ url: 'http://127.0.0.1:99999' }] };
    assert.deepEqual(issues(c), [{ path: 'upstreams.kitchen.targets[0].url', message: 'invalid URL "http://127.0.0.1:99999"' }]);
  });
});

describe('durations and sizes', () => {
  const DURATION = 'must be a duration such as "500ms", "30s", "5m", "1h" or a number of milliseconds (at most 596h)';
  const SIZE = 'must be a size such as "512b", "16kb", "10mb" or a number of bytes';

  for (const bad of ['10 sec', '5', '-1s', '1d', '1.s', 's', '', '1000h', -1, 1.5, 2 ** 31, true]) {
    it(`refuses the duration ${JSON.stringify(bad)}`, () => {
      assert.deepEqual(issues({ ...base(), server: { headersTimeout: bad } }), [{ path: 'server.headersTimeout', message: DURATION }]);
    });
  }
  for (const good of ['500ms', '30s', '5m', '1h', '1.5s', ' 2 s ', '596h', 0, 2 ** 31 - 1]) {
    it(`accepts the duration ${JSON.stringify(good)}`, () => {
      assert.equal(validateConfig({ ...base(), server: { headersTimeout: good } }).server?.headersTimeout, good);
    });
  }
  for (const bad of ['10 megs', '-1kb', '1tb', 'kb', '1.5.2mb', -5, 0.5]) {
    it(`refuses the size ${JSON.stringify(bad)}`, () => {
      assert.deepEqual(issues({ ...base(), server: { maxBodyBytes: bad } }), [{ path: 'server.maxBodyBytes', message: SIZE }]);
    });
  }
  it('accepts sizes with and without a unit, and reports a route\'s own size at its path', () => {
    for (const good of ['512b', '16kb', '10mb', '1gb', '1024', '2k', '1mib', 0, 4096]) {
      assert.equal(validateConfig({ ...base(), server: { maxBodyBytes: good } }).server?.maxBodyBytes, good);
    }
    const c = base();
    c.routes[0]!.maxBodyBytes = 'lots';
    c.routes[0]!.timeouts = { idle: 'forever' };
    assert.deepEqual(issues(c), [
      { path: 'routes[0].timeouts.idle', message: DURATION },
      { path: 'routes[0].maxBodyBytes', message: SIZE },
    ]);
  });
});

describe('meaning', () => {
  it('a route naming an upstream that does not exist', () => {
    const c = base(4);
    c.routes[3]!.upstream = 'orders';
    const found = issues(c);
    assert.deepEqual(found, [{ path: 'routes[3].upstream', message: 'unknown upstream "orders"' }]);
    assert.equal(formatIssue(found[0]!), 'routes[3].upstream: unknown upstream "orders"');
  });

  it('a route with neither an upstream nor a mock', () => {
    assert.deepEqual(issues({ routes: [{ name: 'a', match: { path: '/a' } }] }), [
      { path: 'routes[0]', message: 'needs an "upstream", a "function" or a "mock" plugin to answer its requests' },
    ]);
  });

  it('duplicate route names, pointing at the first', () => {
    const c = base(3);
    c.routes[2]!.name = 'r0';
    assert.deepEqual(issues(c), [{ path: 'routes[2].name', message: 'duplicate route name "r0" (also routes[0])' }]);
  });

  it('an invalid upstream name', () => {
    const c = base();
    c.upstreams = { kitchen: { targets: [{ url: 'http://127.0.0.1:1' }] }, 'cold kitchen': { targets: [{ url: 'http://127.0.0.1:2' }] } };
    assert.deepEqual(issues(c), [{
      path: 'upstreams["cold kitchen"]',
      message: 'invalid upstream name "cold kitchen": use letters, digits, "_", "." and "-", starting with a letter or digit',
    }]);
  });

  it('an invalid host pattern, alone or in a list', () => {
    assert.deepEqual(issues({ routes: [route({ match: { path: '/', host: 'api..example.com' } })] }), [
      { path: 'routes[0].match.host', message: 'invalid host pattern "api..example.com"' },
    ]);
    assert.deepEqual(issues({ routes: [route({ match: { path: '/', host: ['*.example.com', 'a.*.example.com', 'ok.example.com'] } })] }), [
      { path: 'routes[0].match.host[1]', message: 'invalid host pattern "a.*.example.com"' },
    ]);
    assert.deepEqual(issues({ routes: [route({ match: { path: '/', host: 42 } })] }), [
      { path: 'routes[0].match.host', message: 'must be a host name or a list of them' },
    ]);
  });

  it('an invalid regular expression in header, query and rewrite rules', () => {
    const c = {
      routes: [route({
        match: { path: '/', headers: { 'x-tier': { regex: '(gold' } }, query: { v: { regex: '[' } } },
        rewrite: { regex: { pattern: '*x', replacement: '/' } },
      })],
    };
    assert.deepEqual(issues(c), [
      { path: 'routes[0].match.headers.x-tier.regex', message: 'invalid regular expression "(gold": Unterminated group' },
      { path: 'routes[0].match.query.v.regex', message: 'invalid regular expression "[": Unterminated character class' },
      { path: 'routes[0].rewrite.regex.pattern', message: 'invalid regular expression "*x": Nothing to repeat' },
    ]);
  });

  it('an invalid address or CIDR in trustedProxies', () => {
    const c = { ...base(), server: { trustedProxies: ['10.0.0.0/8', '10.0.0.0/33', '1.2.3', '::1/129', 'fe80::/10', '192.168.1.1', 'proxy.local'] } };
    assert.deepEqual(issues(c), [
      { path: 'server.trustedProxies[6]', message: 'must be an IP address or CIDR block such as "10.0.0.0/8" or "::1"' },
      { path: 'server.trustedProxies[1]', message: 'invalid address or CIDR "10.0.0.0/33"' },
      { path: 'server.trustedProxies[2]', message: 'invalid address or CIDR "1.2.3"' },
      { path: 'server.trustedProxies[3]', message: 'invalid address or CIDR "::1/129"' },
    ]);
  });

  it('an admin API on a non-loopback address needs a token', () => {
    for (const host of ['0.0.0.0', '::', '10.1.2.3', 'admin.internal']) {
      assert.deepEqual(issues({ ...base(), admin: { host } }), [
        { path: 'admin.token', message: `is required when the admin API listens on a non-loopback address ("${host}")` },
      ]);
    }
    for (const host of ['127.0.0.1', '127.0.0.53', '::1', 'localhost', '::ffff:127.0.0.1']) {
      assert.doesNotThrow(() => validateConfig({ ...base(), admin: { host } }), host);
    }
    assert.doesNotThrow(() => validateConfig({ ...base(), admin: { host: '0.0.0.0', token: 'a-long-enough-secret' } }));
    assert.doesNotThrow(() => validateConfig({ ...base(), admin: { host: '0.0.0.0', enabled: false } }));
  });

  it('admin.tokens: a non-loopback listener may use them instead of admin.token; names and tokens are unique', () => {
    const t = (name: string, token: string, role = 'read') => ({ name, token, role });
    assert.doesNotThrow(() => validateConfig({ ...base(), admin: { host: '0.0.0.0', tokens: [t('ci', 'ci-token-0123456789', 'deploy')] } }));
    assert.deepEqual(issues({ ...base(), admin: { host: '0.0.0.0', tokens: [] } }), [
      { path: 'admin.token', message: 'is required when the admin API listens on a non-loopback address ("0.0.0.0")' },
    ]);
    assert.deepEqual(issues({ ...base(), admin: {
      token: 'legacy-token-0123456789',
      tokens: [t('ci', 'ci-token-0123456789'), t('ci', 'other-token-0123456789'), t('admin', 'third-token-0123456789'), t('ops', 'ci-token-0123456789'), t('x', 'legacy-token-0123456789')],
    } }), [
      { path: 'admin.tokens[1].name', message: 'duplicate token name "ci" (also admin.tokens[0])' },
      { path: 'admin.tokens[2].name', message: 'duplicate token name "admin" (also admin.token, whose name is "admin")' },
      { path: 'admin.tokens[3].token', message: 'the same token as admin.tokens[0]: each token must be different' },
      { path: 'admin.tokens[4].token', message: 'the same token as admin.token: each token must be different' },
    ]);
    assert.deepEqual(issues({ ...base(), admin: { tokens: [t('ci', 'short', 'root')] } }).map((i) => i.path).sort(), ['admin.tokens[0].role', 'admin.tokens[0].token']);
  });

  it('the admin API cannot share the proxy listener', () => {
    assert.deepEqual(issues({ ...base(), listen: { port: 9000 }, admin: { port: 9000 } }), [
      { path: 'admin.port', message: 'must differ from listen.port (9000): the admin API never shares the proxy listener' },
    ]);
    assert.doesNotThrow(() => validateConfig({ ...base(), listen: { port: 0 }, admin: { port: 0 } }));
    assert.doesNotThrow(() => validateConfig({ ...base(), listen: { port: 9000, host: '10.0.0.1' }, admin: { port: 9000, host: '127.0.0.1' } }));
  });
});

describe('environment placeholders', () => {
  it('an unset variable without a default is an error at its path and line', () => {
    assert.deepEqual(issuesOfText('routes: []\nadmin:\n  token: ${env:ADMIN_TOKEN}\n'), [
      { path: 'admin.token', message: 'environment variable ADMIN_TOKEN is not set and has no default', line: 3 },
    ]);
  });

  it('the default applies when the variable is unset, the value when it is set', () => {
    const text = 'routes: []\nlisten: { host: "${env:HOST:-127.0.0.1}" }\nupstreams:\n  u: { targets: [{ url: "http://${env:UP}:${env:UP_PORT:-80}" }] }\n';
    assert.deepEqual(parseConfigText(text, 't', { env: { UP: 'kitchen' } }).value, {
      routes: [], listen: { host: '127.0.0.1' }, upstreams: { u: { targets: [{ url: 'http://kitchen:80' }] } },
    });
    const set = parseConfigText(text, 't', { env: { HOST: '0.0.0.0', UP: 'k', UP_PORT: '8080' } }).value as { listen: { host: string }; upstreams: { u: { targets: Array<{ url: string }> } } };
    assert.equal(set.listen.host, '0.0.0.0');
    assert.equal(set.upstreams.u.targets[0]!.url, 'http://k:8080');
    assert.deepEqual(parseConfigText('a: "${env:EMPTY:-}"\n', 't', { env: {} }).value, { a: '' });
  });

  it('a value that is only a placeholder takes the type its field expects', () => {
    const text = 'routes: []\nlisten: { port: "${env:PORT:-8080}" }\nadmin: { enabled: "${env:ADMIN}", token: "${env:TOKEN}" }\nserver: { headersTimeout: "${env:HT}" }\n';
    const loaded = parseConfigText(text, 't', { env: { ADMIN: 'false', TOKEN: '12345678901234567890', HT: '2500' } });
    const config = validateConfig(loaded.value, loaded);
    assert.equal(config.listen?.port, 8080);
    assert.equal(config.admin?.enabled, false);
    // A token of digits stays a string: only fields that want a number or boolean are converted.
    assert.equal(config.admin?.token, '12345678901234567890');
    assert.equal(config.server?.headersTimeout, 2500);
    // Written in the file (not from the environment), a quoted number is still a type error.
    assert.deepEqual(issuesOfText('routes: []\nlisten: { port: "8080" }\n'), [{ path: 'listen.port', message: 'must be an integer, not "8080"', line: 2 }]);
  });

  it('can be refused altogether (config sent to the admin API)', () => {
    assert.throws(() => parseConfigText('routes: []\nadmin: { token: "${env:HOME}" }\n', 'admin request', { env: false }), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.deepEqual(err.issues, [{
        path: 'admin.token',
        message: 'environment placeholders (${env:…}) are not expanded in config sent to the admin API; expand them before sending',
        line: 2,
      }]);
      return true;
    });
  });
});

describe('YAML and JSON text', () => {
  it('a syntax error is reported with its line', () => {
    assert.deepEqual(issuesOfText('routes: []\nlisten: port: 8080\n'), [
      { path: '', message: 'YAML: Nested mappings are not allowed in compact mappings', line: 2 },
    ]);
    assert.deepEqual(issuesOfText('routes:\n  - name: "a\n'), [{ path: '', message: 'YAML: Missing closing "quote', line: 3 }]);
    assert.deepEqual(issuesOfText('listen:\n\tport: 1\n').map((i) => i.line), [2]);
  });

  it('duplicate keys are errors, with the path and line of the second one', () => {
    assert.deepEqual(issuesOfText('routes: []\nlisten:\n  port: 1\n  host: a\n  port: 2\n'), [{ path: 'listen.port', message: 'duplicate key "port"', line: 5 }]);
    assert.deepEqual(issuesOfText('routes:\n  - name: a\n    name: b\n'), [{ path: 'routes[0].name', message: 'duplicate key "name"', line: 3 }]);
    assert.deepEqual(issuesOfText('{"routes": [], "routes": []}'), [{ path: 'routes', message: 'duplicate key "routes"', line: 1 }]);
  });

  it('more than one document is refused', () => {
    assert.deepEqual(issuesOfText('routes: []\n---\nroutes: []\n'), [{ path: '', message: 'YAML: the file holds more than one document ("---")', line: 2 }]);
  });

  it('an unresolved alias is a config error, not a crash', () => {
    assert.deepEqual(issuesOfText('routes: *nothing\n').map((i) => i.path), ['']);
  });

  it('a JSON file is read like YAML, with lines for its errors', () => {
    const text = JSON.stringify({ upstreams: { u: { targets: [{ url: 'http://127.0.0.1:1' }] } }, routes: [{ name: 'a', match: { path: '/a' }, upstream: 'orders' }] }, null, 2);
    assert.deepEqual(issuesOfText(text), [{ path: 'routes[0].upstream', message: 'unknown upstream "orders"', line: 17 }]);
    const ok = parseConfigText('{"routes": [{"name": "a", "match": {"path": "/a"}, "plugins": {"mock": {}}}]}', 'c.json', { env: {} });
    assert.equal(validateConfig(ok.value, ok).routes[0]!.name, 'a');
  });

  it('schema errors carry the line of the key', () => {
    assert.deepEqual(issuesOfText('routes: []\nlisten:\n  host: 0.0.0.0\n  prot: 80\n'), [
      { path: 'listen.prot', message: 'unknown key "prot" (did you mean "port"?)', line: 4 },
    ]);
  });
});

describe('the whole config', () => {
  it('reports every error at once', () => {
    const c = {
      colour: 'blue',
      listen: { port: 'x' },
      server: { trustedProxies: ['10.0.0.0/40'], headersTimeout: 'soon' },
      admin: { host: '0.0.0.0' },
      upstreams: { 'bad name': { targets: [{ url: 'http://127.0.0.1:1' }] } },
      plugins: { corz: {} },
      routes: [
        { name: 'a', match: { path: '/a', host: 'bad host' }, upstream: 'orders', bogus: 1 },
        { name: 'a', match: 5, upstream: 'bad name' },
        { name: 'c', match: { path: '/c' }, upstream: 'nowhere' },
      ],
    };
    assert.deepEqual(issues(c).map(formatIssue), [
      'colour: unknown key "colour"',
      'listen.port: must be an integer, not "x"',
      'server.headersTimeout: must be a duration such as "500ms", "30s", "5m", "1h" or a number of milliseconds (at most 596h)',
      'routes[0].bogus: unknown key "bogus"',
      'routes[1].match: must be an object (key: value), not 5',
      'plugins.corz: unknown key "corz" (did you mean "cors"?)',
      'upstreams["bad name"]: invalid upstream name "bad name": use letters, digits, "_", "." and "-", starting with a letter or digit',
      'routes[0].upstream: unknown upstream "orders"',
      'routes[0].match.host: invalid host pattern "bad host"',
      'routes[1].name: duplicate route name "a" (also routes[0])',
      'routes[2].upstream: unknown upstream "nowhere"',
      'server.trustedProxies[0]: invalid address or CIDR "10.0.0.0/40"',
      'admin.token: is required when the admin API listens on a non-loopback address ("0.0.0.0")',
    ]);
  });

  it('never mutates its input, valid or not', () => {
    const valid = deepFreeze(base(2));
    const before = structuredClone(valid);
    const config = validateConfig(valid);
    assert.deepEqual(valid, before);
    assert.notEqual(config, valid);
    assert.equal(config.routes[0]!.priority, 0);
    assert.equal((valid.routes[0] as Record<string, unknown>).priority, undefined);

    const invalid = deepFreeze({ ...base(), listen: { port: 'x' } });
    const snapshot = structuredClone(invalid);
    assert.throws(() => validateConfig(invalid), ConfigError);
    assert.deepEqual(invalid, snapshot);
  });

  it('applies defaults throughout, plugins included', () => {
    const c = base();
    c.listen = {};
    c.server = { paths: {} };
    c.plugins = { 'request-id': {} };
    c.routes[0]!.plugins = { cors: {} };
    const config = validateConfig(c);
    assert.deepEqual(config.listen, { port: 8080, host: '0.0.0.0' });
    assert.equal(config.server?.maxBodyBytes, '10mb');
    assert.equal(config.server?.headersTimeout, '10s');
    assert.deepEqual(config.server?.trustedProxies, []);
    assert.deepEqual(config.server?.paths, { duplicateSlashes: 'merge', escapedSlashes: 'keep' });
    assert.deepEqual(config.upstreams?.kitchen, {
      targets: [{ url: 'http://127.0.0.1:3001', weight: 1 }], connections: 128, keepAliveTimeout: '4s', pipelining: 1, balancer: 'round-robin', whenAllDown: 'fail',
    });
    assert.deepEqual(config.routes[0], {
      name: 'r0', match: { path: '/r0' }, upstream: 'kitchen', priority: 0, preserveHost: false, websocket: true,
      plugins: { cors: { origins: ['*'], methods: ['GET', 'HEAD', 'PUT', 'PATCH', 'POST', 'DELETE'], exposeHeaders: [], credentials: false, maxAge: 600, preflightContinue: false } },
    });
    assert.deepEqual(config.plugins, { 'request-id': { header: 'x-request-id', trustIncoming: true, forward: true, echo: true } });
  });

  it('an empty file is an empty config: no routes, every default', () => {
    const loaded = parseConfigText('', 'empty.yaml', { env: {} });
    assert.deepEqual(validateConfig(loaded.value, loaded).routes, []);
  });

  it('validating its own output changes nothing (the gateway validates what the CLI already did)', () => {
    const once = validateConfig(base(3));
    assert.deepEqual(validateConfig(once), once);
  });
});

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

describe('upstream policies', () => {
  const up = (extra: Record<string, unknown>) => ({ routes: [], upstreams: { pool: { targets: [{ url: 'http://127.0.0.1:1' }], ...extra } } });
  const paths = (cfg: unknown) => {
    try {
      validateConfig(cfg);
      return [];
    } catch (err) {
      return (err as ConfigError).issues.map((i) => `${i.path}: ${i.message}`);
    }
  };
  it('consistent-hash needs hashOn, and a header or cookie key needs a name', () => {
    assert.deepEqual(paths(up({ balancer: 'consistent-hash' })), ['upstreams.pool.hashOn: is required with balancer "consistent-hash"']);
    assert.deepEqual(paths(up({ balancer: 'consistent-hash', hashOn: { source: 'header' } })), ['upstreams.pool.hashOn.name: is required when hashing on a header']);
    assert.deepEqual(paths(up({ balancer: 'consistent-hash', hashOn: { source: 'ip' } })), []);
  });
  it('DNS discovery: A records need a port, the resolver must be an IP', () => {
    assert.deepEqual(paths({ routes: [], upstreams: { pool: { discovery: { dns: [{ name: 'x.test' }] } } } }), ['upstreams.pool.discovery.dns[0].port: is required for A records']);
    assert.deepEqual(paths({ routes: [], upstreams: { pool: { discovery: { dns: [{ name: 'x.test', type: 'SRV', resolver: 'dns.local:53' }] } } } }),
      ['upstreams.pool.discovery.dns[0].resolver: must be an IP address with an optional port ("10.0.0.2:53", "[::1]:53"), not "dns.local:53"']);
    assert.deepEqual(paths({ routes: [], upstreams: { pool: { discovery: { dns: [{ name: 'x.test', type: 'SRV', resolver: '[::1]:5353' }] } } } }), []);
  });
  it('an upstream with neither targets nor discovery is refused', () => {
    assert.deepEqual(paths({ routes: [], upstreams: { pool: {} } }), ['upstreams.pool.targets: needs at least one target, or discovery.dns']);
  });
  it('active checks at least every 100ms; adaptive min not above max', () => {
    assert.deepEqual(paths(up({ health: { active: { interval: '10ms' } } })), ['upstreams.pool.health.active.interval: must be at least 100ms']);
    assert.deepEqual(paths(up({ limits: { adaptive: { min: 10, max: 5 } } })), ['upstreams.pool.limits.adaptive.min: must not exceed max (5)']);
  });
});
