/** A value JSON can hold: what the store hands back, a fresh copy on every read. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** An immutable snapshot of a validated API configuration, named by its content. */
export interface Deployment {
  /** The hex SHA-256 of the config's canonical JSON (sorted keys): the same config always has the same id. */
  id: string;
  config: JsonValue;
  message: string;
  /** Who created it: the admin token's name, or the CLI user. */
  author: string;
  createdAt: Date;
}

/** A deployment without its config, for listings. */
export type DeploymentSummary = Omit<Deployment, 'config'>;

/**
 * Values written (a config, a kv value, audit details, a canary) may be any value JSON holds exactly, typed or not
 * (a validated Config, say): properties that are `undefined` are left out, as JSON.stringify does; anything else
 * JSON can't hold (NaN, a Date, a cycle…) is refused as `invalid`.
 */
export type JsonInput = unknown;

export interface NewDeployment {
  config: JsonInput;
  message: string;
  author: string;
}

/** A named stage (dev, staging, prod…) and the deployment it serves. */
export interface Stage {
  name: string;
  deploymentId: string;
  /** Stage variables (`${stage.vars.NAME}` in the config). */
  variables: Record<string, string>;
  /** Canary settings; reserved for canary releases, null when the stage has none. */
  canary: JsonValue | null;
  /** 1 when created, +1 on every change: the optimistic-concurrency token a change must present. */
  version: number;
  updatedAt: Date;
  updatedBy: string;
}

export interface StageWrite {
  name: string;
  deploymentId: string;
  /** Replaces the variables; omitted: kept as they were (none for a new stage). */
  variables?: Record<string, string>;
  /** Replaces the canary; null removes it; omitted: kept as it was (none for a new stage). */
  canary?: JsonInput;
  /** The stage's current version, as last read; 0 creates the stage, which must not exist yet. */
  expectedVersion: number;
  actor: string;
  message: string;
}

/** One change of a stage, as `expeditor history` and `rollback` read them. */
export interface StageChange {
  stage: string;
  /** The stage's version this change made (1 for its creation). */
  version: number;
  /** The deployment before the change; null when the change created the stage. Equal to `to` when only variables or canary changed. */
  from: string | null;
  to: string;
  at: Date;
  actor: string;
  message: string;
}

export interface NewAuditEntry {
  actor: string;
  /** What was done, dotted and lowercase: `stage.update`, `consumer.create`… */
  action: string;
  /** What it was done to: a stage name, a deployment id, `namespace/key`… */
  target: string;
  /** Default: `{}`. */
  details?: JsonInput;
}

export interface AuditEntry {
  /** Ascending in insertion order. */
  id: number;
  at: Date;
  actor: string;
  action: string;
  target: string;
  details: JsonValue;
}

export interface KvEntry {
  namespace: string;
  key: string;
  value: JsonValue;
  /** 1 when created, +1 on every put. */
  version: number;
  updatedAt: Date;
}

export interface KvWriteOptions {
  /**
   * The entry's current version: the write happens only if it still is (0: only if the entry does not exist).
   * Omitted: the write is unconditional.
   */
  expectedVersion?: number;
  /** An audit entry written in the same transaction as the change (none when nothing changed). */
  audit?: NewAuditEntry;
}

export interface ListOptions {
  /** Most rows returned; default 100, at most 1000. */
  limit?: number;
}

/**
 * The gateway's durable state: deployments, stages and their history, the audit log, and a generic key/value table
 * for later features (consumers and credentials created through the admin API, quota counters).
 *
 * Contract, for every engine:
 * - Every method is atomic: each write commits whole, or (when it throws, or when the process dies mid-write)
 *   leaves no trace. A write that touches several rows (a stage, its history row, its audit entry) is one
 *   transaction.
 * - A method that resolves has committed: a later call, from this process or another one on the same database,
 *   sees the write.
 * - Failures are StoreError, with a stable `code` (see errors.ts); a write that throws wrote nothing.
 * - Values read are fresh copies: mutating them changes nothing stored.
 * - Listings are newest first for deployments, history and the audit log; kv listings are by key, in code-point
 *   order.
 */
export interface StateStore {
  readonly engine: 'sqlite' | 'postgres';
  /** Where it is, for logs: the SQLite file, or `postgres://user@host:port/db` (never a password). */
  readonly address: string;
  /** The schema version after opening, and the migrations this open applied (usually none). */
  readonly schema: { readonly version: number; readonly applied: readonly number[] };

  /**
   * Stores a deployment, or finds it: its id is the hash of the config's canonical JSON, so putting the same config
   * again (in any key order) returns the existing deployment, its message, author and time unchanged, with
   * `created: false`. A new one is written with its `deployment.create` audit entry, in one transaction.
   */
  putDeployment(input: NewDeployment): Promise<{ deployment: Deployment; created: boolean }>;
  /** The deployment with this id, or undefined. */
  getDeployment(id: string): Promise<Deployment | undefined>;
  /** Deployments, newest first. */
  listDeployments(options?: ListOptions): Promise<DeploymentSummary[]>;

  /** The stage, or undefined. */
  getStage(name: string): Promise<Stage | undefined>;
  /** Every stage, by name. */
  listStages(): Promise<Stage[]>;
  /**
   * Creates (`expectedVersion: 0`) or changes a stage, with its history row and its `stage.create` or
   * `stage.update` audit entry, in one transaction, and returns the stage as written. Throws `conflict` when the
   * stage's version is no longer `expectedVersion` (or it exists already), `not_found` when the stage (for a
   * change) or the deployment does not exist.
   */
  setStage(input: StageWrite): Promise<Stage>;
  /**
   * Deletes a stage and its history, writing a `stage.delete` audit entry, in one transaction. Throws `conflict`
   * on a stale version, `not_found` when there is no such stage.
   */
  deleteStage(name: string, expectedVersion: number, actor: string): Promise<void>;
  /** The stage's changes, newest first (empty for an unknown stage). */
  stageHistory(name: string, options?: ListOptions): Promise<StageChange[]>;

  /** Appends an entry to the audit log. There is no way to change or remove one. */
  appendAudit(entry: NewAuditEntry): Promise<AuditEntry>;
  /** Audit entries, newest first; `beforeId` pages back, `action` and `target` filter. */
  listAudit(options?: ListOptions & { beforeId?: number; action?: string; target?: string }): Promise<AuditEntry[]>;

  /** The entry, or undefined. */
  kvGet(namespace: string, key: string): Promise<KvEntry | undefined>;
  /** Writes the entry (and `options.audit`) and returns it as stored. Throws `conflict` when `expectedVersion` does not match. */
  kvPut(namespace: string, key: string, value: JsonInput, options?: KvWriteOptions): Promise<KvEntry>;
  /**
   * Deletes the entry (and writes `options.audit`); false when there was none. With `expectedVersion`, throws
   * `conflict` unless the entry exists at that version.
   */
  kvDelete(namespace: string, key: string, options?: KvWriteOptions): Promise<boolean>;
  /** Entries of a namespace by key, those after `after` and starting with `prefix` when given. */
  kvList(namespace: string, options?: ListOptions & { prefix?: string; after?: string }): Promise<KvEntry[]>;

  /**
   * Waits for calls in flight and closes the connections; later calls throw `closed`. A store from
   * openStateStore is shared: closeStateStore closes it, its users must not.
   */
  close(): Promise<void>;
}
