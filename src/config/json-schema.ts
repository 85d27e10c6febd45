import { ConfigSchema } from './schema/index.ts';

/** A JSON Schema as plain data. */
export type JsonSchema = { [keyword: string]: unknown };

export const JSON_SCHEMA_DIALECT = 'http://json-schema.org/draft-07/schema#';

// Keywords in the order a reader wants them; anything else follows, alphabetically.
const KEYWORD_ORDER = [
  '$schema', '$id', 'title', 'description', 'type', 'const', 'enum', 'anyOf', 'oneOf', 'allOf', 'pattern', 'format',
  'minimum', 'maximum', 'minLength', 'maxLength', 'minItems', 'maxItems', 'uniqueItems', 'items', 'properties',
  'patternProperties', 'additionalProperties', 'required', 'default', 'errorMessage',
];
// Keywords whose value is a map of names to schemas, a schema, or a list of schemas; the rest hold data (defaults).
const SCHEMA_MAPS = new Set(['properties', 'patternProperties', 'definitions', '$defs']);
const SCHEMA_VALUES = new Set(['items', 'additionalProperties', 'not', 'contains']);
const SCHEMA_LISTS = new Set(['anyOf', 'oneOf', 'allOf']);

/**
 * The config schema as editors and other tools read it (`schema/expeditor.schema.json`, the admin API's `/schema`):
 * draft-07, plain JSON, keywords in a fixed order so the committed file only changes when the schema does.
 *
 * One difference from the schema validation runs: a field with a default is not `required` here. The validator
 * fills defaults before it checks, so such a field may always be left out, and an editor must not ask for it.
 */
export function configJsonSchema(): JsonSchema {
  const plain = JSON.parse(JSON.stringify(ConfigSchema)) as JsonSchema;
  return normalise({ $schema: JSON_SCHEMA_DIALECT, ...plain });
}

function normalise(schema: JsonSchema): JsonSchema {
  const out: JsonSchema = {};
  const keys = Object.keys(schema).sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
  for (const key of keys) {
    const value = schema[key];
    // Our own format: what it adds (a duration fits in a timer) is checked by the gateway, not by editors.
    if (key === 'format' && value === 'duration') continue;
    if (key === 'required' && Array.isArray(value)) {
      const props = (schema.properties ?? {}) as Record<string, JsonSchema>;
      const required = value.filter((name: string) => props[name]?.default === undefined);
      if (required.length > 0) out.required = required;
      continue;
    }
    if (SCHEMA_MAPS.has(key) && isSchema(value)) {
      out[key] = Object.fromEntries(Object.entries(value).map(([k, v]) => [k, isSchema(v) ? normalise(v) : v]));
    } else if (SCHEMA_VALUES.has(key) && isSchema(value)) {
      out[key] = normalise(value);
    } else if (SCHEMA_LISTS.has(key) && Array.isArray(value)) {
      out[key] = value.map((v) => (isSchema(v) ? normalise(v) : v));
    } else {
      out[key] = value;
    }
  }
  return out;
}

function rank(keyword: string): number {
  const i = KEYWORD_ORDER.indexOf(keyword);
  return i === -1 ? KEYWORD_ORDER.length : i;
}

function isSchema(v: unknown): v is JsonSchema {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
