import { Command } from 'commander';
import { userInfo } from 'node:os';
import { dirname, resolve } from 'node:path';
import { ConfigError } from '../config/errors.ts';
import { loadConfigFile } from '../config/load.ts';
import { checkConfig } from '../config/check.ts';
import type { Config } from '../config/schema/index.ts';
import { createStateStore } from '../store/open.ts';
import { StoreError } from '../store/errors.ts';
import type { StateStore } from '../store/types.ts';
import { formatDiff, type Json } from '../deploy/diff.ts';
import { changesOn, deploySnapshot, rollbackStage, shortId, type Release } from '../deploy/release.ts';
import { apiSnapshot } from '../deploy/snapshot.ts';
import { DEFAULT_CONFIG, Refusal, guarded } from './yaml-edit.ts';
import { reportIssues } from './validate.ts';

interface StoreOptions { config: string; actor?: string }

/** Who is acting, for the history and the audit log: --actor, $EXPEDITOR_ACTOR, else the OS user. */
function actorOf(opts: StoreOptions): string {
  return opts.actor ?? process.env.EXPEDITOR_ACTOR ?? `cli:${userInfo().username}`;
}

/** The config file, validated (every error printed, as `validate` does), or undefined when it is invalid. */
async function validated(file: string): Promise<Config | undefined> {
  try {
    return await checkConfig(await loadConfigFile(file));
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    reportIssues(file, err);
    return undefined;
  }
}

/** The `store` section of a config file that need not be valid otherwise (history and rollback read no routes). */
async function storeSection(file: string): Promise<Config['store']> {
  try {
    const value = (await loadConfigFile(file)).value as { store?: Config['store'] } | null;
    return value?.store;
  } catch (err) {
    if (err instanceof ConfigError) throw new Refusal(`${file}: ${err.issues[0]?.message ?? 'cannot be read'}`);
    throw err;
  }
}

/** Runs `fn` with the store the config file names (or $EXPEDITOR_STORE_URL), closed afterwards. */
async function withStore<T>(file: string, config: Config | undefined, fn: (store: StateStore) => Promise<T>): Promise<T> {
  let store: StateStore;
  try {
    store = await createStateStore(config?.store ?? await storeSection(file), { baseDir: dirname(resolve(file)) });
  } catch (err) {
    if (err instanceof StoreError) throw new Refusal(`state store: ${err.message}`);
    throw err;
  }
  try {
    return await fn(store);
  } catch (err) {
    if (err instanceof StoreError) throw new Refusal(`${err.code}: ${err.message}`);
    throw err;
  } finally {
    await store.close();
  }
}

/**
 * The common start of deploy and diff: the config file validated (or its errors printed and nothing done), then its
 * API snapshot with the store it names.
 */
async function withSnapshot(opts: StoreOptions, fn: (store: StateStore, snapshot: Json) => Promise<void>): Promise<void> {
  const config = await validated(opts.config);
  if (config === undefined) return;
  const snapshot = await apiSnapshot(opts.config);
  await withStore(opts.config, config, (store) => fn(store, snapshot));
}

/** The line `deploy` and `rollback` print about the stage. */
function moved(r: Release): string {
  const name = r.stage.name;
  if (!r.changed) return `stage ${name} already serves ${shortId(r.stage.deploymentId)}: nothing changed`;
  return `stage ${name} now serves ${shortId(r.stage.deploymentId)} (version ${r.stage.version}${r.from === null ? ', new stage' : `, was ${shortId(r.from)}`})`;
}

const withCommon = (cmd: Command) => cmd
  .option('-c, --config <file>', 'config file: the API config to deploy, and the `store` to use', DEFAULT_CONFIG)
  .option('--actor <name>', 'who is acting, for the history and the audit log (default: $EXPEDITOR_ACTOR, else cli:<user>)');

const deploy = withCommon(new Command('deploy'))
  .description('Validate the config file and deploy its API config to a stage: an immutable, content-addressed snapshot, '
    + 'recorded with its message and author, and the stage pointed at it.')
  .requiredOption('-s, --stage <name>', 'the stage (created on its first deployment)')
  .requiredOption('-m, --message <text>', 'what this deployment changes')
  .addHelpText('after', `
Example:
  $ expeditor deploy --stage prod -m "orders: cache for a minute"
  deployment 3f9c2a1b7e40 (new), 2 changes
  stage prod now serves 3f9c2a1b7e40 (version 4, was 9ab01c33d2e7)`)
  .action(guarded('deploy', async (opts: StoreOptions & { stage: string; message: string }) => {
    await withSnapshot(opts, async (store, snapshot) => {
      const r = await deploySnapshot(store, snapshot, { stage: opts.stage, actor: actorOf(opts), message: opts.message });
      process.stdout.write(`deployment ${shortId(r.deployment.id)} (${r.created ? 'new' : 'existing'}), ${r.changes.length} change${r.changes.length === 1 ? '' : 's'}\n`);
      process.stdout.write(`${moved(r)}\n`);
    });
  }));

const diff = withCommon(new Command('diff'))
  .description('Show what deploying the config file would change on a stage, route by route and field by field.')
  .requiredOption('-s, --stage <name>', 'the stage to compare with')
  .option('--json', 'print the changes as JSON')
  .action(guarded('diff', async (opts: StoreOptions & { stage: string; json?: boolean }) => {
    await withSnapshot(opts, async (store, snapshot) => {
      const { stage, changes } = await changesOn(store, opts.stage, snapshot);
      if (opts.json) process.stdout.write(`${JSON.stringify({ stage: opts.stage, deployed: stage?.deploymentId ?? null, changes }, null, 2)}\n`);
      else {
        process.stdout.write(stage === undefined ? `stage ${opts.stage} does not exist yet: everything is new\n` : `stage ${opts.stage} serves ${shortId(stage.deploymentId)}\n`);
        process.stdout.write(formatDiff(changes));
      }
    });
  }));

const history = withCommon(new Command('history'))
  .description('List a stage\'s changes, newest first (or every deployment, without --stage).')
  .option('-s, --stage <name>', 'the stage')
  .option('-n, --limit <n>', 'most entries', '20')
  .action(guarded('history', async (opts: StoreOptions & { stage?: string; limit: string }) => {
    const limit = Number(opts.limit);
    if (!Number.isInteger(limit) || limit < 1) throw new Refusal(`--limit must be a positive integer, not "${opts.limit}"`);
    await withStore(opts.config, undefined, async (store) => {
      const rows: string[][] = [];
      if (opts.stage !== undefined) {
        rows.push(['VERSION', 'DEPLOYMENT', 'FROM', 'AT', 'ACTOR', 'MESSAGE']);
        for (const c of await store.stageHistory(opts.stage, { limit })) {
          rows.push([String(c.version), shortId(c.to), c.from === null ? '-' : shortId(c.from), c.at.toISOString(), c.actor, c.message]);
        }
        if (rows.length === 1) throw new Refusal(`stage ${opts.stage} has no history (no such stage?)`);
      } else {
        rows.push(['DEPLOYMENT', 'CREATED', 'AUTHOR', 'MESSAGE']);
        for (const d of await store.listDeployments({ limit })) rows.push([shortId(d.id), d.createdAt.toISOString(), d.author, d.message]);
      }
      const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
      process.stdout.write(rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n') + '\n');
    });
  }));

const rollback = withCommon(new Command('rollback'))
  .description('Point a stage back at the deployment it served before its last change, or at --to ID.')
  .requiredOption('-s, --stage <name>', 'the stage')
  .option('--to <id>', 'a deployment id (or 6+ characters of it) instead of the previous one')
  .option('-m, --message <text>', 'why (default: "rollback to <id>")')
  .action(guarded('rollback', async (opts: StoreOptions & { stage: string; to?: string; message?: string }) => {
    await withStore(opts.config, undefined, async (store) => {
      process.stdout.write(`${moved(await rollbackStage(store, { stage: opts.stage, to: opts.to, actor: actorOf(opts), message: opts.message }))}\n`);
    });
  }));

export const deployCommands = [deploy, diff, history, rollback];
