/**
 * The store's schema, as numbered migrations. A migration is never edited once released: a change is a new one.
 * Each runs in its own transaction with the insert of its row in `schema_migrations`, so the database is always
 * at one version or the next, never between. The two dialects differ only where they must (see Dialect):
 * PostgreSQL text keys use the "C" collation so that listings are in code-point order as SQLite's are. Times are
 * epoch milliseconds; JSON is text.
 */
export interface Migration {
  version: number;
  name: string;
  sqlite: string;
  postgres: string;
}

/** The words that differ between the dialects; the rest of the DDL is written once, so both engines get the same tables. */
interface Dialect {
  /** A text column that is a key or is sorted on. */
  key: string;
  /** Epoch milliseconds. */
  time: string;
  /** An ascending integer primary key assigned on insert. */
  serial: string;
}

const SQLITE: Dialect = { key: 'TEXT', time: 'INTEGER', serial: 'INTEGER PRIMARY KEY AUTOINCREMENT' };
const POSTGRES: Dialect = { key: 'TEXT COLLATE "C"', time: 'BIGINT', serial: 'BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY' };

const initial = (d: Dialect) => `
CREATE TABLE deployments (
  id ${d.key} PRIMARY KEY,
  config TEXT NOT NULL,
  message TEXT NOT NULL,
  author TEXT NOT NULL,
  created_at ${d.time} NOT NULL
);
CREATE INDEX deployments_created_at ON deployments (created_at);
CREATE TABLE stages (
  name ${d.key} PRIMARY KEY,
  deployment_id ${d.key} NOT NULL REFERENCES deployments (id),
  variables TEXT NOT NULL,
  canary TEXT,
  version INTEGER NOT NULL,
  updated_at ${d.time} NOT NULL,
  updated_by TEXT NOT NULL
);
CREATE TABLE stage_history (
  stage ${d.key} NOT NULL REFERENCES stages (name) ON DELETE CASCADE,
  version INTEGER NOT NULL,
  from_deployment ${d.key} REFERENCES deployments (id),
  to_deployment ${d.key} NOT NULL REFERENCES deployments (id),
  at ${d.time} NOT NULL,
  actor TEXT NOT NULL,
  message TEXT NOT NULL,
  PRIMARY KEY (stage, version)
);
CREATE TABLE audit_log (
  id ${d.serial},
  at ${d.time} NOT NULL,
  actor TEXT NOT NULL,
  action ${d.key} NOT NULL,
  target ${d.key} NOT NULL,
  details TEXT NOT NULL
);
CREATE INDEX audit_log_action ON audit_log (action, id);
CREATE INDEX audit_log_target ON audit_log (target, id);
CREATE TABLE kv (
  namespace ${d.key} NOT NULL,
  key ${d.key} NOT NULL,
  value TEXT NOT NULL,
  version INTEGER NOT NULL,
  updated_at ${d.time} NOT NULL,
  PRIMARY KEY (namespace, key)
);
`;

export const MIGRATIONS: readonly Migration[] = [
  { version: 1, name: 'deployments, stages, history, audit log, kv', sqlite: initial(SQLITE), postgres: initial(POSTGRES) },
];
