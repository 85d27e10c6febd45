import { Command } from 'commander';
import { randomBytes } from 'node:crypto';
import { readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { isMap, isPair, isScalar, isSeq, parseDocument, type Document, type Node, type YAMLMap } from 'yaml';
import { checkConfig } from '../config/check.ts';
import { ConfigError } from '../config/errors.ts';
import { parseConfigText } from '../config/load.ts';
import { NAME_PATTERN } from '../config/schema/common.ts';
import { closest } from '../config/suggest.ts';
import { generateApiKey, hashApiKey } from '../identity/api-keys.ts';
import { credentialActive, credentialLabel } from '../identity/types.ts';
import { EXIT_INVALID, reportIssues } from './validate.ts';

/**
 * `expeditor keys create|revoke|list`: API keys in the config file. An edit is made twice: on the YAML Document
 * (the meaning), and as a splice of the original text at the node's position (the bytes: comments, spacing and
 * layout stay exactly as they were). The splice is kept only when it parses to the same thing as the edited
 * Document, which is printed instead otherwise. The result must pass the same check as `validate` before it
 * replaces the old file (written to a temporary file and renamed, so a watching gateway never reads half a file).
 */

/** A refusal: printed as `expeditor keys: MESSAGE`, exit 2, the file untouched. */
class Refusal extends Error {}

const DEFAULT_CONFIG = 'expeditor.yaml';
const NAME_RE = new RegExp(NAME_PATTERN);

interface KeyCredential { type: string; id?: string; keyHash?: string; expiresAt?: string; revoked?: boolean }
/** Insert `text` at `at`, replacing `remove` characters. */
interface Splice { at: number; remove?: number; text: string }

// --- text splicing ------------------------------------------------------------------------------------------------

/** How new YAML text is written: JSON files get JSON (every key and string quoted). */
interface Style { json: boolean }

function scalar(v: string | boolean, style: Style): string {
  if (typeof v === 'boolean') return String(v);
  const plain = !style.json && /^[A-Za-z][A-Za-z0-9_.-]*$/.test(v) && !/^(true|false|null|yes|no|on|off|y|n)$/i.test(v);
  return plain ? v : JSON.stringify(v);
}

function flowMap(obj: object, style: Style): string {
  return `{ ${Object.entries(obj).map(([k, v]) => `${scalar(k, style)}: ${scalar(v as string, style)}`).join(', ')} }`;
}

/** A map in block style whose first line follows `- ` and whose other lines are indented by `col`. */
function blockMap(obj: object, col: number): string {
  return Object.entries(obj).map(([k, v]) => `${k}: ${scalar(v as string, { json: false })}`).join(`\n${' '.repeat(col)}`);
}

function column(text: string, offset: number): number {
  return offset - (text.lastIndexOf('\n', offset - 1) + 1);
}

/** Adds `entry` (`key: value`, or an item) to a flow collection: after its last entry, or inside the empty brackets. */
function intoFlow(text: string, node: YAMLMap | Node, entry: string): Splice | undefined {
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
function replaceEmptyFlow(text: string, range: readonly number[], lines: string): Splice {
  let at = range[0]!;
  while (text[at - 1] === ' ') at--;
  let eol = text.indexOf('\n', range[1]);
  if (eol === -1) eol = text.length;
  const rest = text.slice(range[1], eol);
  return { at, remove: eol - at, text: `${rest.trim() === '' ? '' : rest}\n${lines}` };
}

/** Appends lines at the end of a block collection (its range ends at the start of the line after it). */
function afterBlock(text: string, node: Node, lines: string): Splice | undefined {
  const end = node.range?.[1];
  if (end == null) return undefined;
  return { at: end, text: `${end > 0 && text[end - 1] !== '\n' ? '\n' : ''}${lines}\n` };
}

/** The splice that adds `credential` to the consumer `name`'s credentials (creating the consumer when `create`). */
function addCredentialSplice(text: string, doc: Document, name: string, credential: KeyCredential, style: Style): Splice | undefined {
  const consumers = doc.get('consumers', true) as Node | undefined;
  const pad = (n: number) => ' '.repeat(n);
  const item = (col: number) => `${pad(col)}- ${blockMap(credential, col + 2)}`;
  if (consumers === undefined || !isMap(consumers)) {
    if (consumers !== undefined || !isMap(doc.contents) || doc.contents.flow) return undefined;
    return afterBlock(text, doc.contents as Node, `consumers:\n  ${scalar(name, style)}:\n    credentials:\n${item(6)}`);
  }
  const pair = consumers.items.find((p) => isScalar(p.key) && p.key.value === name);
  if (pair === undefined) {
    if (consumers.flow) return intoFlow(text, consumers, `${scalar(name, style)}: { ${scalar('credentials', style)}: [${flowMap(credential, style)}] }`);
    const col = column(text, consumers.range![0]);
    return afterBlock(text, consumers, `${pad(col)}${scalar(name, style)}:\n${pad(col + 2)}credentials:\n${item(col + 4)}`);
  }
  const consumer = pair.value;
  if (!isMap(consumer)) return undefined;
  const r = consumer.range;
  if (!style.json && consumer.flow && r != null && text.slice(r[0], r[1]) === '{}' && isScalar(pair.key) && pair.key.range != null) {
    // `name: {}` becomes a block map: a key on one long flow line is hard to read and to revoke by hand.
    const col = column(text, pair.key.range[0]);
    return replaceEmptyFlow(text, r, `${pad(col + 2)}credentials:\n${item(col + 4)}`);
  }
  const creds = consumer.get('credentials', true) as Node | undefined;
  if (creds === undefined) {
    if (consumer.flow) return intoFlow(text, consumer, `${scalar('credentials', style)}: [${flowMap(credential, style)}]`);
    const col = column(text, consumer.range![0]);
    return afterBlock(text, consumer, `${pad(col)}credentials:\n${item(col + 2)}`);
  }
  if (!isSeq(creds)) return undefined;
  const cr = creds.range;
  const key = consumer.items.find((p) => isScalar(p.key) && p.key.value === 'credentials')?.key as Node | undefined;
  if (!style.json && !consumer.flow && cr != null && text.slice(cr[0], cr[1]) === '[]' && key?.range != null) {
    // `credentials: []` becomes a block list, like the ones `keys create` appends to.
    return replaceEmptyFlow(text, cr, item(column(text, key.range[0]) + 2));
  }
  if (creds.flow) return intoFlow(text, creds, flowMap(credential, style));
  return afterBlock(text, creds, item(column(text, creds.range![0])));
}

/** The splice that marks a credential map revoked. */
function revokeSplice(text: string, item: YAMLMap, style: Style): Splice | undefined {
  const existing = item.items.find((p) => isScalar(p.key) && p.key.value === 'revoked');
  if (existing !== undefined) {
    const r = (existing.value as Node | null)?.range;
    return r == null ? undefined : { at: r[0], remove: r[1] - r[0], text: 'true' };
  }
  if (item.flow) return intoFlow(text, item, `${scalar('revoked', style)}: true`);
  return afterBlock(text, item, `${' '.repeat(column(text, item.range![0]))}revoked: true`);
}

// --- reading and writing the file ---------------------------------------------------------------------------------

async function readText(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Refusal(`cannot read ${file}: ${code === 'ENOENT' ? 'no such file' : code}`);
  }
}

function parse(text: string, file: string): Document {
  const doc = parseDocument(text, { uniqueKeys: true });
  if (doc.errors.length > 0) throw new Refusal(`${file} is not valid YAML: ${doc.errors[0]!.message.split('\n')[0]}`);
  return doc;
}

function consumerNames(doc: Document): string[] {
  const consumers = doc.get('consumers');
  return isMap(consumers) ? consumers.items.map((p) => String(isScalar(p.key) ? p.key.value : p.key)) : [];
}

function unknownConsumer(doc: Document, name: string, file: string, create: boolean): Refusal {
  const hint = closest(name, consumerNames(doc));
  return new Refusal(`no consumer "${name}" in ${file}${hint ? ` (did you mean "${hint}"?)` : ''}${create ? '; add it under consumers:, or pass --create-consumer' : ''}`);
}

/**
 * Reads, edits and writes back the config file. `edit` returns the splice of the original text, after making the
 * same change on the document it is given (or throws Refusal; `null` means there is nothing to change).
 */
async function editConfig(file: string, edit: (doc: Document, text: string, style: Style) => Splice | undefined | null): Promise<boolean> {
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

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** `--expires`: an RFC 3339 date-time, a date (midnight UTC) or a number of days from now; must be in the future. */
export function parseExpiry(value: string, now = Date.now()): string {
  let ms: number;
  if (/^\d+d$/.test(value)) ms = now + Number(value.slice(0, -1)) * 86_400_000;
  else if (/^\d{4}-\d{2}-\d{2}$/.test(value)) ms = Date.parse(`${value}T00:00:00Z`);
  else if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/i.test(value)) ms = Date.parse(value);
  else throw new Refusal(`--expires "${value}": give a date (2027-01-31), a date-time with a zone (2027-01-31T12:00:00Z) or days from now (90d)`);
  if (Number.isNaN(ms)) throw new Refusal(`--expires "${value}" is not a valid date`);
  if (ms <= now) throw new Refusal(`--expires "${value}" is in the past`);
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Runs an action, turning a Refusal into its message and exit status 2. */
function guarded<A extends unknown[]>(fn: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args) => {
    try {
      await fn(...args);
    } catch (err) {
      if (!(err instanceof Refusal)) throw err;
      process.stderr.write(`expeditor keys: ${err.message}\n`);
      process.exitCode = EXIT_INVALID;
    }
  };
}

// --- commands -----------------------------------------------------------------------------------------------------

interface CreateOptions { consumer: string; config: string; id?: string; expires?: string; hmac?: boolean; createConsumer?: boolean }

const create = new Command('create')
  .description('Make a new API key for a consumer: prints the key once on stdout and adds its hash (never the key) to '
    + 'consumers.NAME.credentials in the config file. A running gateway uses it from its next reload.')
  .requiredOption('--consumer <name>', 'the consumer the key belongs to')
  .option('-c, --config <file>', 'config file (YAML or JSON)', DEFAULT_CONFIG)
  .option('--id <label>', 'label for logs and for revoking (default: key-<8 hex digits>)')
  .option('--expires <when>', 'expiry: 2027-01-31, 2027-01-31T12:00:00Z, or 90d (days from now)')
  .option('--hmac', 'store an HMAC-SHA-256 of the key keyed with auth.keySecret instead of its SHA-256')
  .option('--create-consumer', 'add the consumer to the file when it is not there')
  .addHelpText('after', `
Example:
  $ expeditor keys create --consumer mobile-app --id ios-2027 --expires 365d -c expeditor.yaml
  exp_0J9kq4m0bq0f3XGkLx0C1y2cVd6nqPp4r7sT1uVwXyZ
  expeditor keys: added key "ios-2027" to consumers.mobile-app in expeditor.yaml (the key above is not stored: keep it now)`)
  .action(guarded(async (opts: CreateOptions) => {
    const name = opts.consumer;
    const id = opts.id ?? `key-${randomBytes(4).toString('hex')}`;
    if (id.length > 128) throw new Refusal('--id is longer than 128 characters');
    const expiresAt = opts.expires === undefined ? undefined : parseExpiry(opts.expires);
    const key = generateApiKey();
    await editConfig(opts.config, (doc, text, style) => {
      let secret: string | undefined;
      if (opts.hmac) {
        const auth = (parseConfigText(text, opts.config).value as { auth?: { keySecret?: unknown } } | null)?.auth;
        if (typeof auth?.keySecret !== 'string') throw new Refusal(`--hmac needs auth.keySecret in ${opts.config} (say, keySecret: \${env:EXPEDITOR_KEY_SECRET})`);
        secret = auth.keySecret;
      }
      const credential: KeyCredential = { type: 'key-auth', id, keyHash: hashApiKey(key, secret) };
      if (expiresAt !== undefined) credential.expiresAt = expiresAt;
      const existing = doc.getIn(['consumers', name], true) as Node | undefined;
      if (existing === undefined) {
        if (!opts.createConsumer) throw unknownConsumer(doc, name, opts.config, true);
        if (!NAME_RE.test(name)) throw new Refusal(`"${name}" is not a valid consumer name: use letters, digits, "_", "." and "-", starting with a letter or digit`);
      } else if (isMap(existing)) {
        const creds = existing.get('credentials');
        const labels = isSeq(creds) ? (creds.toJSON() as KeyCredential[]).map((c, i) => (c !== null && typeof c === 'object' ? credentialLabel(c, name, i) : '')) : [];
        if (labels.includes(id)) throw new Refusal(`consumer "${name}" already has a credential "${id}": choose another --id`);
      }
      const splice = addCredentialSplice(text, doc, name, credential, style);
      const creds = doc.getIn(['consumers', name, 'credentials']);
      if (isSeq(creds)) creds.add(doc.createNode(credential));
      else if (isMap(existing)) existing.set('credentials', doc.createNode([credential]));
      else if (isMap(doc.get('consumers'))) (doc.get('consumers') as YAMLMap).set(name, doc.createNode({ credentials: [credential] }));
      else doc.set('consumers', doc.createNode({ [name]: { credentials: [credential] } }));
      return splice;
    });
    process.stdout.write(`${key}\n`);
    process.stderr.write(`expeditor keys: added key "${id}" to consumers.${name} in ${opts.config} (the key above is not stored: keep it now)\n`);
  }));

const revoke = new Command('revoke')
  .description('Mark a consumer\'s API key revoked in the config file. A running gateway refuses it from its next reload '
    + '(file watch, SIGHUP or PUT /config).')
  .requiredOption('--consumer <name>', 'the consumer the key belongs to')
  .requiredOption('--id <label>', 'the key\'s label (as `keys list` shows it)')
  .option('-c, --config <file>', 'config file (YAML or JSON)', DEFAULT_CONFIG)
  .action(guarded(async (opts: { consumer: string; id: string; config: string }) => {
    const changed = await editConfig(opts.config, (doc, text, style) => {
      const consumer = doc.getIn(['consumers', opts.consumer], true);
      if (consumer === undefined) throw unknownConsumer(doc, opts.consumer, opts.config, false);
      const creds = isMap(consumer) ? consumer.get('credentials') : undefined;
      const labels: string[] = [];
      const found = (isSeq(creds) ? creds.items : []).find((item, i) => {
        if (!isMap(item) || item.get('type') !== 'key-auth') return false;
        labels.push(credentialLabel(item.toJSON() as KeyCredential, opts.consumer, i));
        return labels.at(-1) === opts.id;
      });
      if (!isMap(found)) throw new Refusal(`consumer "${opts.consumer}" has no API key "${opts.id}"${labels.length > 0 ? ` (its keys: ${labels.join(', ')})` : ''}`);
      if (found.get('revoked') === true) return null;
      const splice = revokeSplice(text, found, style);
      found.set('revoked', true);
      return splice;
    });
    process.stderr.write(`expeditor keys: ${changed ? 'revoked' : 'already revoked'}: key "${opts.id}" of consumers.${opts.consumer} in ${opts.config}\n`);
  }));

const list = new Command('list')
  .description('List the API keys in the config file: consumer, id, expiry and status (active, expired or revoked). '
    + 'Keys are never stored, so they cannot be shown.')
  .option('--consumer <name>', 'only this consumer\'s keys')
  .option('-c, --config <file>', 'config file (YAML or JSON)', DEFAULT_CONFIG)
  .action(guarded(async (opts: { consumer?: string; config: string }) => {
    const doc = parse(await readText(opts.config), opts.config);
    const consumers = (doc.toJS() as { consumers?: Record<string, { credentials?: KeyCredential[] } | null> } | null)?.consumers ?? {};
    if (opts.consumer !== undefined && !Object.hasOwn(consumers, opts.consumer)) throw unknownConsumer(doc, opts.consumer, opts.config, false);
    const rows: string[][] = [['CONSUMER', 'ID', 'EXPIRES', 'STATUS']];
    for (const [name, c] of Object.entries(consumers)) {
      if (opts.consumer !== undefined && name !== opts.consumer) continue;
      (c?.credentials ?? []).forEach((cred, i) => {
        if (cred?.type !== 'key-auth') return;
        const status = cred.revoked === true ? 'revoked' : credentialActive(cred) ? 'active' : 'expired';
        rows.push([name, credentialLabel(cred, name, i), cred.expiresAt ?? '-', status]);
      });
    }
    if (rows.length === 1) {
      process.stderr.write(`expeditor keys: no API keys${opts.consumer === undefined ? '' : ` for consumer "${opts.consumer}"`} in ${opts.config}\n`);
      return;
    }
    const widths = rows[0]!.map((_, col) => Math.max(...rows.map((r) => r[col]!.length)));
    for (const r of rows) process.stdout.write(`${r.map((cell, col) => (col === r.length - 1 ? cell : cell.padEnd(widths[col]!))).join('  ')}\n`);
  }));

export const keysCommand = new Command('keys')
  .description('Create, revoke and list API keys (key-auth credentials) in a config file.')
  .addCommand(create)
  .addCommand(revoke)
  .addCommand(list);
