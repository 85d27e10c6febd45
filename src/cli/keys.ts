import { Command } from 'commander';
import { randomBytes } from 'node:crypto';
import { isMap, isScalar, isSeq, type Document, type Node, type YAMLMap } from 'yaml';
import { parseConfigText } from '../config/load.ts';
import { NAME_PATTERN } from '../config/schema/common.ts';
import { generateApiKey, hashApiKey } from '../identity/api-keys.ts';
import { credentialActive, credentialLabel } from '../identity/types.ts';
import {
  DEFAULT_CONFIG, Refusal, afterBlock, blockMap, column, editConfig, flowMap, guarded, intoFlow, parse, readText, replaceEmptyFlow, scalar,
  unknownConsumer, type Splice, type Style,
} from './yaml-edit.ts';

/**
 * `expeditor keys create|revoke|list`: API keys in the config file, edited in place (src/cli/yaml-edit.ts: comments
 * and layout kept, the result checked like `validate` before it replaces the file).
 */

const NAME_RE = new RegExp(NAME_PATTERN);

interface KeyCredential { type: string; id?: string; keyHash?: string; expiresAt?: string; revoked?: boolean }

// --- splices -----------------------------------------------------------------------------------------------------

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

// --- options ----------------------------------------------------------------------------------------------------

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
  .action(guarded('keys', async (opts: CreateOptions) => {
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
        if (!opts.createConsumer) throw unknownConsumer(doc, name, opts.config, '; add it under consumers:, or pass --create-consumer');
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
  .action(guarded('keys', async (opts: { consumer: string; id: string; config: string }) => {
    const changed = await editConfig(opts.config, (doc, text, style) => {
      const consumer = doc.getIn(['consumers', opts.consumer], true);
      if (consumer === undefined) throw unknownConsumer(doc, opts.consumer, opts.config);
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
  .action(guarded('keys', async (opts: { consumer?: string; config: string }) => {
    const doc = parse(await readText(opts.config), opts.config);
    const consumers = (doc.toJS() as { consumers?: Record<string, { credentials?: KeyCredential[] } | null> } | null)?.consumers ?? {};
    if (opts.consumer !== undefined && !Object.hasOwn(consumers, opts.consumer)) throw unknownConsumer(doc, opts.consumer, opts.config);
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
