import { StoreError } from '../store/errors.ts';
import type { Deployment, DeploymentSummary, Stage, StateStore } from '../store/types.ts';
import { diffConfigs, type EntityChange, type Json } from './diff.ts';

/**
 * Deploying and rolling back stages, shared by the CLI (`expeditor deploy|diff|rollback`) and the admin API. Each
 * change of a stage is one store transaction with its history row and audit entry. Failures are StoreError:
 * `not_found` (no such stage or deployment), `invalid` (an ambiguous id prefix, nothing to roll back to),
 * `conflict` (the stage changed since it was read, or is not at `expectedVersion`).
 */

/** What a deploy or rollback did to a stage. */
export interface Release {
  /** The stage as it is now. */
  stage: Stage;
  /** The deployment the stage served before; null when this created the stage. */
  from: string | null;
  /** False when the stage served that deployment already: nothing was written. */
  changed: boolean;
  /** What the stage's config changes, as `expeditor diff` shows it. */
  changes: EntityChange[];
}

export interface ReleaseInput {
  stage: string;
  actor: string;
  message: string;
  /** The stage's version as the caller read it (0: the stage must not exist yet); omitted: the version read now. */
  expectedVersion?: number;
}

export const shortId = (id: string): string => id.slice(0, 12);

/** The stage (undefined when it does not exist yet) and what `snapshot` would change on it. */
export async function changesOn(store: StateStore, stageName: string, snapshot: Json): Promise<{ stage: Stage | undefined; changes: EntityChange[] }> {
  const stage = await store.getStage(stageName);
  const before = stage === undefined ? undefined : (await store.getDeployment(stage.deploymentId))?.config;
  return { stage, changes: diffConfigs(before, snapshot) };
}

/** A deployment by its id or an unambiguous prefix of it (at least 6 characters). */
export async function findDeployment(store: StateStore, idOrPrefix: string): Promise<Deployment> {
  const exact = await store.getDeployment(idOrPrefix);
  if (exact !== undefined) return exact;
  if (idOrPrefix.length < 6) throw new StoreError('not_found', `no deployment "${idOrPrefix}" (give at least 6 characters of its id)`);
  const matches = (await store.listDeployments({ limit: 1000 })).filter((d) => d.id.startsWith(idOrPrefix));
  if (matches.length === 0) throw new StoreError('not_found', `no deployment "${idOrPrefix}"`);
  if (matches.length > 1) throw new StoreError('invalid', `"${idOrPrefix}" matches ${matches.length} deployments: give more of the id`);
  const found = await store.getDeployment(matches[0]!.id);
  if (found === undefined) throw new StoreError('not_found', `no deployment "${idOrPrefix}"`);
  return found;
}

/** Stores the snapshot as a deployment (or finds the same one) and points the stage at it. */
export async function deploySnapshot(
  store: StateStore, snapshot: Json, input: ReleaseInput,
): Promise<Release & { deployment: DeploymentSummary; created: boolean }> {
  const { deployment, created } = await store.putDeployment({ config: snapshot, message: input.message, author: input.actor });
  const { config: _config, ...summary } = deployment;
  return { ...await deployTo(store, deployment, input), deployment: summary, created };
}

/** Points the stage at an existing deployment (creating the stage on its first deployment). */
export async function deployTo(store: StateStore, deployment: Deployment, input: ReleaseInput): Promise<Release> {
  const stage = await readStage(store, input);
  const before = stage === undefined ? undefined : (await store.getDeployment(stage.deploymentId))?.config;
  return point(store, stage, deployment.id, diffConfigs(before, deployment.config), input);
}

/** Points the stage back at the deployment it served before its last change, or at `to` (an id or 6+ character prefix). */
export async function rollbackStage(store: StateStore, input: Omit<ReleaseInput, 'message'> & { to?: string; message?: string }): Promise<Release> {
  const stage = await readStage(store, input);
  if (stage === undefined) throw new StoreError('not_found', `no stage "${input.stage}"`);
  let target: Deployment;
  if (input.to !== undefined) target = await findDeployment(store, input.to);
  else {
    const previous = (await store.stageHistory(input.stage, { limit: 1000 })).find((c) => c.to === stage.deploymentId && c.from !== null && c.from !== c.to);
    if (previous === undefined) throw new StoreError('invalid', `stage ${input.stage} has no earlier deployment to roll back to`);
    target = await findDeployment(store, previous.from!);
  }
  const current = (await store.getDeployment(stage.deploymentId))?.config;
  return point(store, stage, target.id, diffConfigs(current, target.config), { ...input, message: input.message ?? `rollback to ${shortId(target.id)}` });
}

/** The stage, checked against the version the caller read. */
async function readStage(store: StateStore, input: ReleaseInput | Omit<ReleaseInput, 'message'>): Promise<Stage | undefined> {
  const stage = await store.getStage(input.stage);
  const version = stage?.version ?? 0;
  if (input.expectedVersion !== undefined && input.expectedVersion !== version) {
    throw new StoreError('conflict', `stage ${input.stage} is at version ${version}, not ${input.expectedVersion}: it changed since it was read`);
  }
  return stage;
}

async function point(store: StateStore, stage: Stage | undefined, deploymentId: string, changes: EntityChange[], input: ReleaseInput): Promise<Release> {
  const from = stage?.deploymentId ?? null;
  if (stage !== undefined && from === deploymentId) return { stage, from, changed: false, changes: [] };
  const written = await store.setStage({
    name: input.stage, deploymentId, expectedVersion: stage?.version ?? 0, actor: input.actor, message: input.message,
  });
  return { stage: written, from, changed: true, changes };
}
