import { readJson } from './canonical-json.ts';
import type { Row } from './driver.ts';
import type { AuditEntry, DeploymentSummary, KvEntry, Stage, StageChange } from './types.ts';

// Rows to values. Integers go through Number(): PostgreSQL returns BIGINT as a string.

export const toSummary = (r: Row): DeploymentSummary => ({
  id: String(r.id), message: String(r.message), author: String(r.author), createdAt: new Date(Number(r.created_at)),
});

export const toStage = (r: Row): Stage => ({
  name: String(r.name),
  deploymentId: String(r.deployment_id),
  variables: readJson(String(r.variables)) as Record<string, string>,
  canary: r.canary === null ? null : readJson(String(r.canary)),
  version: Number(r.version),
  updatedAt: new Date(Number(r.updated_at)),
  updatedBy: String(r.updated_by),
});

export const toChange = (r: Row): StageChange => ({
  stage: String(r.stage),
  version: Number(r.version),
  from: r.from_deployment === null ? null : String(r.from_deployment),
  to: String(r.to_deployment),
  at: new Date(Number(r.at)),
  actor: String(r.actor),
  message: String(r.message),
});

export const toAudit = (r: Row): AuditEntry => ({
  id: Number(r.id),
  at: new Date(Number(r.at)),
  actor: String(r.actor),
  action: String(r.action),
  target: String(r.target),
  details: readJson(String(r.details)),
});

export const toKv = (r: Row): KvEntry => ({
  namespace: String(r.namespace),
  key: String(r.key),
  value: readJson(String(r.value)),
  version: Number(r.version),
  updatedAt: new Date(Number(r.updated_at)),
});
