import { readFile } from 'node:fs/promises';
import { LineCounter, parseDocument, isMap, isNode, isScalar, isSeq, type Document, type YAMLError } from 'yaml';
import { ConfigError, formatPath, type ConfigIssue } from './errors.ts';

type Segments = readonly (string | number)[];

/** Raw, parsed config plus what validation needs to report well: lines, and which values came from the environment. */
export interface LoadedConfig {
  value: unknown;
  /** Line (1-based) of the node at a path, when known. */
  lineOf(segments: Segments): number | undefined;
  /**
   * Paths of values that were a single `${env:…}` placeholder and nothing else. Validation converts them to the type
   * the schema expects there (`port: ${env:PORT}` becomes a number), because the environment only holds text.
   */
  envPaths: readonly Segments[];
  source: string;
}

export interface ParseOptions {
  /**
   * Where `${env:…}` placeholders are resolved from; `false` refuses them (the admin API: a remote client must not
   * read the gateway's environment through a config it uploads).
   */
  env?: NodeJS.ProcessEnv | false;
}

const ENV_RE = /\$\{env:([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;
const SOLE_PLACEHOLDER = /^\$\{env:[A-Za-z_][A-Za-z0-9_]*(?::-[^}]*)?\}$/;

/**
 * Parses YAML or JSON text (JSON is YAML) and interpolates `${env:NAME}` / `${env:NAME:-default}` in string values.
 * Syntax errors, duplicate keys and unset variables without a default are all reported, with lines. Throws
 * ConfigError.
 */
export function parseConfigText(text: string, source: string, options: ParseOptions = {}): LoadedConfig {
  const env = options.env ?? process.env;
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
  const issues: ConfigIssue[] = doc.errors.map((e) => yamlIssue(doc, e, lineCounter));
  if (issues.length > 0) throw new ConfigError(issues);
  const lineOf = (segments: Segments) => nodeLine(doc, lineCounter, segments);
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    // Unresolved aliases and alias bombs surface here, not in doc.errors.
    throw new ConfigError([{ path: '', message: `YAML: ${(err as Error).message}` }]);
  }
  const envPaths: Segments[] = [];
  const value = interpolate(raw, [], { env, issues, lineOf, envPaths });
  if (issues.length > 0) throw new ConfigError(issues);
  return { value, lineOf, envPaths, source };
}

export async function loadConfigFile(file: string, env: NodeJS.ProcessEnv = process.env): Promise<LoadedConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new ConfigError([{ path: '', message: `cannot read the config file: ${readError(err as NodeJS.ErrnoException)}` }]);
  }
  return parseConfigText(text, file, { env });
}

function readError(err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case 'ENOENT': return 'no such file';
    case 'EACCES': case 'EPERM': return 'permission denied';
    case 'EISDIR': return 'it is a directory';
    default: return err.code ?? err.message;
  }
}

function yamlIssue(doc: Document, e: YAMLError, lc: LineCounter): ConfigIssue {
  const line = lc.linePos(e.pos[0]).line;
  if (e.code === 'DUPLICATE_KEY') {
    const at = keyAt(doc.contents, e.pos[0], []);
    if (at !== undefined) return { path: formatPath(at), message: `duplicate key "${at.at(-1)}"`, line };
    return { path: '', message: 'duplicate key', line };
  }
  if (e.code === 'MULTIPLE_DOCS') return { path: '', message: 'YAML: the file holds more than one document ("---")', line };
  return { path: '', message: `YAML: ${e.message.split('\n')[0]}`, line };
}

/** Path of the map key whose node starts at `offset`. */
function keyAt(node: unknown, offset: number, path: (string | number)[]): (string | number)[] | undefined {
  if (isMap(node)) {
    for (const pair of node.items) {
      const key = isScalar(pair.key) ? (pair.key.value as string | number) : String(pair.key);
      if (isNode(pair.key) && pair.key.range?.[0] === offset) return [...path, key];
      const found = keyAt(pair.value, offset, [...path, key]);
      if (found) return found;
    }
  } else if (isSeq(node)) {
    for (let i = 0; i < node.items.length; i++) {
      const found = keyAt(node.items[i], offset, [...path, i]);
      if (found) return found;
    }
  }
  return undefined;
}

interface InterpolateState {
  env: NodeJS.ProcessEnv | false;
  issues: ConfigIssue[];
  lineOf: LoadedConfig['lineOf'];
  envPaths: Segments[];
}

function interpolate(value: unknown, path: (string | number)[], s: InterpolateState): unknown {
  if (typeof value === 'string') {
    if (!value.includes('${env:')) return value;
    const env = s.env;
    if (env === false) {
      s.issues.push(issue(path, 'environment placeholders (${env:…}) are not expanded in config sent to the admin API; expand them before sending', s.lineOf));
      return value;
    }
    const out = value.replace(ENV_RE, (_m, name: string, def: string | undefined) => {
      const v = env[name];
      if (v !== undefined) return v;
      if (def !== undefined) return def;
      s.issues.push(issue(path, `environment variable ${name} is not set and has no default`, s.lineOf));
      return '';
    });
    if (SOLE_PLACEHOLDER.test(value)) s.envPaths.push(path);
    return out;
  }
  if (Array.isArray(value)) return value.map((v, i) => interpolate(v, [...path, i], s));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = interpolate(v, [...path, k], s);
    return out;
  }
  return value;
}

function issue(path: (string | number)[], message: string, lineOf: LoadedConfig['lineOf']): ConfigIssue {
  const line = lineOf(path);
  return line === undefined ? { path: formatPath(path), message } : { path: formatPath(path), message, line };
}

/**
 * Line of the deepest node on the path that exists: the key's line for a map entry (so an unknown key is reported where
 * it is written, not where its value starts), the item's line in a list.
 */
function nodeLine(doc: Document, lc: LineCounter, segments: Segments): number | undefined {
  let node: unknown = doc.contents;
  let line = isNode(node) && node.range ? lc.linePos(node.range[0]).line : undefined;
  for (const seg of segments) {
    if (isMap(node)) {
      const pair = node.items.find((p) => (isScalar(p.key) ? p.key.value : p.key) === seg || (isScalar(p.key) && String(p.key.value) === String(seg)));
      if (pair === undefined) break;
      if (isNode(pair.key) && pair.key.range) line = lc.linePos(pair.key.range[0]).line;
      node = pair.value;
    } else if (isSeq(node) && typeof seg === 'number') {
      node = node.items[seg];
      if (!isNode(node) || !node.range) break;
      line = lc.linePos(node.range[0]).line;
    } else {
      break;
    }
  }
  return line;
}
