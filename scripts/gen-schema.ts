// `npm run schema`: writes schema/expeditor.schema.json and docs/configuration.md from the config schema
// (src/config/schema/ and each plugin's schema.ts). test/config/schema.test.ts fails while either is out of step.
import { mkdir, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { dirname } from 'node:path';
import { configJsonSchema } from '../src/config/json-schema.ts';
import { renderConfigReference } from './config-reference.ts';

const ROOT = new URL('../', import.meta.url);

/** The generated files, relative to the repository root, with their exact contents. */
export function generatedFiles(): Record<string, string> {
  const schema = configJsonSchema();
  return {
    'schema/expeditor.schema.json': `${JSON.stringify(schema, null, 2)}\n`,
    'docs/configuration.md': renderConfigReference(schema),
  };
}

export function rootPath(relative: string): string {
  return fileURLToPath(new URL(relative, ROOT));
}

if (import.meta.main) {
  for (const [file, text] of Object.entries(generatedFiles())) {
    const path = rootPath(file);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, text);
    process.stdout.write(`wrote ${file}\n`);
  }
}
