import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { defineStoreSuite } from './suite.ts';

let dir = '';
let n = 0;

defineStoreSuite({
  name: 'sqlite',
  setup: async () => { dir = mkdtempSync(join(tmpdir(), 'expeditor-store-')); },
  teardown: async () => rmSync(dir, { recursive: true, force: true }),
  // A directory that does not exist yet: opening creates it.
  fresh: async () => `sqlite:${join(dir, `s${++n}`, 'expeditor.db')}`,
  raw: async (url, sql) => {
    const db = new DatabaseSync(url.slice('sqlite:'.length));
    try {
      db.exec('PRAGMA busy_timeout = 5000');
      return /^\s*(SELECT|PRAGMA)/i.test(sql) ? db.prepare(sql).all() as Record<string, unknown>[] : (db.exec(sql), []);
    } finally {
      db.close();
    }
  },
});
