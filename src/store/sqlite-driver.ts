import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import type { SqlDriver, SqlParam, SqlResult, SqlSession } from './driver.ts';
import { StoreError, asStoreError, type StoreErrorCode } from './errors.ts';
import { Mutex } from './mutex.ts';

/**
 * One mutex per file for the whole process. node:sqlite is synchronous, but a transaction spans awaits: without
 * this, a second connection in the same thread would meet the first one's write lock and spin in busy_timeout
 * while holding the event loop, and the first could never finish. Other processes are kept out by SQLite's own
 * locks (BEGIN IMMEDIATE, waiting up to busy_timeout).
 */
const fileLocks = new Map<string, Mutex>();

// Extended result codes (https://sqlite.org/rescode.html).
const CONSTRAINT_UNIQUE = 2067;
const CONSTRAINT_PRIMARYKEY = 1555;
const CONSTRAINT_FOREIGNKEY = 787;
const BUSY = 5;
const LOCKED = 6;
const CANTOPEN = 14;

function mapError(err: unknown): StoreError {
  if (err instanceof StoreError) return err;
  const errcode = (err as { errcode?: number }).errcode;
  if (typeof errcode !== 'number') return asStoreError(err);
  let code: StoreErrorCode = 'internal';
  if (errcode === CONSTRAINT_UNIQUE || errcode === CONSTRAINT_PRIMARYKEY) code = 'conflict';
  else if (errcode === CONSTRAINT_FOREIGNKEY) code = 'not_found';
  else if ((errcode & 0xff) === 19) code = 'invalid';
  else if ([BUSY, LOCKED, CANTOPEN].includes(errcode & 0xff)) code = 'unavailable';
  return asStoreError(err, code);
}

const RETURNS_ROWS = /^\s*(SELECT|WITH|PRAGMA)\b|\bRETURNING\b/i;

/** Opens (creating it and its directory if needed) a SQLite file in WAL mode with foreign keys on. */
export function openSqlite(file: string, busyTimeoutMs: number): SqlDriver {
  const created = !existsSync(file);
  let db: DatabaseSync | undefined;
  try {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    db = new DatabaseSync(file);
    // busy_timeout first: switching to WAL takes a lock another process may hold.
    db.exec(`PRAGMA busy_timeout = ${Math.trunc(busyTimeoutMs)}`);
    db.exec('PRAGMA journal_mode = WAL');
    // FULL: a committed write survives a power cut too, not only a crash of the process. Writes are admin-rate.
    db.exec('PRAGMA synchronous = FULL');
    db.exec('PRAGMA foreign_keys = ON');
    // Credentials and the audit log live here: readable by the gateway's user only.
    if (created) chmodSync(file, 0o600);
  } catch (err) {
    db?.close();
    throw new StoreError('unavailable', `cannot open SQLite store ${file}: ${(err as Error).message}`, { cause: err });
  }
  const open = db;
  let lock = fileLocks.get(file);
  if (lock === undefined) fileLocks.set(file, (lock = new Mutex()));
  const mutex = lock;
  let closed = false;

  const session: SqlSession = {
    query: async (sql, params = []) => run(open, sql, params),
    script: async (sql) => {
      try {
        open.exec(sql);
      } catch (err) {
        throw mapError(err);
      }
    },
  };
  const guarded = <T>(fn: () => Promise<T>): Promise<T> => mutex.run(async () => {
    if (closed) throw new StoreError('closed', 'the state store is closed');
    return fn();
  });

  const driver: SqlDriver = {
    engine: 'sqlite',
    address: file,
    query: (sql, params) => guarded(() => session.query(sql, params)),
    script: (sql) => guarded(() => session.script(sql)),
    transaction: (fn) => guarded(async () => {
      try {
        // IMMEDIATE takes the write lock now (waiting up to busy_timeout), not at the first write, where a
        // deferred transaction that lost the race would fail without waiting.
        open.exec('BEGIN IMMEDIATE');
      } catch (err) {
        throw mapError(err);
      }
      try {
        const result = await fn(session);
        open.exec('COMMIT');
        return result;
      } catch (err) {
        try {
          open.exec('ROLLBACK');
        } catch {
          // SQLite rolled back already (some errors end the transaction themselves).
        }
        throw mapError(err);
      }
    }),
    withMigrationLock: (fn) => fn(driver),
    close: () => mutex.run(async () => {
      if (closed) return;
      closed = true;
      open.close();
    }),
  };
  return driver;
}

function run(db: DatabaseSync, sql: string, params: readonly SqlParam[]): SqlResult {
  try {
    const stmt = db.prepare(sql);
    if (RETURNS_ROWS.test(sql)) {
      const rows = stmt.all(...params) as Record<string, unknown>[];
      return { rows, changes: rows.length };
    }
    return { rows: [], changes: Number(stmt.run(...params).changes) };
  } catch (err) {
    throw mapError(err);
  }
}
