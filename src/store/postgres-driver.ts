import pg from 'pg';
import type { SqlDriver, SqlParam, SqlResult, SqlSession } from './driver.ts';
import { StoreError, asStoreError, type StoreErrorCode } from './errors.ts';
import { redact } from './settings.ts';

/** The advisory-lock key migrations hold ("expedi" in ASCII): one migrating process per database at a time. */
const MIGRATION_LOCK = '111516268790889';

/** SQLSTATE classes and codes (https://www.postgresql.org/docs/current/errcodes-appendix.html). */
function codeOf(sqlstate: string): StoreErrorCode {
  if (sqlstate === '23505' || sqlstate === '40001' || sqlstate === '40P01') return 'conflict';
  if (sqlstate === '23503') return 'not_found';
  if (sqlstate.startsWith('22') || sqlstate.startsWith('23')) return 'invalid';
  // Connection exceptions, shutdowns, too many connections, no such database, authentication failed; and Node's
  // socket errors (ECONNREFUSED…).
  if (/^(08|57P0|53300|3D000|28|E[A-Z]+$)/.test(sqlstate)) return 'unavailable';
  return 'internal';
}

function mapError(err: unknown): StoreError {
  if (err instanceof StoreError) return err;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') return asStoreError(err, codeOf(code));
  // pg's own connection errors carry no code.
  if (/connection terminated|timeout exceeded when trying to connect|connection ended/i.test((err as Error).message ?? '')) {
    return asStoreError(err, 'unavailable');
  }
  return asStoreError(err);
}

/** `?` placeholders numbered as PostgreSQL wants them. The store's SQL has no `?` anywhere else. */
function numbered(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

function sessionOn(client: pg.PoolClient | pg.Pool): SqlSession {
  return {
    query: async (sql, params = []) => {
      try {
        const r = await client.query(numbered(sql), params as SqlParam[]);
        return { rows: r.rows as Record<string, unknown>[], changes: r.rowCount ?? 0 } satisfies SqlResult;
      } catch (err) {
        throw mapError(err);
      }
    },
    // Without parameters pg uses the simple-query protocol, which runs several statements.
    script: async (sql) => {
      try {
        await client.query(sql);
      } catch (err) {
        throw mapError(err);
      }
    },
  };
}

async function transactOn<T>(client: pg.PoolClient, fn: (tx: SqlSession) => Promise<T>): Promise<T> {
  const tx = sessionOn(client);
  await tx.script('BEGIN');
  try {
    const result = await fn(tx);
    await tx.script('COMMIT');
    return result;
  } catch (err) {
    // A failed ROLLBACK means a broken connection: the server rolls back when it goes.
    await client.query('ROLLBACK').catch(() => {});
    throw mapError(err);
  }
}

export interface PostgresOptions {
  url: string;
  poolSize: number;
  connectTimeoutMs: number;
}

/** A pool of connections to one PostgreSQL database. Nothing connects until the first call. */
export function openPostgres(options: PostgresOptions): SqlDriver {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.poolSize,
    connectionTimeoutMillis: options.connectTimeoutMs,
    idleTimeoutMillis: 30_000,
    application_name: 'expeditor',
  });
  // An idle connection that breaks (server restart) is dropped by the pool; the next call opens a new one and
  // fails with `unavailable` if it can't. Without a listener the error would crash the process.
  pool.on('error', () => {});
  const address = redact(options.url).replace(/\?.*$/, '');
  const inFlight = new Set<Promise<unknown>>();
  let closed = false;

  const track = <T>(fn: () => Promise<T>): Promise<T> => {
    if (closed) return Promise.reject(new StoreError('closed', 'the state store is closed'));
    const p = fn();
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p)).catch(() => {});
    return p;
  };
  const connect = async (): Promise<pg.PoolClient> => {
    try {
      return await pool.connect();
    } catch (err) {
      throw new StoreError('unavailable', `cannot connect to PostgreSQL at ${address}: ${(err as Error).message}`, { cause: err });
    }
  };
  const withClient = async <T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> => {
    const client = await connect();
    let broken = false;
    try {
      return await fn(client);
    } catch (err) {
      broken = (err as StoreError).code === 'unavailable';
      throw err;
    } finally {
      client.release(broken);
    }
  };
  const poolSession = sessionOn(pool);

  /** A driver whose every call runs on `client` (which holds the migration lock). */
  const pinned = (client: pg.PoolClient): SqlDriver => ({
    ...sessionOn(client),
    engine: 'postgres',
    address,
    transaction: (fn) => transactOn(client, fn),
    withMigrationLock: (fn) => fn(pinned(client)),
    close: async () => {},
  });

  return {
    engine: 'postgres',
    address,
    query: (sql, params) => track(() => poolSession.query(sql, params)),
    script: (sql) => track(() => poolSession.script(sql)),
    transaction: (fn) => track(() => withClient((client) => transactOn(client, fn))),
    withMigrationLock: (fn) => track(async () => {
      const client = await connect();
      try {
        await sessionOn(client).query(`SELECT pg_advisory_lock(${MIGRATION_LOCK})`);
        return await fn(pinned(client));
      } finally {
        // Closing the connection releases the lock on the server, whatever state the connection is in: a lock
        // left on a pooled connection would block every other process's migrations.
        client.release(true);
      }
    }),
    close: async () => {
      if (closed) return;
      closed = true;
      await Promise.allSettled([...inFlight]);
      await pool.end();
    },
  };
}
