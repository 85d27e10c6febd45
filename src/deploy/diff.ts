/**
 * What changes between two API configs, as `expeditor diff` shows it: entities of keyed sections (routes by name;
 * upstreams, functions, consumers, plans by key) are added, removed or changed, and a change lists its fields by
 * path with the old and new values; other sections (plugins, auth, metrics…) are compared field by field as one
 * entity each. Pure: configs in, changes out, in a stable order.
 */

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export interface FieldChange {
  /** Path inside the entity: `match.path`, `plugins.cache.defaultTtl`, `targets[1].weight`. '' for the entity itself. */
  path: string;
  /** undefined: the field was added. */
  before?: Json;
  /** undefined: the field was removed. */
  after?: Json;
}

export interface EntityChange {
  /** `routes`, `upstreams`, `plugins`… */
  section: string;
  /** The route's name, the upstream's key; '' for a section compared as a whole. */
  name: string;
  kind: 'added' | 'removed' | 'changed';
  /** For `changed`: the fields, in path order. */
  fields: FieldChange[];
}

/** Sections whose entries are entities of their own, and how an entry is named. */
const KEYED: Record<string, 'array-by-name' | 'record'> = {
  routes: 'array-by-name',
  upstreams: 'record',
  functions: 'record',
  consumers: 'record',
  plans: 'record',
};

function isObject(v: unknown): v is { [key: string]: Json } {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function entities(section: string, value: Json | undefined): Map<string, Json> {
  const out = new Map<string, Json>();
  if (value === undefined) return out;
  if (KEYED[section] === 'array-by-name' && Array.isArray(value)) {
    value.forEach((e, i) => out.set(isObject(e) && typeof e.name === 'string' ? e.name : `#${i}`, e));
  } else if (KEYED[section] === 'record' && isObject(value)) {
    for (const [k, v] of Object.entries(value)) out.set(k, v);
  } else {
    out.set('', value);
  }
  return out;
}

function join(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  const safe = /^[A-Za-z_$][\w$-]*$/.test(key) ? key : JSON.stringify(key);
  return path === '' ? safe : `${path}.${safe}`;
}

/** Leaf differences between two values, by path. Arrays are compared element by element. */
export function fieldChanges(before: unknown, after: unknown, path = ''): FieldChange[] {
  if (before === undefined && after === undefined) return [];
  if (isObject(before) && isObject(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    return keys.flatMap((k) => fieldChanges(before[k], after[k], join(path, k)));
  }
  if (Array.isArray(before) && Array.isArray(after)) {
    const out: FieldChange[] = [];
    for (let i = 0; i < Math.max(before.length, after.length); i++) out.push(...fieldChanges(before[i], after[i], join(path, i)));
    return out;
  }
  if (JSON.stringify(before) === JSON.stringify(after)) return [];
  const change: FieldChange = { path };
  if (before !== undefined) change.before = before as Json;
  if (after !== undefined) change.after = after as Json;
  return [change];
}

/** Every entity that differs between `before` (the deployed config; undefined for none) and `after`. */
export function diffConfigs(before: unknown, after: unknown): EntityChange[] {
  const b = isObject(before) ? before : {};
  const a = isObject(after) ? after : {};
  const sections = [...new Set([...Object.keys(b), ...Object.keys(a)])].filter((s) => s !== '$schema').sort();
  const out: EntityChange[] = [];
  for (const section of sections) {
    const olds = entities(section, b[section]);
    const news = entities(section, a[section]);
    for (const name of [...new Set([...olds.keys(), ...news.keys()])].sort()) {
      const o = olds.get(name);
      const n = news.get(name);
      if (o === undefined) out.push({ section, name, kind: 'added', fields: [] });
      else if (n === undefined) out.push({ section, name, kind: 'removed', fields: [] });
      else {
        const fields = fieldChanges(o, n);
        if (fields.length > 0) out.push({ section, name, kind: 'changed', fields });
      }
    }
  }
  return out;
}

const show = (v: Json | undefined) => (v === undefined ? '(none)' : JSON.stringify(v));

/** The changes as text, one entity per block: `~ routes orders`, then `    match.path: "/a" → "/b"`. */
export function formatDiff(changes: readonly EntityChange[]): string {
  if (changes.length === 0) return 'no changes\n';
  const lines: string[] = [];
  for (const c of changes) {
    const mark = c.kind === 'added' ? '+' : c.kind === 'removed' ? '-' : '~';
    lines.push(`${mark} ${c.section}${c.name === '' ? '' : ` ${c.name}`}`);
    for (const f of c.fields) lines.push(`    ${f.path === '' ? '(value)' : f.path}: ${show(f.before)} → ${show(f.after)}`);
  }
  return `${lines.join('\n')}\n`;
}
