import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import type { TSchema } from '@sinclair/typebox';
import { PLUGINS, pluginByName } from '../../src/plugins/index.ts';
import { create } from './support.ts';

/** Dotted paths of every object property in a schema (descending into objects, not into unions or arrays). */
function fieldPaths(schema: TSchema, prefix = ''): Array<[string, TSchema]> {
  const out: Array<[string, TSchema]> = [];
  const props = (schema as { properties?: Record<string, TSchema> }).properties ?? {};
  for (const [key, sub] of Object.entries(props)) {
    const path = prefix === '' ? key : `${prefix}.${key}`;
    out.push([path, sub], ...fieldPaths(sub, path));
  }
  return out;
}

const DOC = readFileSync(new URL('../../docs/plugins.md', import.meta.url), 'utf8');

function section(name: string): string {
  const start = DOC.indexOf(`\n## ${name}\n`);
  assert.notEqual(start, -1, `docs/plugins.md has no "## ${name}" section`);
  const end = DOC.indexOf('\n## ', start + 1);
  return DOC.slice(start, end === -1 ? undefined : end);
}

/** Every `plugins:` object in a YAML example: the global one and each route's. */
function pluginBlocks(doc: unknown): Array<Record<string, unknown>> {
  const d = doc as { plugins?: Record<string, unknown>; routes?: Array<{ plugins?: Record<string, unknown> }> };
  return [d.plugins, ...(d.routes ?? []).map((r) => r.plugins)].filter((p) => p !== undefined);
}

describe('plugin registry', () => {
  it('names every plugin once, in kebab-case', () => {
    assert.equal(pluginByName.size, PLUGINS.length);
    for (const p of PLUGINS) assert.match(p.name, /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/);
  });

  it('describes every config field, as the docs and the admin API rely on it', () => {
    for (const p of PLUGINS) {
      assert.ok(p.description.length > 0, p.name);
      for (const [path, sub] of fieldPaths(p.schema)) {
        assert.ok(typeof sub.description === 'string' && sub.description.length > 0, `${p.name}.${path} has no description`);
      }
    }
  });

  it('runs request-id before and mock after every other plugin', () => {
    const others = PLUGINS.filter((p) => p.name !== 'request-id' && p.name !== 'mock');
    for (const p of others) {
      assert.ok(pluginByName.get('request-id')!.priority > p.priority, p.name);
      assert.ok(pluginByName.get('mock')!.priority < p.priority, p.name);
    }
  });
});

describe('docs/plugins.md', () => {
  it('has a section per plugin naming every config field (leaf paths such as `request.set`) and the priority', () => {
    for (const p of PLUGINS) {
      const text = section(p.name);
      const leaves = fieldPaths(p.schema).filter(([, sub]) => (sub as { properties?: unknown }).properties === undefined);
      for (const [path] of leaves) assert.ok(text.includes(`\`${path}\``), `docs/plugins.md, ${p.name}: field \`${path}\` is not documented`);
      assert.ok(text.includes(String(p.priority)), `docs/plugins.md, ${p.name}: priority ${p.priority} is not stated`);
    }
  });

  it('has YAML examples that are valid configs for each plugin', () => {
    let checked = 0;
    for (const p of PLUGINS) {
      const blocks = [...section(p.name).matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => parse(m[1]!));
      assert.ok(blocks.length > 0, `docs/plugins.md, ${p.name}: no YAML example`);
      const configs = blocks.flatMap(pluginBlocks).map((b) => b[p.name]).filter((c) => c !== undefined);
      assert.ok(configs.length > 0, `docs/plugins.md, ${p.name}: no example configures it`);
      for (const c of configs) {
        assert.doesNotThrow(() => create(p, c), `docs/plugins.md, ${p.name}: example ${JSON.stringify(c)}`);
        checked++;
      }
    }
    assert.ok(checked >= PLUGINS.length);
  });
});
