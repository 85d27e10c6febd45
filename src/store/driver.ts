/**
 * What the store's SQL needs from a database engine. Statements are written once, for both engines: `?`
 * placeholders (the PostgreSQL driver numbers them), JSON as TEXT, times as epoch milliseconds, and only syntax
 * both understand (`ON CONFLICT`, `RETURNING`).
 */
export type SqlParam = string | number | null;

/** A row as the engine returns it: integers may come back as strings (PostgreSQL BIGINT); mappers use Number(). */
export type Row = Record<string, unknown>;

export interface SqlResult {
  rows: Row[];
  /** Rows inserted, updated or deleted by the statement. */
  changes: number;
}

export interface SqlSession {
  /** Runs one statement. Failures are StoreError (engine errors mapped to codes). */
  query(sql: string, params?: readonly SqlParam[]): Promise<SqlResult>;
  /** Runs a script of statements without parameters (a migration). */
  script(sql: string): Promise<void>;
}

export interface SqlDriver extends SqlSession {
  readonly engine: 'sqlite' | 'postgres';
  /** For logs and messages: never a password. */
  readonly address: string;
  /**
   * Runs `fn` in one write transaction: committed when it resolves, rolled back when it throws (the error is
   * rethrown as a StoreError). Transactions of one driver never interleave their statements.
   */
  transaction<T>(fn: (tx: SqlSession) => Promise<T>): Promise<T>;
  /**
   * Runs `fn` holding the database's migration lock, which only one process at a time holds. Engines whose write
   * transactions already exclude each other across processes (SQLite) hold none: migrate re-checks the version
   * inside each transaction.
   */
  withMigrationLock<T>(fn: (db: SqlDriver) => Promise<T>): Promise<T>;
  /** Waits for calls in flight, then closes; later calls throw `closed`. */
  close(): Promise<void>;
}
