/**
 * Finds and loads the handler named by `_HANDLER` (`path/to/file.export`, the export may be nested: `file.a.b`) as
 * AWS's Node.js runtime does, with TypeScript added: the file is tried as .js, .mjs, .cjs, .ts, .mts, .cts. ES
 * modules (.mjs/.mts) load with `import()`; everything else with `require`, which in Node 24 also loads ESM
 * without top-level await (the rest falls back to `import()`). Failures are errors named as AWS names them.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

const EXTENSIONS = ['.js', '.mjs', '.cjs', '.ts', '.mts', '.cts'];
const ESM_ONLY = new Set(['.mjs', '.mts']);
const HANDLER_RE = /^([^.]*)\.(.*)$/;

export type Handler = (event: unknown, context: object, callback: (err?: unknown, result?: unknown) => void) => unknown;

function runtimeError(name: string, message: string, cause?: unknown): Error {
  const err = new Error(message, cause === undefined ? undefined : { cause });
  err.name = name;
  return err;
}

function isModuleNotFound(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return code === 'MODULE_NOT_FOUND' || code === 'ERR_MODULE_NOT_FOUND';
}

async function loadModule(file: string): Promise<Record<string, unknown>> {
  const ext = file.slice(file.lastIndexOf('.'));
  if (!ESM_ONLY.has(ext)) {
    try {
      return createRequire(file)(file) as Record<string, unknown>;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ERR_REQUIRE_ASYNC_MODULE' && code !== 'ERR_REQUIRE_ESM') throw err;
    }
  }
  return await import(pathToFileURL(file).href) as Record<string, unknown>;
}

function pick(mod: Record<string, unknown>, path: string): unknown {
  let value: unknown = mod;
  for (const key of path.split('.')) value = (value as Record<string, unknown> | undefined)?.[key];
  return value;
}

export async function loadHandler(taskRoot: string, handlerString: string): Promise<Handler> {
  const m = HANDLER_RE.exec(basename(handlerString));
  if (m === null || m[1] === '' || m[2] === '') {
    throw runtimeError('Runtime.MalformedHandlerName', `Bad handler ${handlerString}`);
  }
  const [, moduleName, exportPath] = m as unknown as [string, string, string];
  const base = join(taskRoot, dirname(handlerString), moduleName);
  const file = EXTENSIONS.map((ext) => base + ext).find((f) => existsSync(f));
  if (file === undefined) {
    throw runtimeError('Runtime.ImportModuleError', `Error: Cannot find module '${moduleName}'`);
  }
  let mod: Record<string, unknown>;
  try {
    mod = await loadModule(file);
  } catch (err) {
    if (err instanceof SyntaxError) throw runtimeError('Runtime.UserCodeSyntaxError', `${err.name}: ${err.message}`, err);
    if (isModuleNotFound(err)) throw runtimeError('Runtime.ImportModuleError', `Error: ${(err as Error).message}`, err);
    throw err;
  }
  const handler = pick(mod, exportPath) ?? (mod.default === undefined ? undefined : pick(mod.default as Record<string, unknown>, exportPath));
  if (handler === undefined) throw runtimeError('Runtime.HandlerNotFound', `${moduleName}.${exportPath} is undefined or not exported`);
  if (typeof handler !== 'function') throw runtimeError('Runtime.HandlerNotFound', `${moduleName}.${exportPath} is not a function`);
  return handler as Handler;
}
