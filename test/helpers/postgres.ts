import { randomBytes } from 'node:crypto';
import pg from 'pg';

/**
 * A real PostgreSQL for tests: the server on 127.0.0.1:5432 (trust auth; `.ci/run` starts it), reached through its
 * `test` database, or EXPEDITOR_TEST_POSTGRES_URL. Tests call `postgresSkip()` first: with `CI=true` a server that
 * can't be reached is an error (CI must run these tests); elsewhere the tests are skipped and say why. Each test
 * file makes a database of its own with `createTestDatabase` and drops it after.
 */
export const POSTGRES_TEST_URL = process.env.EXPEDITOR_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** Runs one statement on the database at `url` with a connection of its own. */
export async function pgQuery(url: string, sql: string, params: unknown[] = []): Promise<Record<string, unknown>[]> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  await client.connect();
  try {
    return (await client.query(sql, params)).rows as Record<string, unknown>[];
  } finally {
    await client.end();
  }
}

/** Why the PostgreSQL tests can't run here (undefined when they can). Throws under CI=true instead of skipping. */
export async function postgresSkip(): Promise<string | undefined> {
  try {
    await pgQuery(POSTGRES_TEST_URL, 'SELECT 1');
    return undefined;
  } catch (err) {
    const why = `PostgreSQL is not reachable at ${POSTGRES_TEST_URL} (${(err as Error).message}); start it with \`pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start\``;
    if (process.env.CI === 'true') throw new Error(`PostgreSQL tests need a server: ${why}`);
    return why;
  }
}

export interface TestDatabase {
  readonly name: string;
  /** The database's URL (same server and user as POSTGRES_TEST_URL). */
  readonly url: string;
  /** Drops it, closing whatever is still connected to it. */
  drop(): Promise<void>;
}

/** Creates a fresh, uniquely named database. */
export async function createTestDatabase(label: string): Promise<TestDatabase> {
  const name = `expeditor_${label.replace(/[^a-z0-9_]/gi, '_').toLowerCase()}_${process.pid}_${randomBytes(4).toString('hex')}`;
  await pgQuery(POSTGRES_TEST_URL, `CREATE DATABASE ${name}`);
  const u = new URL(POSTGRES_TEST_URL);
  u.pathname = `/${name}`;
  return {
    name,
    url: u.toString(),
    drop: async () => {
      await pgQuery(POSTGRES_TEST_URL, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    },
  };
}
