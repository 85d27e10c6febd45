import { randomBytes } from 'node:crypto';
import { readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { isMap, isPair, isScalar, parseDocument, type Document, type Node, type YAMLMap } from 'yaml';
import { checkConfig } from '../config/check.ts';
import { ConfigError } from '../config/errors.ts';
import { parseConfigText } from '../config/load.ts';
import { closest } from '../config/suggest.ts';
import { EXIT_INVALID, reportIssues } from './validate.ts';

/**
 * Editing the config file in place, for the CLI commands that change it (`keys`, `plans`). An edit is made twice:
 * on the YAML Document (the meaning), and as a splice of the original text at the node's position (the bytes:
 * comments, spacing and layout stay exactly as they were). The splice is kept only when it parses to the same thing
 * as the edited Document, which is printed instead otherwise. The result must pass the same check as `validate`
 * before it replaces the old file (written to a temporary file and renamed, so a watching gateway never reads half a
 * file).
 */

/** A refusal: printed as `expeditor <command>: MESSAGE`, exit 2, the file untouched. */
export class Refusal extends Error {}

export const DEFAULT_CONFIG = 'expeditor.yaml';

/** Insert `text` at `at`, replacing `remove` characters. */
export interface Splice { at: number; remove?: number; text: string }

// --- text splicing ------------------------------------------------------------------------------------------------

/** How new YAML text is written: JSON files get JSON (every key and string quoted). */
export interface Style { json: boolean }

export function scalar(v: string | boolean, style: Style): string {
  if (typeof v === 'boolean') return String(v);
  const plain = !style.json && /^[A-Za-z][A-Za-z0-9_.-]*$/.test(v) && !/^(true|false|null|yes|no|on|off|y|n)$/i.test(v);
  return plain ? v : JSON.stringify(v);
}

export function flowMap(obj: object, style: Style): string {
  return `{ ${Object.entries(obj).map(([k, v]) => `${scalar(k, style)}: ${scalar(v as string, style)}`).join(', ')} }`;
}

/** A map in block style whose first line follows `- ` and whose other lines are indented by `col`. */
export function blockMap(obj: object, col: number): string {
  return Object.entries(obj).map(([k, v]) => `${k}: ${scalar(v as string, { json: false })}`).join(`\n${' '.repeat(col)}`);
}

export function column(text: string, offset: number): number {
  return offset - (text.lastIndexOf('\n', offset - 1) + 1);
}

/** Adds `entry` (`key: value`, or an item) to a flow collection: after its last entry, or inside the empty brackets. */
export function intoFlow(text: string, node: YAMLMap | Node, entry: string): Splice | undefined {
  const items = (node as { items: unknown[] }).items;
  if (items.length === 0) {
    const end = node.range?.[1];
    if (end == null) return undefined;
    const close = text.lastIndexOf(isMap(node) ? '}' : ']', end - 1);
    return { at: close, text: isMap(node) ? ` ${entry} ` : entry };
  }
  const last = items.at(-1);
  const end = (isPair(last) ? (last.value as Node | null) : (last as Node | null))?.range?.[1];
  return end == null ? undefined : { at: end, text: `, ${entry}` };
}

/** Replaces an empty flow collection (`{}`, `[]`) with block `lines` below its line; a comment after it stays put. */
export function replaceEmptyFlow(text: string, range: readonly number[], lines: string): Splice {
  let at = range[0]!;
  while (text[at - 1] === ' ') at--;
  let eol = text.indexOf('\n', range[1]);
  if (eol === -1) eol = text.length;
  const rest = text.slice(range[1], eol);
  return { at, remove: eol - at, text: `${rest.trim() === '' ? '' : rest}\n${lines}` };
}

/** Appends lines at the end of a block collection (its range ends at the start of the line after it). */
export function afterBlock(text: string, node: Node, lines: string): Splice | undefined {
  const end = node.range?.[1];
  if (end == null) return undefined;
  return { at: end, text: `${end > 0 && text[end - 1] !== '\n' ? '\n' : ''}${lines}\n` };
}

// --- reading and writing the file ---------------------------------------------------------------------------------

export async function readText(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Refusal(`cannot read ${file}: ${code === 'ENOENT' ? 'no such file' : code}`);
  }
}

export function parse(text: string, file: string): Document {
  const doc = parseDocument(text, { uniqueKeys: true });
  if (doc.errors.length > 0) throw new Refusal(`${file} is not valid YAML: ${doc.errors[0]!.message.split('\n')[0]}`);
  return doc;
}

export function consumerNames(doc: Document): string[] {
  const consumers = doc.get('consumers');
  return isMap(consumers) ? consumers.items.map((p) => String(isScalar(p.key) ? p.key.value : p.key)) : [];
}

export function unknownConsumer(doc: Document, name: string, file: string, advice = ''): Refusal {
  const hint = closest(name, consumerNames(doc));
  return new Refusal(`no consumer "${name}" in ${file}${hint ? ` (did you mean "${hint}"?)` : ''}${advice}`);
}

/**
 * Reads, edits and writes back the config file. `edit` returns the splice of the original text, after making the
 * same change on the document it is given (or throws Refusal; `null` means there is nothing to change).
 */
export async function editConfig(file: string, edit: (doc: Document, text: string, style: Style) => Splice | undefined | null): Promise<boolean> {
  const text = await readText(file);
  const style: Style = { json: file.endsWith('.json') };
  const doc = parse(text, file);
  const splice = edit(doc, text, style);
  if (splice === null) return false;
  let next = splice === undefined ? undefined : text.slice(0, splice.at) + splice.text + text.slice(splice.at + (splice.remove ?? 0));
  const spliced = next === undefined ? undefined : parseDocument(next);
  if (spliced === undefined || spliced.errors.length > 0 || !isDeepStrictEqual(spliced.toJS(), doc.toJS()) || (style.json && !isJson(next!))) {
    next = style.json ? `${JSON.stringify(doc.toJS(), null, 2)}\n` : doc.toString();
  }
  try {
    await checkConfig(parseConfigText(next!, file));
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    reportIssues(file, err);
    throw new Refusal(`${file} would not be valid after this change (errors above): left unchanged`);
  }
  if ((await readText(file)) !== text) throw new Refusal(`${file} changed while it was being edited: left unchanged, run the command again`);
  const tmp = join(dirname(file), `.${basename(file)}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    await writeFile(tmp, next!, { mode: (await stat(file)).mode & 0o777 });
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  return true;
}

export function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** Runs an action, turning a Refusal into `expeditor <command>: MESSAGE` and exit status 2. */
export function guarded<A extends unknown[]>(command: string, fn: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args) => {
    try {
      await fn(...args);
    } catch (err) {
      if (!(err instanceof Refusal)) throw err;
      process.stderr.write(`expeditor ${command}: ${err.message}\n`);
      process.exitCode = EXIT_INVALID;
    }
  };
}
