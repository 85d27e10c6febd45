import type { StoreConfigT } from '../config/schema/store.ts';
import { ConfigError } from '../config/errors.ts';
import { checkConfig } from '../config/check.ts';
import { parseConfigText } from '../config/load.ts';
import type { Json } from '../deploy/diff.ts';
import { deploySnapshot, deployTo, findDeployment, rollbackStage } from '../deploy/release.ts';
import { withoutNodeSections } from '../deploy/snapshot.ts';
import { StoreError } from '../store/errors.ts';
import { openStateStore } from '../store/open.ts';
import type { StateStore } from '../store/types.ts';
import { badRequest, invalidConfig, notFound, type Handler } from './reply.ts';

/**
 * The state store as the admin API uses it: the process's shared store, asked for on every call (it is opened once,
 * on first use), so a store closed by Gateway.stop or one that failed to open is tried again later. Any failure to
 * open is `unavailable` (503 `store_unavailable`), whatever the cause: a bad URL or a newer schema is the
 * operator's to fix, not the client's.
 */
export function storeOpener(settings: Partial<StoreConfigT> | undefined, baseDir: string | undefined): () => Promise<StateStore> {
  return async () => {
    try {
      return await openStateStore(settings, { baseDir });
    } catch (err) {
      throw new StoreError('unavailable', `the state store can't be opened: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  };
}

/**
 * Deployments, stages and the audit log (docs/admin-api.md). Changes go through src/deploy/release.ts, as the CLI's
 * do; each is written by the store with its history row and audit entry, the caller's token name as the actor.
 */
export function releaseRoutes(store: () => Promise<StateStore>): Record<string, Handler> {
  return {
    'GET /deployments': async (_body, _p, query) => {
      const q = readQuery(query, ['limit']);
      if ('errors' in q) return q.errors;
      return [200, { deployments: await (await store()).listDeployments({ limit: q.limit }) }];
    },
    'GET /deployments/:id': async (_body, p) => [200, await findDeployment(await store(), p.id!)],
    'GET /stages': async () => [200, { stages: await (await store()).listStages() }],
    'GET /stages/:name': async (_body, p) => {
      const stage = await (await store()).getStage(p.name!);
      return stage === undefined ? notFound(`no stage "${p.name}"`) : [200, stage];
    },
    'GET /stages/:name/history': async (_body, p, query) => {
      const q = readQuery(query, ['limit']);
      if ('errors' in q) return q.errors;
      const s = await store();
      if (await s.getStage(p.name!) === undefined) return notFound(`no stage "${p.name}"`);
      return [200, { stage: p.name, history: await s.stageHistory(p.name!, { limit: q.limit }) }];
    },
    'POST /stages/:name/deploy': async (body, p, _query, caller) => {
      const b = readBody(body, { config: 'object', deployment: 'string', message: 'string', expectedVersion: 'version' });
      if (Array.isArray(b)) return b;
      if ((b.config === undefined) === (b.deployment === undefined)) return badRequest('give exactly one of "config" (an API config) and "deployment" (an id)');
      if (typeof b.message !== 'string' || b.message === '') return badRequest('"message" is required: what this deployment changes');
      const input = { stage: p.name!, actor: caller.name, message: b.message, expectedVersion: b.expectedVersion as number | undefined };
      if (b.deployment !== undefined) {
        const s = await store();
        return [200, await deployTo(s, await findDeployment(s, b.deployment as string), input)];
      }
      const snapshot = await validatedSnapshot(b.config);
      if (snapshot instanceof ConfigError) return invalidConfig(snapshot.issues, 'nothing was deployed');
      return [200, await deploySnapshot(await store(), snapshot, input)];
    },
    'POST /stages/:name/rollback': async (body, p, _query, caller) => {
      const b = readBody(body, { to: 'string', message: 'string', expectedVersion: 'version' });
      if (Array.isArray(b)) return b;
      return [200, await rollbackStage(await store(), {
        stage: p.name!, actor: caller.name, to: b.to as string | undefined, message: b.message as string | undefined, expectedVersion: b.expectedVersion as number | undefined,
      })];
    },
    'GET /audit': async (_body, _p, query) => {
      const q = readQuery(query, ['limit', 'before', 'action', 'target']);
      if ('errors' in q) return q.errors;
      const entries = await (await store()).listAudit({ limit: q.limit, beforeId: q.before, action: q.action, target: q.target });
      const limit = q.limit ?? 100;
      return [200, entries.length === limit ? { entries, next: entries.at(-1)!.id } : { entries }];
    },
  };
}

/**
 * A config sent to deploy, checked exactly as PUT /config and POST /config/validate check one (`${env:…}` refused,
 * schema, references, plugins' own checks, a trial build), then without the node's own sections; or every issue.
 */
async function validatedSnapshot(config: unknown): Promise<Json | ConfigError> {
  try {
    await checkConfig(parseConfigText(JSON.stringify(config), 'admin request', { env: false }));
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    // Lines would count in our re-serialisation, not in what the client sent.
    return new ConfigError(err.issues.map(({ path, message }) => ({ path, message })));
  }
  return withoutNodeSections(config);
}

type FieldKind = 'object' | 'string' | 'version';

/** A JSON object body with only these fields, each of its kind (all optional); or the 400 saying what is wrong. */
function readBody(body: Buffer, fields: Record<string, FieldKind>): Record<string, unknown> | [number, unknown] {
  let v: unknown;
  try {
    v = body.length === 0 ? {} : JSON.parse(body.toString('utf8'));
  } catch {
    return badRequest('the body must be JSON');
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return badRequest('the body must be a JSON object');
  const errors: Array<{ param: string; message: string }> = [];
  for (const [k, value] of Object.entries(v)) {
    const kind = fields[k];
    if (kind === undefined) errors.push({ param: k, message: `is not a field of this body (they are ${Object.keys(fields).join(', ')})` });
    else if (kind === 'object' && (value === null || typeof value !== 'object' || Array.isArray(value))) errors.push({ param: k, message: 'must be an object' });
    else if (kind === 'string' && typeof value !== 'string') errors.push({ param: k, message: 'must be a string' });
    else if (kind === 'version' && !(Number.isInteger(value) && (value as number) >= 0)) errors.push({ param: k, message: 'must be a stage version (an integer, 0 for a new stage)' });
  }
  return errors.length > 0 ? badRequest(`invalid body: ${errors.map((e) => `${e.param} ${e.message}`).join('; ')}`, errors) : v as Record<string, unknown>;
}

interface ListQuery { limit?: number; before?: number; action?: string; target?: string }

/** The listing parameters of a query, only those named; unknown, repeated or malformed ones are a 400. */
function readQuery(query: URLSearchParams, names: ReadonlyArray<keyof ListQuery>): ListQuery | { errors: [number, unknown] } {
  const out: ListQuery = {};
  const errors: Array<{ param: string; message: string }> = [];
  for (const name of new Set(query.keys())) {
    const all = query.getAll(name);
    if (!(names as readonly string[]).includes(name)) errors.push({ param: name, message: `is not a parameter here (they are ${names.join(', ')})` });
    else if (all.length > 1) errors.push({ param: name, message: 'is given more than once' });
    else if (name === 'action' || name === 'target') out[name] = all[0]!;
    else {
      const n = Number(all[0]);
      const max = name === 'limit' ? 1000 : Number.MAX_SAFE_INTEGER;
      if (!Number.isInteger(n) || n < 1 || n > max) errors.push({ param: name, message: `must be an integer from 1 to ${max}` });
      else out[name as 'limit' | 'before'] = n;
    }
  }
  if (errors.length === 0) return out;
  return { errors: badRequest(`invalid query: ${errors.map((e) => `${e.param} ${e.message}`).join('; ')}`, errors) };
}
