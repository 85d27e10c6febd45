import { Command } from 'commander';
import { isMap, isScalar, type Document, type Node, type YAMLMap } from 'yaml';
import { closest } from '../config/suggest.ts';
import { adminRequest, withAdminOptions, type AdminOptions } from './admin-client.ts';
import {
  DEFAULT_CONFIG, Refusal, afterBlock, column, editConfig, guarded, intoFlow, parse, readText, scalar, unknownConsumer, type Splice, type Style,
} from './yaml-edit.ts';

/**
 * `expeditor plans list|subscribe|unsubscribe|usage`: usage plans. Plans themselves are written in the config file
 * (`plans:`); these commands list them, subscribe consumers (editing `consumers.NAME.plan` in place, comments and
 * layout kept, the result checked like `validate`), and read a consumer's live usage from a running gateway's admin
 * API (the counters are the gateway's, in its memory or in Redis).
 */

interface PlanEntry {
  description?: string;
  throttle?: { rate?: unknown; burst?: unknown };
  quota?: { limit?: unknown; period?: unknown; timeZone?: unknown };
  routes?: unknown[];
}

function planNames(doc: Document): string[] {
  const plans = doc.get('plans');
  return isMap(plans) ? plans.items.map((p) => String(isScalar(p.key) ? p.key.value : p.key)) : [];
}

function unknownPlan(doc: Document, plan: string, file: string): Refusal {
  const names = planNames(doc);
  const hint = closest(plan, names);
  return new Refusal(`no plan "${plan}" in ${file}${hint ? ` (did you mean "${hint}"?)` : names.length === 0 ? ' (it has no plans: section)' : ` (its plans: ${names.join(', ')})`}`);
}

/** The splice that sets `plan: NAME` in a consumer's map (replacing the value in place when there is one). */
function setPlanSplice(text: string, consumer: YAMLMap, plan: string, style: Style): Splice | undefined {
  const existing = consumer.items.find((p) => isScalar(p.key) && p.key.value === 'plan');
  if (existing !== undefined) {
    const r = (existing.value as Node | null)?.range;
    return r == null ? undefined : { at: r[0], remove: r[1] - r[0], text: scalar(plan, style) };
  }
  if (consumer.flow) return intoFlow(text, consumer, `${scalar('plan', style)}: ${scalar(plan, style)}`);
  if (consumer.range == null) return undefined;
  return afterBlock(text, consumer, `${' '.repeat(column(text, consumer.range[0]))}plan: ${scalar(plan, style)}`);
}

/**
 * The splice that removes a consumer's `plan` entry: its whole line in a block map, the entry and a comma in a flow
 * one. The only entry of a map leaves `{}` (not an empty value, which would be null).
 */
function removePlanSplice(text: string, consumer: YAMLMap): Splice | undefined {
  const index = consumer.items.findIndex((p) => isScalar(p.key) && p.key.value === 'plan');
  const pair = consumer.items[index]!;
  const start = (pair.key as Node).range?.[0];
  const end = (pair.value as Node | null)?.range?.[1];
  if (start == null || end == null || consumer.range == null) return undefined;
  if (consumer.items.length === 1) {
    if (consumer.flow) return { at: consumer.range[0], remove: consumer.range[1] - consumer.range[0], text: '{}' };
    // `name:\n    plan: x\n` becomes `name: {}\n`: from the end of the line holding the consumer's key.
    const keyLineEnd = text.lastIndexOf('\n', start - 1);
    let lineEnd = text.indexOf('\n', end);
    lineEnd = lineEnd === -1 ? text.length : lineEnd;
    return keyLineEnd < 0 ? undefined : { at: keyLineEnd, remove: lineEnd - keyLineEnd, text: ' {}' };
  }
  if (consumer.flow) {
    if (index > 0) {
      const prevEnd = (consumer.items[index - 1]!.value as Node | null)?.range?.[1];
      return prevEnd == null ? undefined : { at: prevEnd, remove: end - prevEnd, text: '' };
    }
    const next = consumer.items[1]?.key as Node | undefined;
    return next?.range == null ? undefined : { at: start, remove: next.range[0] - start, text: '' };
  }
  const lineStart = text.lastIndexOf('\n', start - 1) + 1;
  let lineEnd = text.indexOf('\n', end);
  lineEnd = lineEnd === -1 ? text.length : lineEnd + 1;
  return { at: lineStart, remove: lineEnd - lineStart, text: '' };
}

function consumerMap(doc: Document, name: string, file: string): YAMLMap {
  const consumer = doc.getIn(['consumers', name], true);
  if (consumer === undefined) throw unknownConsumer(doc, name, file);
  if (!isMap(consumer)) throw new Refusal(`consumers.${name} in ${file} is not a map: edit it by hand`);
  return consumer;
}

const list = new Command('list')
  .description('List the usage plans in the config file: throttle, quota, routes covered and subscribed consumers.')
  .option('-c, --config <file>', 'config file (YAML or JSON)', DEFAULT_CONFIG)
  .action(guarded('plans', async (opts: { config: string }) => {
    const doc = parse(await readText(opts.config), opts.config);
    const js = (doc.toJS() ?? {}) as { plans?: Record<string, PlanEntry | null>; consumers?: Record<string, { plan?: unknown } | null> };
    const plans = Object.entries(js.plans ?? {});
    if (plans.length === 0) {
      process.stderr.write(`expeditor plans: no plans in ${opts.config}\n`);
      return;
    }
    const rows: string[][] = [['PLAN', 'THROTTLE', 'QUOTA', 'ROUTES', 'CONSUMERS']];
    for (const [name, p] of plans) {
      const t = p?.throttle;
      const q = p?.quota;
      const subscribers = Object.entries(js.consumers ?? {}).filter(([, c]) => c?.plan === name).map(([n]) => n);
      rows.push([
        name,
        t === undefined ? '-' : `${String(t.rate)}${t.burst === undefined ? '' : `, burst ${String(t.burst)}`}`,
        q === undefined ? '-' : `${String(q.limit)}/${String(q.period)}${q.timeZone === undefined ? '' : ` (${String(q.timeZone)})`}`,
        Array.isArray(p?.routes) && p.routes.length > 0 ? p.routes.join(',') : 'all',
        subscribers.length === 0 ? '-' : subscribers.join(','),
      ]);
    }
    const widths = rows[0]!.map((_, col) => Math.max(...rows.map((r) => r[col]!.length)));
    for (const r of rows) process.stdout.write(`${r.map((cell, col) => (col === r.length - 1 ? cell : cell.padEnd(widths[col]!))).join('  ')}\n`);
  }));

const subscribe = new Command('subscribe')
  .description('Subscribe a consumer to a plan (sets consumers.NAME.plan in the config file; a consumer has one plan, so this '
    + 'replaces any other). A running gateway applies it from its next reload.')
  .requiredOption('--consumer <name>', 'the consumer')
  .requiredOption('--plan <name>', 'the plan (under plans: in the file)')
  .option('-c, --config <file>', 'config file (YAML or JSON)', DEFAULT_CONFIG)
  .addHelpText('after', `
Example:
  $ expeditor plans subscribe --consumer acme --plan gold -c expeditor.yaml
  expeditor plans: consumers.acme subscribes to plan "gold" in expeditor.yaml`)
  .action(guarded('plans', async (opts: { consumer: string; plan: string; config: string }) => {
    let previous: unknown;
    const changed = await editConfig(opts.config, (doc, text, style) => {
      if (!planNames(doc).includes(opts.plan)) throw unknownPlan(doc, opts.plan, opts.config);
      const consumer = consumerMap(doc, opts.consumer, opts.config);
      previous = consumer.get('plan');
      if (previous === opts.plan) return null;
      const splice = setPlanSplice(text, consumer, opts.plan, style);
      consumer.set('plan', opts.plan);
      return splice;
    });
    const was = changed && typeof previous === 'string' ? ` (was "${previous}")` : '';
    process.stderr.write(`expeditor plans: consumers.${opts.consumer} ${changed ? 'subscribes' : 'already subscribes'} to plan "${opts.plan}"${was} in ${opts.config}\n`);
  }));

const unsubscribe = new Command('unsubscribe')
  .description('Remove a consumer\'s plan (deletes consumers.NAME.plan in the config file). A running gateway applies it '
    + 'from its next reload; the consumer\'s counters in Redis expire on their own.')
  .requiredOption('--consumer <name>', 'the consumer')
  .option('-c, --config <file>', 'config file (YAML or JSON)', DEFAULT_CONFIG)
  .action(guarded('plans', async (opts: { consumer: string; config: string }) => {
    let previous: unknown;
    const changed = await editConfig(opts.config, (doc, text) => {
      const consumer = consumerMap(doc, opts.consumer, opts.config);
      previous = consumer.get('plan');
      if (previous === undefined) return null;
      const splice = removePlanSplice(text, consumer);
      consumer.delete('plan');
      return splice;
    });
    process.stderr.write(changed
      ? `expeditor plans: consumers.${opts.consumer} no longer subscribes to plan "${String(previous)}" in ${opts.config}\n`
      : `expeditor plans: consumers.${opts.consumer} has no plan in ${opts.config}\n`);
  }));

interface UsageOptions extends AdminOptions { consumer: string; json?: boolean }

const usage = withAdminOptions(new Command('usage'))
  .description('Show a consumer\'s current usage of its plan (throttle and quota left, when the quota resets), read from a '
    + 'running gateway\'s admin API without using any of it.')
  .requiredOption('--consumer <name>', 'the consumer')
  .option('--json', 'print the admin API\'s JSON answer')
  .addHelpText('after', `
Example:
  $ expeditor plans usage --consumer acme
  consumer acme, plan gold
  throttle  10/s, burst 20: 20 left (full in 0 s)
  quota     9970 of 10000 left this month (UTC), resets 2025-07-01T00:00:00.000Z`)
  .action(guarded('plans', async (opts: UsageOptions) => {
    const body = await adminRequest(opts, 'GET', `/consumers/${encodeURIComponent(opts.consumer)}/usage`);
    if (opts.json) {
      process.stdout.write(`${JSON.stringify(body, null, 2)}\n`);
      return;
    }
    if (body.plan === null) {
      process.stdout.write(`consumer ${opts.consumer} has no plan\n`);
      return;
    }
    const lines = [`consumer ${String(body.consumer)}, plan ${String(body.plan)}`];
    const t = body.throttle as { rate: unknown; burst: number; remaining: number; fullInSeconds: number } | null;
    if (t !== null) lines.push(`throttle  ${String(t.rate)}, burst ${t.burst}: ${t.remaining} left (full in ${t.fullInSeconds} s)`);
    const q = body.quota as { limit: number; remaining: number; period: string; timeZone: string; resetsAt: string } | null;
    if (q !== null) lines.push(`quota     ${q.remaining} of ${q.limit} left this ${q.period} (${q.timeZone}), resets ${q.resetsAt}`);
    process.stdout.write(`${lines.join('\n')}\n`);
  }));

export const plansCommand = new Command('plans')
  .description('Usage plans: list them, subscribe and unsubscribe consumers in a config file, read a consumer\'s usage.')
  .addCommand(list)
  .addCommand(subscribe)
  .addCommand(unsubscribe)
  .addCommand(usage);
