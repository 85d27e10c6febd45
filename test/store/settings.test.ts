import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ConfigError } from '../../src/config/errors.ts';
import { parseConfigText } from '../../src/config/load.ts';
import { validateConfig } from '../../src/config/validate.ts';
import { StoreError } from '../../src/store/errors.ts';
import { closeStateStore, createStateStore, openStateStore } from '../../src/store/open.ts';
import { redact, resolveStoreTarget } from '../../src/store/settings.ts';
import { freePort } from '../helpers/redis.ts';

const dir = mkdtempSync(join(tmpdir(), 'expeditor-store-settings-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('store settings', () => {
  it('default to a SQLite file in ./data beside the config file', () => {
    assert.deepEqual(resolveStoreTarget(undefined, { baseDir: '/etc/expeditor', env: {} }), { engine: 'sqlite', file: '/etc/expeditor/data/expeditor.db', busyTimeoutMs: 5000 });
    assert.equal(resolveStoreTarget({ url: 'sqlite:///var/lib/expeditor/state.db' }, { env: {} }).engine, 'sqlite');
    assert.deepEqual(resolveStoreTarget({ url: 'sqlite:///var/lib/x.db', busyTimeout: '2s' }, { env: {} }), { engine: 'sqlite', file: '/var/lib/x.db', busyTimeoutMs: 2000 });
  });

  it('take a postgres:// URL with pool settings', () => {
    assert.deepEqual(resolveStoreTarget({ url: 'postgresql://gw:pw@db:5432/expeditor', poolSize: 4, connectTimeout: 1000 }, { env: {} }), {
      engine: 'postgres', url: 'postgresql://gw:pw@db:5432/expeditor', poolSize: 4, connectTimeoutMs: 1000,
    });
  });

  it('are overridden by EXPEDITOR_STORE_URL, a relative path in it being from the working directory', () => {
    const env = { EXPEDITOR_STORE_URL: 'sqlite:state/x.db' };
    assert.equal((resolveStoreTarget({ url: 'postgres://db/x' }, { baseDir: '/etc/expeditor', env }) as { file: string }).file, resolve('state/x.db'));
    assert.equal(resolveStoreTarget(undefined, { env: { EXPEDITOR_STORE_URL: 'postgres://db/x' } }).engine, 'postgres');
    assert.equal(resolveStoreTarget({ url: 'postgres://db/x' }, { env: { EXPEDITOR_STORE_URL: '' } }).engine, 'postgres', 'an empty variable is unset');
    assert.throws(() => resolveStoreTarget(undefined, { env: { EXPEDITOR_STORE_URL: 'mysql://u:secret@db/x' } }), (err: StoreError) => {
      assert.equal(err.code, 'invalid');
      assert.match(err.message, /^EXPEDITOR_STORE_URL: /);
      assert.doesNotMatch(err.message, /secret/);
      return true;
    });
  });

  it('are checked by config validation, at store.url, with passwords from ${env:…}', () => {
    assert.throws(() => validateConfig({ routes: [], store: { url: 'mysql://db/x' } }), (err: ConfigError) => {
      assert.deepEqual(err.issues.map((i) => i.path), ['store.url']);
      return true;
    });
    const loaded = parseConfigText('store: { url: "postgres://gw:${env:PGPASS}@db:5432/expeditor" }\nroutes: []\n', 'x.yaml', { env: { PGPASS: 's3cret' } });
    assert.equal(validateConfig(loaded.value, loaded).store?.url, 'postgres://gw:s3cret@db:5432/expeditor');
    assert.equal(validateConfig({ routes: [], store: {} }).store?.url, 'sqlite:./data/expeditor.db');
    assert.equal(redact('postgres://gw:s3cret@db:5432/expeditor'), 'postgres://gw@db:5432/expeditor');
  });
});

describe('opening a store', () => {
  it('creates the SQLite file and its directory, readable by its owner only, in WAL mode', async () => {
    const store = await createStateStore({ url: 'sqlite:data/nested/e.db' }, { baseDir: dir, env: {} });
    await store.close();
    const file = join(dir, 'data/nested/e.db');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.ok(existsSync(`${file}-wal`) || statSync(file).size > 0);
    const header = Buffer.alloc(20);
    const { openSync, readSync, closeSync } = await import('node:fs');
    const fd = openSync(file, 'r');
    readSync(fd, header, 0, 20, 0);
    closeSync(fd);
    assert.equal(header[18], 2, 'the file format says WAL');
  });

  it('fails with `unavailable` when the database cannot be opened or reached', async () => {
    writeFileSync(join(dir, 'a-file'), '');
    await assert.rejects(createStateStore({ url: `sqlite:${join(dir, 'a-file', 'x.db')}` }, { env: {} }), (err: StoreError) => err.code === 'unavailable');
    const port = await freePort();
    const started = Date.now();
    await assert.rejects(createStateStore({ url: `postgres://postgres@127.0.0.1:${port}/x`, connectTimeout: '1s' }, { env: {} }), (err: StoreError) => {
      assert.equal(err.code, 'unavailable', err.message);
      return true;
    });
    assert.ok(Date.now() - started < 5000);
  });

  it('shares one store per target in the process until closeStateStore', async () => {
    const settings = { url: `sqlite:${join(dir, 'shared.db')}` };
    const [a, b] = await Promise.all([openStateStore(settings, { env: {} }), openStateStore(settings, { env: {} })]);
    assert.equal(a, b);
    await a.appendAudit({ actor: 't', action: 'x', target: 'y' });
    await closeStateStore();
    await assert.rejects(a.listAudit(), (err: StoreError) => err.code === 'closed');
    const c = await openStateStore(settings, { env: {} });
    assert.notEqual(c, a);
    assert.equal((await c.listAudit()).length, 1);
    await closeStateStore();
    await assert.rejects(openStateStore({ url: 'mysql://x' }, { env: {} }), (err: StoreError) => err.code === 'invalid');
  });
});
