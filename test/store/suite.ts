import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { StoreError, type StoreErrorCode } from '../../src/store/errors.ts';
import { MIGRATIONS } from '../../src/store/migrations.ts';
import { createStateStore } from '../../src/store/open.ts';
import type { JsonValue, StateStore } from '../../src/store/types.ts';

/** One engine as the shared suite needs it. */
export interface EngineUnderTest {
  name: 'sqlite' | 'postgres';
  /** Why the suite can't run here, or undefined. */
  skip?: string;
  setup(): Promise<void>;
  teardown(): Promise<void>;
  /** The URL of an empty store of its own. */
  fresh(): Promise<string>;
  /** Runs SQL on the database at `url` directly, past the store. */
  raw(url: string, sql: string): Promise<Record<string, unknown>[]>;
}

const WRITER = new URL('./fixtures/stage-writer.ts', import.meta.url).pathname;
const OPENER = new URL('./fixtures/open-store.ts', import.meta.url).pathname;

/** Opens a store of its own, ignoring EXPEDITOR_STORE_URL from the environment. */
const open = (url: string, migrations = MIGRATIONS) => createStateStore({ url }, { env: {} }, migrations);

function rejectsWith(code: StoreErrorCode) {
  return (err: unknown) => {
    assert.ok(err instanceof StoreError, `expected a StoreError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return true;
  };
}

async function count(raw: EngineUnderTest['raw'], url: string, sql: string): Promise<number> {
  return Number((await raw(url, sql))[0]!.n);
}

/** Runs a fixture with the Node running the tests, and resolves with its stdout once it exits 0. */
function runFixture(file: string, url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [file, url], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.once('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${file} exited ${code}:\n${err}`))));
  });
}

/** Starts the stage writer, lets it run for `ms` after its first commits, SIGKILLs it and waits until it is gone. */
async function killWriterMidRun(url: string, ms: number): Promise<void> {
  const child = spawn(process.execPath, [WRITER, url], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (c: Buffer) => { if (c.toString().includes('running')) resolve(); });
    void exited.then(() => reject(new Error(`the stage writer exited before running:\n${err}`)));
  });
  await new Promise((r) => setTimeout(r, ms));
  child.kill('SIGKILL');
  assert.equal(await exited, 'SIGKILL', `the writer died on its own:\n${err}`);
}

/** The store's defining behaviours, for one engine. */
export function defineStoreSuite(engine: EngineUnderTest): void {
  describe(`state store on ${engine.name}`, { skip: engine.skip }, () => {
    const stores: StateStore[] = [];
    /** A migrated store on a fresh database, closed after the suite. */
    const fresh = async () => {
      const url = await engine.fresh();
      const store = await open(url);
      stores.push(store);
      return { url, store };
    };
    before(() => engine.setup());
    after(async () => {
      await Promise.allSettled(stores.map((s) => s.close()));
      await engine.teardown();
    });

    it('addresses a deployment by the content of its config: the same config in any key order is one deployment', async () => {
      const { store } = await fresh();
      const config = { routes: [{ name: 'a', match: { path: '/a', methods: ['GET'] } }], listen: { port: 8080 } };
      const first = await store.putDeployment({ config, message: 'first', author: 'alice' });
      assert.equal(first.created, true);
      assert.equal(first.deployment.id, createHash('sha256').update(JSON.stringify({ listen: { port: 8080 }, routes: [{ match: { methods: ['GET'], path: '/a' }, name: 'a' }] })).digest('hex'));
      const again = await store.putDeployment({ config: { listen: { port: 8080 }, routes: [{ match: { methods: ['GET'], path: '/a' }, name: 'a' }] }, message: 'again', author: 'bob' });
      assert.equal(again.created, false);
      assert.equal(again.deployment.id, first.deployment.id);
      assert.equal(again.deployment.message, 'first', 'the existing deployment is returned unchanged');
      assert.equal(again.deployment.author, 'alice');
      const other = await store.putDeployment({ config: { ...config, listen: { port: 8081 } }, message: 'other', author: 'alice' });
      assert.notEqual(other.deployment.id, first.deployment.id);
      assert.deepEqual((await store.getDeployment(first.deployment.id))?.config, config);
      assert.equal(await store.getDeployment('0'.repeat(64)), undefined);
      assert.deepEqual((await store.listDeployments()).map((d) => d.id).sort(), [first.deployment.id, other.deployment.id].sort());
      assert.equal((await store.listAudit({ action: 'deployment.create' })).length, 2, 'one audit entry per deployment created');
      await assert.rejects(store.putDeployment({ config: { n: Number.NaN }, message: '', author: 'a' }), rejectsWith('invalid'));
    });

    it('creates and changes stages under optimistic concurrency: a stale version is a conflict', async () => {
      const { store } = await fresh();
      const d1 = (await store.putDeployment({ config: { v: 1 }, message: 'v1', author: 'alice' })).deployment.id;
      const d2 = (await store.putDeployment({ config: { v: 2 }, message: 'v2', author: 'alice' })).deployment.id;
      const created = await store.setStage({ name: 'prod', deploymentId: d1, variables: { region: 'eu' }, expectedVersion: 0, actor: 'alice', message: 'create' });
      assert.equal(created.version, 1);
      assert.deepEqual(created.variables, { region: 'eu' });
      assert.equal(created.canary, null);
      await assert.rejects(store.setStage({ name: 'prod', deploymentId: d1, expectedVersion: 0, actor: 'bob', message: 'again' }), rejectsWith('conflict'));
      const changed = await store.setStage({ name: 'prod', deploymentId: d2, canary: { weight: 5 }, expectedVersion: 1, actor: 'bob', message: 'deploy v2' });
      assert.equal(changed.version, 2);
      assert.equal(changed.deploymentId, d2);
      assert.deepEqual(changed.variables, { region: 'eu' }, 'variables omitted are kept');
      assert.deepEqual(changed.canary, { weight: 5 });
      assert.equal(changed.updatedBy, 'bob');
      await assert.rejects(store.setStage({ name: 'prod', deploymentId: d1, expectedVersion: 1, actor: 'carol', message: 'stale' }), rejectsWith('conflict'));
      await assert.rejects(store.setStage({ name: 'prod', deploymentId: 'f'.repeat(64), expectedVersion: 2, actor: 'carol', message: 'x' }), rejectsWith('not_found'));
      await assert.rejects(store.setStage({ name: 'qa', deploymentId: d1, expectedVersion: 3, actor: 'carol', message: 'x' }), rejectsWith('not_found'));
      const cleared = await store.setStage({ name: 'prod', deploymentId: d2, canary: null, expectedVersion: 2, actor: 'carol', message: 'abort canary' });
      assert.equal(cleared.canary, null);
      assert.deepEqual(await store.getStage('prod'), cleared);
      assert.deepEqual((await store.listStages()).map((s) => s.name), ['prod']);

      // Two writers holding the same version: exactly one wins.
      const results = await Promise.allSettled([1, 2].map((n) => store.setStage({ name: 'prod', deploymentId: n === 1 ? d1 : d2, expectedVersion: 3, actor: `w${n}`, message: 'race' })));
      assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
      const lost = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
      rejectsWith('conflict')(lost.reason);
      assert.equal((await store.getStage('prod'))?.version, 4);
    });

    it('writes the history row and the audit entry of a stage change in the same transaction', async () => {
      const { url, store } = await fresh();
      const d1 = (await store.putDeployment({ config: { v: 1 }, message: 'v1', author: 'alice' })).deployment.id;
      const d2 = (await store.putDeployment({ config: { v: 2 }, message: 'v2', author: 'alice' })).deployment.id;
      await store.setStage({ name: 'prod', deploymentId: d1, expectedVersion: 0, actor: 'alice', message: 'create' });
      await store.setStage({ name: 'prod', deploymentId: d2, expectedVersion: 1, actor: 'bob', message: 'deploy v2' });
      const history = await store.stageHistory('prod');
      assert.deepEqual(history.map((h) => [h.version, h.from, h.to, h.actor, h.message]), [[2, d1, d2, 'bob', 'deploy v2'], [1, null, d1, 'alice', 'create']]);
      const audit = await store.listAudit({ target: 'prod' });
      assert.deepEqual(audit.map((a) => a.action), ['stage.update', 'stage.create']);
      assert.deepEqual(audit[0]!.details, { from: d1, message: 'deploy v2', to: d2, version: 2 });

      // A history row for version 3 already there makes the next change fail after its UPDATE ran: none of it stays.
      await engine.raw(url, `INSERT INTO stage_history (stage, version, from_deployment, to_deployment, at, actor, message) VALUES ('prod', 3, NULL, '${d1}', 0, 'x', 'planted')`);
      await assert.rejects(store.setStage({ name: 'prod', deploymentId: d1, expectedVersion: 2, actor: 'carol', message: 'rollback' }), rejectsWith('conflict'));
      const stage = await store.getStage('prod');
      assert.equal(stage?.version, 2);
      assert.equal(stage?.deploymentId, d2);
      assert.equal((await store.listAudit({ target: 'prod' })).length, 2);
    });

    it('deletes a stage with its history, under the same version check, and audits it', async () => {
      const { store } = await fresh();
      const d = (await store.putDeployment({ config: {}, message: '', author: 'a' })).deployment.id;
      await store.setStage({ name: 'dev', deploymentId: d, expectedVersion: 0, actor: 'a', message: '' });
      await assert.rejects(store.deleteStage('dev', 2, 'a'), rejectsWith('conflict'));
      await assert.rejects(store.deleteStage('nope', 1, 'a'), rejectsWith('not_found'));
      await store.deleteStage('dev', 1, 'a');
      assert.equal(await store.getStage('dev'), undefined);
      assert.deepEqual(await store.stageHistory('dev'), []);
      assert.equal((await store.listAudit({ action: 'stage.delete' }))[0]?.target, 'dev');
      assert.equal((await store.setStage({ name: 'dev', deploymentId: d, expectedVersion: 0, actor: 'a', message: '' })).version, 1);
    });

    it('appends to the audit log and lists it newest first, filtered and paged', async () => {
      const { store } = await fresh();
      const a = await store.appendAudit({ actor: 'alice', action: 'consumer.create', target: 'c1', details: { groups: ['gold'] } });
      const b = await store.appendAudit({ actor: 'bob', action: 'consumer.delete', target: 'c1' });
      const c = await store.appendAudit({ actor: 'bob', action: 'consumer.create', target: 'c2' });
      assert.ok(a.id < b.id && b.id < c.id);
      assert.deepEqual(b.details, {});
      assert.deepEqual((await store.listAudit()).map((e) => e.id), [c.id, b.id, a.id]);
      assert.deepEqual((await store.listAudit({ action: 'consumer.create' })).map((e) => e.target), ['c2', 'c1']);
      assert.deepEqual((await store.listAudit({ beforeId: c.id, limit: 1 })).map((e) => e.id), [b.id]);
      assert.deepEqual((await store.listAudit({ target: 'c1', action: 'consumer.create' }))[0]?.details, { groups: ['gold'] });
      await assert.rejects(store.appendAudit({ actor: '', action: 'x', target: 'y' }), rejectsWith('invalid'));
    });

    it('puts key/values only at the expected version, with their audit entry, and lists a namespace by key', async () => {
      const { store } = await fresh();
      const v1 = await store.kvPut('consumers', 'alice', { groups: ['gold'] }, { expectedVersion: 0, audit: { actor: 'admin', action: 'consumer.create', target: 'alice' } });
      assert.equal(v1.version, 1);
      await assert.rejects(store.kvPut('consumers', 'alice', {}, { expectedVersion: 0, audit: { actor: 'admin', action: 'consumer.create', target: 'alice' } }), rejectsWith('conflict'));
      assert.equal((await store.listAudit({ action: 'consumer.create' })).length, 1, 'a refused write audits nothing');
      const v2 = await store.kvPut('consumers', 'alice', { groups: [] }, { expectedVersion: 1 });
      assert.equal(v2.version, 2);
      await assert.rejects(store.kvPut('consumers', 'alice', {}, { expectedVersion: 1 }), rejectsWith('conflict'));
      await assert.rejects(store.kvPut('consumers', 'nobody', {}, { expectedVersion: 4 }), rejectsWith('conflict'));
      assert.equal((await store.kvPut('consumers', 'alice', 'plain', {})).version, 3, 'an unconditional put bumps the version');
      assert.deepEqual((await store.kvGet('consumers', 'alice'))?.value, 'plain');
      const values: [string, JsonValue][] = [['bob', 7], ['bo', [1, null]], ['carol', null], ['b\u00e9a', true]];
      for (const [key, value] of values) await store.kvPut('consumers', key, value);
      await store.kvPut('quotas', 'bob', 1);
      assert.deepEqual((await store.kvList('consumers')).map((e) => e.key), ['alice', 'bo', 'bob', 'b\u00e9a', 'carol']);
      assert.deepEqual((await store.kvList('consumers', { prefix: 'bo' })).map((e) => [e.key, e.value]), [['bo', [1, null]], ['bob', 7]]);
      assert.deepEqual((await store.kvList('consumers', { after: 'bob', limit: 1 })).map((e) => e.key), ['b\u00e9a']);
      assert.deepEqual((await store.kvList('consumers', { prefix: 'b\u00e9' })).map((e) => e.key), ['b\u00e9a']);
      await assert.rejects(store.kvDelete('consumers', 'alice', { expectedVersion: 2 }), rejectsWith('conflict'));
      assert.equal(await store.kvDelete('consumers', 'alice', { expectedVersion: 3, audit: { actor: 'admin', action: 'consumer.delete', target: 'alice' } }), true);
      assert.equal(await store.kvDelete('consumers', 'alice'), false);
      assert.equal(await store.kvGet('consumers', 'alice'), undefined);
      assert.equal((await store.listAudit({ action: 'consumer.delete' })).length, 1);
    });

    it('runs migrations once: opening again applies none and keeps the data', async () => {
      const url = await engine.fresh();
      const first = await open(url);
      assert.deepEqual(first.schema, { version: MIGRATIONS.at(-1)!.version, applied: MIGRATIONS.map((m) => m.version) });
      await first.putDeployment({ config: { kept: true }, message: '', author: 'a' });
      await first.close();
      const second = await open(url);
      assert.deepEqual(second.schema.applied, []);
      assert.equal((await second.listDeployments()).length, 1);
      await second.close();
      await assert.rejects(second.listStages(), rejectsWith('closed'));
    });

    it('leaves the database at the previous version when a migration fails, and refuses one newer than it knows', async () => {
      const url = await engine.fresh();
      const broken = { version: 1000, name: 'broken', sqlite: '', postgres: '' };
      broken.sqlite = broken.postgres = 'CREATE TABLE half_done (a INTEGER); INSERT INTO no_such_table VALUES (1);';
      await assert.rejects(open(url, [...MIGRATIONS, broken]), (err: StoreError) => err instanceof StoreError && /migration 1000 \(broken\)/.test(err.message));
      assert.equal(await count(engine.raw, url, 'SELECT MAX(version) AS n FROM schema_migrations'), MIGRATIONS.at(-1)!.version);
      await assert.rejects(engine.raw(url, 'SELECT * FROM half_done'), /half_done/);
      const ok = await open(url);
      assert.deepEqual(ok.schema.applied, []);
      await ok.close();
      await engine.raw(url, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, 'from the future', 0)");
      await assert.rejects(open(url), rejectsWith('incompatible'));
    });

    it('migrates once when several processes open a new store at the same time', async () => {
      const url = await engine.fresh();
      const outputs = await Promise.all([1, 2, 3, 4].map(() => runFixture(OPENER, url)));
      const applied = outputs.flatMap((o) => JSON.parse(o) as number[]).sort((a, b) => a - b);
      assert.deepEqual(applied, MIGRATIONS.map((m) => m.version), 'each migration applied by exactly one process');
      assert.equal(await count(engine.raw, url, 'SELECT COUNT(*) AS n FROM schema_migrations'), MIGRATIONS.length);
    });

    it('keeps every invariant when the writing process is killed mid-write', async () => {
      const url = await engine.fresh();
      let changes = 0;
      for (const ms of [150, 300, 450]) {
        await killWriterMidRun(url, ms);
        const store = await open(url);
        try {
          const stages = await store.listStages();
          assert.equal(stages.length, 3);
          for (const stage of stages) {
            assert.ok(await store.getDeployment(stage.deploymentId), `${stage.name} points at an existing deployment`);
            assert.equal((await store.stageHistory(stage.name, { limit: 1 }))[0]?.to, stage.deploymentId, `${stage.name}'s last change is its deployment`);
            assert.equal(await count(engine.raw, url, `SELECT COUNT(*) AS n FROM stage_history WHERE stage = '${stage.name}'`), stage.version, `${stage.name}: one history row per version`);
          }
          const history = await count(engine.raw, url, 'SELECT COUNT(*) AS n FROM stage_history');
          assert.ok(history > changes, 'the writer made progress in this round');
          changes = history;
          assert.equal(await count(engine.raw, url, "SELECT COUNT(*) AS n FROM audit_log WHERE action IN ('stage.create', 'stage.update')"), history);
          assert.equal(await count(engine.raw, url,
            'SELECT COUNT(*) AS n FROM stage_history h JOIN stage_history p ON p.stage = h.stage AND p.version = h.version - 1 WHERE h.from_deployment <> p.to_deployment'), 0, 'each change starts where the one before ended');
          assert.equal(await count(engine.raw, url, "SELECT COUNT(*) AS n FROM audit_log WHERE action = 'deployment.create'"), await count(engine.raw, url, 'SELECT COUNT(*) AS n FROM deployments'));
          const counter = await store.kvGet('test', 'counter');
          assert.equal(counter?.value, counter?.version);
          assert.equal(await count(engine.raw, url, "SELECT COUNT(*) AS n FROM audit_log WHERE action = 'counter.increment'"), counter?.version);
          if (engine.name === 'sqlite') assert.deepEqual((await engine.raw(url, 'PRAGMA integrity_check')).map((r) => r.integrity_check), ['ok']);
        } finally {
          await store.close();
        }
      }
    });
  });
}
