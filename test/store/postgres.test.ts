import { createTestDatabase, pgQuery, postgresSkip, type TestDatabase } from '../helpers/postgres.ts';
import { defineStoreSuite } from './suite.ts';

let db: TestDatabase | undefined;
let n = 0;

/** The database's URL with its own search_path: each test gets an empty schema in this file's database. */
function inSchema(schema: string): string {
  const u = new URL(db!.url);
  u.searchParams.set('options', `-c search_path=${schema}`);
  return u.toString();
}

defineStoreSuite({
  name: 'postgres',
  skip: await postgresSkip(),
  setup: async () => { db = await createTestDatabase('store'); },
  teardown: async () => db?.drop(),
  fresh: async () => {
    const schema = `s${++n}`;
    await pgQuery(db!.url, `CREATE SCHEMA ${schema}`);
    return inSchema(schema);
  },
  raw: (url, sql) => pgQuery(url, sql),
});
