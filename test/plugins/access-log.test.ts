import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { accessLog, flushAccessLogs } from '../../src/plugins/access-log/plugin.ts';
import { DEFAULT_FIELDS, FIELD_NAMES } from '../../src/plugins/access-log/fields.ts';
import { SECRET_HEADERS, SECRET_QUERY, redactQuery, redactUrl } from '../../src/plugins/access-log/redact.ts';
import type { RouteSecrets } from '../../src/core/route.ts';
import type { PluginHandlers } from '../../src/core/plugin.ts';
import { assertConfigError, context, create, schemaRefuses } from './support.ts';

const fixed = new Set(SECRET_QUERY);
const route = (query: string[]): RouteSecrets => ({ query: new Set(query), headers: new Set(), cookies: new Set() });

describe('access-log: query redaction', () => {
  it('replaces the values of the built-in secret parameters, keeping everything else byte for byte', () => {
    assert.equal(redactQuery('a=1&apikey=k&b=%20x&access_token=t&X-Amz-Signature=s', fixed, undefined),
      'a=1&apikey=[REDACTED]&b=%20x&access_token=[REDACTED]&X-Amz-Signature=[REDACTED]');
    assert.equal(redactQuery('page=2&sort=asc', fixed, undefined), 'page=2&sort=asc');
    assert.equal(redactQuery('', fixed, undefined), '');
  });

  it('matches names in any case and as a server decodes them', () => {
    assert.equal(redactQuery('APIKEY=k&api%5Fkey=k2&api%5fKEY=k3&Token=t', fixed, undefined),
      'APIKEY=[REDACTED]&api%5Fkey=[REDACTED]&api%5fKEY=[REDACTED]&Token=[REDACTED]');
    assert.equal(redactQuery('x%ZZ=1&%E0%A4%A=2', fixed, undefined), 'x%ZZ=1&%E0%A4%A=2', 'undecodable names are kept as they are');
  });

  it('redacts the parameters the route declares, and repeated ones, leaving empty values alone', () => {
    assert.equal(redactQuery('partnerKey=k&partnerKey=k2&partnerKey=&partnerKey', fixed, route(['partnerKey'])),
      'partnerKey=[REDACTED]&partnerKey=[REDACTED]&partnerKey=&partnerKey');
    assert.equal(redactQuery('partnerkey=k', fixed, route(['partnerKey'])), 'partnerkey=[REDACTED]');
    assert.equal(redactQuery('partnerKey=k', fixed, route([])), 'partnerKey=k');
  });

  it('redacts the query of a URL (a Referer), keeping its fragment', () => {
    assert.equal(redactUrl('https://a.example/p?token=t&x=1#frag', fixed, undefined), 'https://a.example/p?token=[REDACTED]&x=1#frag');
    assert.equal(redactUrl('https://a.example/p', fixed, undefined), 'https://a.example/p');
  });

  it('always redacts Authorization, Proxy-Authorization, cookies and API key headers', () => {
    for (const h of ['authorization', 'proxy-authorization', 'cookie', 'set-cookie', 'x-api-key']) assert.ok(SECRET_HEADERS.includes(h), h);
  });
});

describe('access-log: config', () => {
  it('takes every default from {}', () => {
    const h = create(accessLog, {});
    assert.equal(typeof h.log, 'function');
    assert.equal(h.rewrite, undefined);
    assert.equal(h.response, undefined);
  });

  it('has no handler at all when disabled', () => {
    assert.deepEqual(create(accessLog, { enabled: false }), {});
  });

  it('refuses unknown fields, a sampling rate outside 0..1, bad header names and unknown destinations in the schema', () => {
    assert.ok(schemaRefuses(accessLog, { fields: ['status', 'body'] }));
    assert.ok(schemaRefuses(accessLog, { fields: ['status', 'status'] }));
    assert.ok(schemaRefuses(accessLog, { sampling: 1.5 }));
    assert.ok(schemaRefuses(accessLog, { sampling: -0.1 }));
    assert.ok(schemaRefuses(accessLog, { headers: ['bad header'] }));
    assert.ok(schemaRefuses(accessLog, { destination: 'syslog' }));
    assert.ok(schemaRefuses(accessLog, { destination: { file: 'a.log', rotate: { size: 'big' } } }));
    assert.ok(schemaRefuses(accessLog, { destination: { file: 'a.log', rotate: { keep: 0 } } }));
    assert.ok(schemaRefuses(accessLog, { redact: { cookies: ['a'] } }));
    assert.ok(!schemaRefuses(accessLog, { destination: { file: 'a.log', rotate: { size: '10mb', interval: 'daily', keep: 7 } } }));
    assert.ok(!schemaRefuses(accessLog, { destination: { file: 'a.log', rotate: { interval: '30m' } } }));
  });

  it('refuses a rotation with neither size nor interval, zero sizes and intervals, and a directory as the file', (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'expeditor-access-log-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    assertConfigError(accessLog, { destination: { file: join(dir, 'a.log'), rotate: { keep: 3 } } }, 'destination.rotate', /size.*interval/);
    assertConfigError(accessLog, { destination: { file: join(dir, 'a.log'), rotate: { size: 0 } } }, 'destination.rotate.size', /more than 0/);
    assertConfigError(accessLog, { destination: { file: join(dir, 'a.log'), rotate: { interval: '0s' } } }, 'destination.rotate.interval', /longer than 0/);
    assertConfigError(accessLog, { destination: { file: dir } }, 'destination.file', /is a directory/);
    writeFileSync(join(dir, 'plain'), '');
    assertConfigError(accessLog, { destination: { file: join(dir, 'plain', 'a.log') } }, 'destination.file', /is not a directory/);
  });

  it('creates no file until the first line (validating a config has no side effect)', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'expeditor-access-log-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'sub', 'access.log');
    const h = create(accessLog, { destination: { file }, fields: ['status', 'aborted'] });
    await flushAccessLogs();
    assert.throws(() => readFileSync(file));
    const ctx = context();
    ctx.status = 204;
    h.log!(ctx);
    ctx.status = 0;
    ctx.clientGone = true;
    h.log!(ctx);
    await flushAccessLogs();
    assert.equal(readFileSync(file, 'utf8'), '{"level":"info","status":204}\n{"level":"warn","status":0,"aborted":true}\n');
  });
});

describe('access-log: shared destinations', () => {
  it('shares one stream per file between instances; the last close() writes everything out and closes it', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'expeditor-access-log-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'access.log');
    const a = create(accessLog, { destination: { file }, fields: ['path'] }) as PluginHandlers & { close(): Promise<void> };
    const b = create(accessLog, { destination: { file }, fields: ['status'] }) as PluginHandlers & { close(): Promise<void> };
    const ctx = context();
    ctx.status = 200;
    a.log!(ctx);
    b.log!(ctx);
    await a.close();
    b.log!(ctx);
    await b.close();
    assert.equal(readFileSync(file, 'utf8'), '{"level":"info","path":"/things"}\n{"level":"info","status":200}\n{"level":"info","status":200}\n');
    // A closed instance that is still called (a straggler of a retired runtime) opens the file again.
    a.log!(ctx);
    await a.close();
    assert.equal(readFileSync(file, 'utf8').split('\n').length, 5);
  });
});

describe('docs/access-log.md', () => {
  const doc = readFileSync(new URL('../../docs/access-log.md', import.meta.url), 'utf8');

  it('documents every field, and marks the default ones', () => {
    for (const f of FIELD_NAMES) {
      const row = doc.split('\n').find((l) => l.startsWith(`| \`${f}\` |`));
      assert.ok(row !== undefined, `field \`${f}\` has no row in the field table`);
      assert.equal(row.split('|')[2]!.trim() === 'yes', DEFAULT_FIELDS.includes(f), `default column of \`${f}\``);
    }
  });

  it('lists the built-in secret query parameters and headers', () => {
    for (const q of SECRET_QUERY) assert.ok(doc.includes(`\`${q}\``), q);
    for (const h of SECRET_HEADERS) assert.ok(doc.toLowerCase().includes(`\`${h}\``), h);
  });
});
