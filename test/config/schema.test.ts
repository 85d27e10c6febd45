import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { generatedFiles, rootPath } from '../../scripts/gen-schema.ts';
import { configJsonSchema, JSON_SCHEMA_DIALECT, type JsonSchema } from '../../src/config/json-schema.ts';
import { PLUGINS } from '../../src/plugins/index.ts';

/** Every object schema with properties, with its path (`routes[].match`), visited through lists, maps and unions. */
function* objects(schema: JsonSchema, path = ''): Generator<[string, JsonSchema]> {
  if (schema.properties) {
    yield [path, schema];
    for (const [k, v] of Object.entries(schema.properties as Record<string, JsonSchema>)) yield* objects(v, path ? `${path}.${k}` : k);
  }
  if (schema.items) yield* objects(schema.items as JsonSchema, `${path}[]`);
  for (const v of Object.values((schema.patternProperties ?? {}) as Record<string, JsonSchema>)) yield* objects(v, `${path}.<name>`);
  for (const v of (schema.anyOf ?? []) as JsonSchema[]) yield* objects(v, path);
}

describe('generated schema and configuration reference', () => {
  for (const [file, expected] of Object.entries(generatedFiles())) {
    it(`${file} is in step with src/config/schema`, () => {
      let committed = '';
      try {
        committed = readFileSync(rootPath(file), 'utf8');
      } catch {
        assert.fail(`${file} is missing: run \`npm run schema\``);
      }
      assert.ok(committed === expected, `${file} is out of step with the config schema: run \`npm run schema\` and commit the result`);
    });
  }

  it('is plain JSON that declares its dialect, generated the same way every time', () => {
    const schema = configJsonSchema();
    assert.equal(schema.$schema, JSON_SCHEMA_DIALECT);
    assert.equal(Object.keys(schema)[0], '$schema');
    assert.deepEqual(JSON.parse(JSON.stringify(schema)), schema);
    assert.equal(JSON.stringify(configJsonSchema()), JSON.stringify(schema));
  });

  it('every property has a description', () => {
    const missing: string[] = [];
    for (const [path, obj] of objects(configJsonSchema())) {
      for (const [k, v] of Object.entries(obj.properties as Record<string, JsonSchema>)) {
        if (typeof v.description !== 'string' || v.description.trim() === '') missing.push(path ? `${path}.${k}` : k);
      }
    }
    assert.deepEqual(missing, [], `add a description to: ${missing.join(', ')}`);
  });

  it('no field with a default is required (an editor must not ask for what the gateway fills in)', () => {
    for (const [path, obj] of objects(configJsonSchema())) {
      const props = obj.properties as Record<string, JsonSchema>;
      for (const name of (obj.required ?? []) as string[]) {
        assert.equal(props[name]?.default, undefined, `${path}.${name} has a default but is required`);
      }
    }
  });

  it('lists every shipped plugin, globally and per route, and the reference links each to docs/plugins.md', () => {
    const schema = configJsonSchema();
    const props = schema.properties as Record<string, JsonSchema>;
    const global = Object.keys((props.plugins!.properties ?? {}) as object);
    const route = Object.keys(((props.routes!.items as JsonSchema).properties as Record<string, JsonSchema>).plugins!.properties as object);
    const names = PLUGINS.map((p) => p.name);
    assert.deepEqual(global, names);
    assert.deepEqual(route, names);
    const reference = generatedFiles()['docs/configuration.md']!;
    const pluginsDoc = readFileSync(rootPath('docs/plugins.md'), 'utf8');
    for (const name of names) {
      assert.ok(reference.includes(`](plugins.md#${name})`), `docs/configuration.md should link plugins.${name} to docs/plugins.md#${name}`);
      assert.match(pluginsDoc, new RegExp(`^## ${name}$`, 'm'), `docs/plugins.md has no section "## ${name}"`);
    }
  });

  it('the reference has a row for every field, with its full path', () => {
    const reference = generatedFiles()['docs/configuration.md']!;
    for (const path of ['listen.port', 'admin.token', 'server.paths.duplicateSlashes', 'upstreams.<name>.targets[].url', 'routes[].match.host', 'routes[].rewrite.regex.pattern', 'plugins.cors.origins', 'routes[].plugins.mock']) {
      assert.ok(reference.includes(`| \`${path}\` |`), `no row for ${path}`);
    }
    assert.match(reference, /\| `server\.maxBodyBytes` \| size \| `10mb` \| Largest request body/);
  });
});
