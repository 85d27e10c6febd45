import { readFile } from 'node:fs/promises';
import { LineCounter, parseDocument, isNode, type Document } from 'yaml';
import { ConfigError, formatPath, type ConfigIssue } from './errors.ts';

/** Raw, parsed config plus a way to find the line of a path, for error messages. */
export interface LoadedConfig {
  value: unknown;
  /** Line (1-based) of the node at a path, when known. */
  lineOf(segments: readonly (string | number)[]): number | undefined;
  source: string;
}

const ENV_RE = /\$\{env:([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/**
 * Parses YAML or JSON text (JSON is YAML) and interpolates `${env:NAME}` / `${env:NAME:-default}` in string values.
 * Duplicate keys, syntax errors and unset variables without a default are all reported, with lines.
 */
export function parseConfigText(text: string, source: string, env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
  const issues: ConfigIssue[] = [];
  for (const e of doc.errors) {
    issues.push({ path: '', message: e.message.split('\n')[0]!, line: e.linePos?.[0]?.line });
  }
  if (issues.length > 0) throw new ConfigError(issues);
  const lineOf = (segments: readonly (string | number)[]) => nodeLine(doc, lineCounter, segments);
  const value = interpolate(doc.toJS({ maxAliasCount: 100 }), [], env, issues, lineOf);
  if (issues.length > 0) throw new ConfigError(issues);
  return { value, lineOf, source };
}

export async function loadConfigFile(file: string, env: NodeJS.ProcessEnv = process.env): Promise<LoadedConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new ConfigError([{ path: '', message: `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}` }]);
  }
  return parseConfigText(text, file, env);
}

function interpolate(
  value: unknown, path: (string | number)[], env: NodeJS.ProcessEnv, issues: ConfigIssue[],
  lineOf: LoadedConfig['lineOf'],
): unknown {
  if (typeof value === 'string') {
    if (!value.includes('${env:')) return value;
    return value.replace(ENV_RE, (_m, name: string, def: string | undefined) => {
      const v = env[name];
      if (v !== undefined) return v;
      if (def !== undefined) return def;
      issues.push({ path: formatPath(path), message: `environment variable ${name} is not set and has no default`, line: lineOf(path) });
      return '';
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => interpolate(v, [...path, i], env, issues, lineOf));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = interpolate(v, [...path, k], env, issues, lineOf);
    return out;
  }
  return value;
}

function nodeLine(doc: Document, lc: LineCounter, segments: readonly (string | number)[]): number | undefined {
  for (let n = segments.length; n >= 0; n--) {
    const node = segments.length === 0 ? doc.contents : doc.getIn(segments.slice(0, n), true);
    if (isNode(node) && node.range) return lc.linePos(node.range[0]).line;
  }
  return undefined;
}
