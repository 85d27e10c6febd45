import { canonicalJson, contentId, readJson } from './canonical-json.ts';
import type { SqlDriver, SqlSession } from './driver.ts';
import { toAudit, toChange, toKv, toStage, toSummary } from './rows.ts';
import { StoreError } from './errors.ts';
import type {
  AuditEntry, Deployment, DeploymentSummary, JsonInput, KvEntry, KvWriteOptions, ListOptions, NewAuditEntry, NewDeployment,
  Stage, StageChange, StageWrite, StateStore,
} from './types.ts';

const STAGE_COLUMNS = 'name, deployment_id, variables, canary, version, updated_at, updated_by';
const DEPLOYMENT_SUMMARY = 'id, message, author, created_at';

/** The limit of a listing: 100 unless asked, between 1 and 1000. */
function limitOf(options: ListOptions | undefined): number {
  const n = options?.limit ?? 100;
  if (!Number.isInteger(n) || n < 1) throw new StoreError('invalid', `limit must be a positive integer, not ${n}`);
  return Math.min(n, 1000);
}

function required(value: unknown, what: string): string {
  if (typeof value !== 'string' || value === '') throw new StoreError('invalid', `${what} must be a non-empty string`);
  return value;
}

function versionOf(value: unknown, what: string): number {
  if (!Number.isInteger(value) || (value as number) < 0) throw new StoreError('invalid', `${what} must be an integer ≥ 0, not ${String(value)}`);
  return value as number;
}

function variablesOf(value: unknown): Record<string, string> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new StoreError('invalid', 'variables must be an object of strings');
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== 'string') throw new StoreError('invalid', `variables.${k} must be a string`);
  }
  return value as Record<string, string>;
}

async function insertAudit(db: SqlSession, entry: NewAuditEntry, at: number): Promise<AuditEntry> {
  const details = canonicalJson(entry.details ?? {}, 'details');
  const { rows } = await db.query(
    'INSERT INTO audit_log (at, actor, action, target, details) VALUES (?, ?, ?, ?, ?) RETURNING id, at, actor, action, target, details',
    [at, required(entry.actor, 'actor'), required(entry.action, 'action'), required(entry.target, 'target'), details],
  );
  return toAudit(rows[0]!);
}

/**
 * The StateStore over SQL, the same statements for both engines (see driver.ts). Writes follow one pattern: read
 * what the precondition needs inside the transaction, write with the precondition in the WHERE clause too (so a
 * concurrent writer that got there first makes it match nothing), and count the rows changed.
 */
export class SqlStateStore implements StateStore {
  readonly #db: SqlDriver;
  readonly schema: { readonly version: number; readonly applied: readonly number[] };

  constructor(db: SqlDriver, schema: { version: number; applied: readonly number[] }) {
    this.#db = db;
    this.schema = schema;
  }

  get engine(): 'sqlite' | 'postgres' { return this.#db.engine; }
  get address(): string { return this.#db.address; }

  async putDeployment(input: NewDeployment): Promise<{ deployment: Deployment; created: boolean }> {
    const text = canonicalJson(input.config, 'config');
    const id = contentId(text);
    const author = required(input.author, 'author');
    if (typeof input.message !== 'string') throw new StoreError('invalid', 'message must be a string');
    return this.#db.transaction(async (tx) => {
      const now = Date.now();
      const inserted = await tx.query(
        'INSERT INTO deployments (id, config, message, author, created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING',
        [id, text, input.message, author, now],
      );
      const created = inserted.changes === 1;
      if (created) await insertAudit(tx, { actor: author, action: 'deployment.create', target: id, details: { message: input.message } }, now);
      const { rows } = await tx.query(`SELECT ${DEPLOYMENT_SUMMARY}, config FROM deployments WHERE id = ?`, [id]);
      return { deployment: { ...toSummary(rows[0]!), config: readJson(String(rows[0]!.config)) }, created };
    });
  }

  async getDeployment(id: string): Promise<Deployment | undefined> {
    const { rows } = await this.#db.query(`SELECT ${DEPLOYMENT_SUMMARY}, config FROM deployments WHERE id = ?`, [id]);
    return rows[0] === undefined ? undefined : { ...toSummary(rows[0]), config: readJson(String(rows[0].config)) };
  }

  async listDeployments(options?: ListOptions): Promise<DeploymentSummary[]> {
    const { rows } = await this.#db.query(`SELECT ${DEPLOYMENT_SUMMARY} FROM deployments ORDER BY created_at DESC, id LIMIT ?`, [limitOf(options)]);
    return rows.map(toSummary);
  }

  async getStage(name: string): Promise<Stage | undefined> {
    const { rows } = await this.#db.query(`SELECT ${STAGE_COLUMNS} FROM stages WHERE name = ?`, [name]);
    return rows[0] === undefined ? undefined : toStage(rows[0]);
  }

  async listStages(): Promise<Stage[]> {
    const { rows } = await this.#db.query(`SELECT ${STAGE_COLUMNS} FROM stages ORDER BY name`);
    return rows.map(toStage);
  }

  async setStage(input: StageWrite): Promise<Stage> {
    const name = required(input.name, 'name');
    const deploymentId = required(input.deploymentId, 'deploymentId');
    const actor = required(input.actor, 'actor');
    const expected = versionOf(input.expectedVersion, 'expectedVersion');
    if (typeof input.message !== 'string') throw new StoreError('invalid', 'message must be a string');
    const variables = input.variables === undefined ? undefined : canonicalJson(variablesOf(input.variables), 'variables');
    const canary = input.canary === undefined || input.canary === null ? input.canary : canonicalJson(input.canary, 'canary');
    return this.#db.transaction(async (tx) => {
      const current = (await tx.query(`SELECT ${STAGE_COLUMNS} FROM stages WHERE name = ?`, [name])).rows[0];
      if (expected === 0 && current !== undefined) throw new StoreError('conflict', `stage "${name}" exists already (version ${Number(current.version)})`);
      if (expected > 0 && current === undefined) throw new StoreError('not_found', `stage "${name}" does not exist`);
      if (current !== undefined && Number(current.version) !== expected) {
        throw new StoreError('conflict', `stage "${name}" is at version ${Number(current.version)}, not ${expected}: it changed since it was read`);
      }
      if ((await tx.query('SELECT 1 AS found FROM deployments WHERE id = ?', [deploymentId])).rows.length === 0) {
        throw new StoreError('not_found', `deployment ${deploymentId} does not exist`);
      }
      const now = Date.now();
      const version = expected + 1;
      const vars = variables ?? (current === undefined ? '{}' : String(current.variables));
      const can = canary === undefined ? (current?.canary ?? null) as string | null : canary;
      if (current === undefined) {
        await tx.query(`INSERT INTO stages (${STAGE_COLUMNS}) VALUES (?, ?, ?, ?, 1, ?, ?)`, [name, deploymentId, vars, can, now, actor]);
      } else {
        const updated = await tx.query(
          'UPDATE stages SET deployment_id = ?, variables = ?, canary = ?, version = ?, updated_at = ?, updated_by = ? WHERE name = ? AND version = ?',
          [deploymentId, vars, can, version, now, actor, name, expected],
        );
        if (updated.changes !== 1) throw new StoreError('conflict', `stage "${name}" changed since it was read`);
      }
      const from = current === undefined ? null : String(current.deployment_id);
      await tx.query(
        'INSERT INTO stage_history (stage, version, from_deployment, to_deployment, at, actor, message) VALUES (?, ?, ?, ?, ?, ?, ?)',
        [name, version, from, deploymentId, now, actor, input.message],
      );
      await insertAudit(tx, {
        actor,
        action: current === undefined ? 'stage.create' : 'stage.update',
        target: name,
        details: { version, from, to: deploymentId, message: input.message },
      }, now);
      const { rows } = await tx.query(`SELECT ${STAGE_COLUMNS} FROM stages WHERE name = ?`, [name]);
      return toStage(rows[0]!);
    });
  }

  async deleteStage(name: string, expectedVersion: number, actor: string): Promise<void> {
    const expected = versionOf(expectedVersion, 'expectedVersion');
    required(actor, 'actor');
    await this.#db.transaction(async (tx) => {
      const deleted = await tx.query('DELETE FROM stages WHERE name = ? AND version = ? RETURNING deployment_id', [name, expected]);
      if (deleted.rows.length === 0) {
        const { rows } = await tx.query('SELECT version FROM stages WHERE name = ?', [name]);
        if (rows[0] === undefined) throw new StoreError('not_found', `stage "${name}" does not exist`);
        throw new StoreError('conflict', `stage "${name}" is at version ${Number(rows[0].version)}, not ${expected}: it changed since it was read`);
      }
      await insertAudit(tx, { actor, action: 'stage.delete', target: name, details: { version: expected, deployment: String(deleted.rows[0]!.deployment_id) } }, Date.now());
    });
  }

  async stageHistory(name: string, options?: ListOptions): Promise<StageChange[]> {
    const { rows } = await this.#db.query(
      'SELECT stage, version, from_deployment, to_deployment, at, actor, message FROM stage_history WHERE stage = ? ORDER BY version DESC LIMIT ?',
      [name, limitOf(options)],
    );
    return rows.map(toChange);
  }

  async appendAudit(entry: NewAuditEntry): Promise<AuditEntry> {
    return this.#db.transaction((tx) => insertAudit(tx, entry, Date.now()));
  }

  async listAudit(options?: ListOptions & { beforeId?: number; action?: string; target?: string }): Promise<AuditEntry[]> {
    const where: string[] = [];
    const params: (string | number)[] = [];
    if (options?.beforeId !== undefined) { where.push('id < ?'); params.push(options.beforeId); }
    if (options?.action !== undefined) { where.push('action = ?'); params.push(options.action); }
    if (options?.target !== undefined) { where.push('target = ?'); params.push(options.target); }
    const { rows } = await this.#db.query(
      `SELECT id, at, actor, action, target, details FROM audit_log ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`,
      [...params, limitOf(options)],
    );
    return rows.map(toAudit);
  }

  async kvGet(namespace: string, key: string): Promise<KvEntry | undefined> {
    const { rows } = await this.#db.query('SELECT namespace, key, value, version, updated_at FROM kv WHERE namespace = ? AND key = ?', [namespace, key]);
    return rows[0] === undefined ? undefined : toKv(rows[0]);
  }

  async kvPut(namespace: string, key: string, value: JsonInput, options: KvWriteOptions = {}): Promise<KvEntry> {
    const ns = required(namespace, 'namespace');
    const k = required(key, 'key');
    const text = canonicalJson(value, 'value');
    const expected = options.expectedVersion === undefined ? undefined : versionOf(options.expectedVersion, 'expectedVersion');
    const returning = 'RETURNING namespace, key, value, version, updated_at';
    return this.#db.transaction(async (tx) => {
      const now = Date.now();
      let written;
      if (expected === undefined) {
        written = await tx.query(
          `INSERT INTO kv (namespace, key, value, version, updated_at) VALUES (?, ?, ?, 1, ?)
           ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value, version = kv.version + 1, updated_at = excluded.updated_at ${returning}`,
          [ns, k, text, now],
        );
      } else if (expected === 0) {
        written = await tx.query(`INSERT INTO kv (namespace, key, value, version, updated_at) VALUES (?, ?, ?, 1, ?) ON CONFLICT (namespace, key) DO NOTHING ${returning}`, [ns, k, text, now]);
      } else {
        written = await tx.query(`UPDATE kv SET value = ?, version = version + 1, updated_at = ? WHERE namespace = ? AND key = ? AND version = ? ${returning}`, [text, now, ns, k, expected]);
      }
      if (written.rows.length === 0) throw await this.#kvConflict(tx, ns, k, expected!);
      if (options.audit !== undefined) await insertAudit(tx, options.audit, now);
      return toKv(written.rows[0]!);
    });
  }

  async kvDelete(namespace: string, key: string, options: KvWriteOptions = {}): Promise<boolean> {
    const expected = options.expectedVersion === undefined ? undefined : versionOf(options.expectedVersion, 'expectedVersion');
    return this.#db.transaction(async (tx) => {
      const deleted = expected === undefined
        ? await tx.query('DELETE FROM kv WHERE namespace = ? AND key = ?', [namespace, key])
        : await tx.query('DELETE FROM kv WHERE namespace = ? AND key = ? AND version = ?', [namespace, key, expected]);
      if (deleted.changes === 0) {
        if (expected === undefined) return false;
        throw await this.#kvConflict(tx, namespace, key, expected);
      }
      if (options.audit !== undefined) await insertAudit(tx, options.audit, Date.now());
      return true;
    });
  }

  async #kvConflict(tx: SqlSession, namespace: string, key: string, expected: number): Promise<StoreError> {
    const { rows } = await tx.query('SELECT version FROM kv WHERE namespace = ? AND key = ?', [namespace, key]);
    const found = rows[0] === undefined ? 'does not exist' : `is at version ${Number(rows[0].version)}`;
    return new StoreError('conflict', `${namespace}/${key} ${found}, not version ${expected}`);
  }

  async kvList(namespace: string, options?: ListOptions & { prefix?: string; after?: string }): Promise<KvEntry[]> {
    const where = ['namespace = ?'];
    const params: (string | number)[] = [namespace];
    if (options?.after !== undefined) { where.push('key > ?'); params.push(options.after); }
    if (options?.prefix !== undefined && options.prefix !== '') {
      // Counted in code points, as both engines' substr counts characters.
      where.push('substr(key, 1, ?) = ?');
      params.push([...options.prefix].length, options.prefix);
    }
    const { rows } = await this.#db.query(
      `SELECT namespace, key, value, version, updated_at FROM kv WHERE ${where.join(' AND ')} ORDER BY key LIMIT ?`,
      [...params, limitOf(options)],
    );
    return rows.map(toKv);
  }

  close(): Promise<void> {
    return this.#db.close();
  }
}
