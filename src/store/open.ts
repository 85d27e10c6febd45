import type { StoreConfigT } from '../config/schema/store.ts';
import { migrate } from './migrate.ts';
import { MIGRATIONS, type Migration } from './migrations.ts';
import { resolveStoreTarget, type StoreOpenOptions, type StoreTarget } from './settings.ts';
import { SqlStateStore } from './sql-store.ts';
import type { StateStore } from './types.ts';

/**
 * Opens a store of its own for these settings, migrated to the newest schema, which the caller closes. Most code
 * wants openStateStore's shared one; this is for tools and tests. `migrations` is for tests of migrating itself.
 */
export async function createStateStore(
  settings: Partial<StoreConfigT> | undefined,
  options: StoreOpenOptions = {},
  migrations: readonly Migration[] = MIGRATIONS,
): Promise<StateStore> {
  return openTarget(resolveStoreTarget(settings, options), migrations);
}

async function openTarget(target: StoreTarget, migrations: readonly Migration[] = MIGRATIONS): Promise<StateStore> {
  // Each engine's module (node:sqlite, pg) is loaded when a store of that engine opens, not by every start.
  const driver = target.engine === 'sqlite'
    ? (await import('./sqlite-driver.ts')).openSqlite(target.file, target.busyTimeoutMs)
    : (await import('./postgres-driver.ts')).openPostgres(target);
  try {
    return new SqlStateStore(driver, await migrate(driver, migrations));
  } catch (err) {
    await driver.close();
    throw err;
  }
}

/**
 * The process's stores, one per target: opened once (concurrent callers share the opening), kept until
 * closeStateStore. A failed opening is forgotten, so the next call tries again.
 */
const shared = new Map<string, Promise<StateStore>>();

/**
 * The state store for the `store` settings (with `EXPEDITOR_STORE_URL` applied), opened and migrated on first use
 * and shared by every caller in the process. Read at start: the settings are static. Its users must not close it.
 * Throws StoreError: `invalid` for a bad URL, `unavailable` when the database can't be opened or reached,
 * `incompatible` when a newer Expeditor migrated it, or the error of a failed migration.
 */
export async function openStateStore(settings: Partial<StoreConfigT> | undefined, options: StoreOpenOptions = {}): Promise<StateStore> {
  const target = resolveStoreTarget(settings, options);
  const id = JSON.stringify(target);
  let opening = shared.get(id);
  if (opening === undefined) {
    opening = openTarget(target);
    shared.set(id, opening);
    opening.catch(() => shared.delete(id));
  }
  return opening;
}

/** Closes every store openStateStore opened (for Gateway.stop); a later openStateStore opens afresh. */
export async function closeStateStore(): Promise<void> {
  const stores = [...shared.values()];
  shared.clear();
  await Promise.allSettled(stores.map(async (s) => (await s).close()));
}
