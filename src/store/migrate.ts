import type { SqlDriver } from './driver.ts';
import { StoreError } from './errors.ts';
import type { Migration } from './migrations.ts';

const MIGRATIONS_TABLE = `CREATE TABLE IF NOT EXISTS schema_migrations (
  version INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  applied_at BIGINT NOT NULL
)`;

/**
 * Brings the database to the newest of `migrations` and returns the schema version and the versions this call
 * applied. Safe when several processes start at once: PostgreSQL migrates under an advisory lock; SQLite's
 * transactions are IMMEDIATE (one writer at a time), and every transaction re-reads the version before applying
 * the next migration, so each runs exactly once. A migration that fails rolls back whole (DDL is transactional in
 * both engines) and leaves the database at the version before it; the error says which one failed. Throws
 * `incompatible` when the database is newer than these migrations (a newer Expeditor migrated it).
 */
export async function migrate(driver: SqlDriver, migrations: readonly Migration[]): Promise<{ version: number; applied: number[] }> {
  const latest = migrations.at(-1)?.version ?? 0;
  return driver.withMigrationLock(async (db) => {
    const applied: number[] = [];
    for (;;) {
      const step = await db.transaction(async (tx) => {
        await tx.script(MIGRATIONS_TABLE);
        const { rows } = await tx.query('SELECT MAX(version) AS version FROM schema_migrations');
        const current = Number(rows[0]?.version ?? 0);
        if (current > latest) {
          throw new StoreError('incompatible', `the state store ${driver.address} is at schema version ${current}, newer than this Expeditor knows (${latest}): run a newer Expeditor`);
        }
        const next = migrations.find((m) => m.version > current);
        if (next === undefined) return { current, next: undefined };
        try {
          await tx.script(next[driver.engine]);
        } catch (err) {
          throw new StoreError((err as StoreError).code ?? 'internal', `migration ${next.version} (${next.name}) of ${driver.address} failed, the store stays at version ${current}: ${(err as Error).message}`, { cause: err });
        }
        await tx.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)', [next.version, next.name, Date.now()]);
        return { current, next };
      });
      if (step.next === undefined) return { version: step.current, applied };
      applied.push(step.next.version);
    }
  });
}
