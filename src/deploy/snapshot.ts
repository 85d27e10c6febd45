import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import type { Json } from './diff.ts';

/**
 * Sections of the config file that belong to the node, not to the API: they are read at start and are not part of
 * a deployment (two nodes of one stage may listen on different ports, keep their store elsewhere).
 */
export const NODE_SECTIONS: readonly string[] = ['$schema', 'listen', 'admin', 'store', 'functionsApi'];

/**
 * The API config of a config file as a deployment snapshots it: the file as written, `${env:…}` placeholders kept
 * (a secret never lands in the store; each node resolves them from its own environment when it serves the
 * deployment), without the node's own sections. The caller validates the file first.
 */
export async function apiSnapshot(file: string): Promise<Json> {
  return withoutNodeSections(parse(await readFile(file, 'utf8'), { maxAliasCount: 100 }));
}

/** A config (file text parsed, or a request's JSON) without the node's own sections: what a deployment holds. */
export function withoutNodeSections(raw: unknown): Json {
  const out: Record<string, Json> = {};
  for (const [k, v] of Object.entries((raw ?? {}) as Record<string, Json>)) if (!NODE_SECTIONS.includes(k)) out[k] = v;
  return out;
}
