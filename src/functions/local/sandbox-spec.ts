/**
 * How to start a sandbox of one function, per runtime. `nodejs`: this Node binary running the built-in bootstrap
 * with the heap capped at `memorySize` (V8 then fails the sandbox with an out-of-memory error). `provided`: the
 * function's own executable `bootstrap`, its process tree's RSS watched against `memorySize`.
 */
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FunctionConfigT } from '../../config/schema/function.ts';
import type { Logger } from '../../core/logger.ts';
import { logStreamName, sandboxEnv, sandboxIdentity } from './sandbox-env.ts';
import type { SandboxSpec } from './sandbox.ts';

const NODE_RUNTIME_DIR = fileURLToPath(new URL('./node-runtime/', import.meta.url));
const NODE_BOOTSTRAP = join(NODE_RUNTIME_DIR, 'bootstrap.ts');
const NODE_EXECUTION_ENV = `AWS_Lambda_nodejs${process.versions.node.split('.')[0]}.x`;
/** What V8 prints when the heap limit is hit. */
const NODE_OOM_LINE = /JavaScript heap out of memory|Reached heap limit/;

/**
 * Node caches compiled code (and the TypeScript it strips) here: the bootstrap is TypeScript, and stripping it on
 * every cold start would cost tens of milliseconds. Per user, so one user cannot feed another compiled code.
 */
const COMPILE_CACHE_DIR = join(tmpdir(), `expeditor-compile-cache-${process.getuid?.() ?? 'user'}`);

export function sandboxSpec(name: string, config: FunctionConfigT, baseDir: string, logger: Logger): SandboxSpec {
  const taskRoot = resolve(baseDir, config.codeDir ?? '.');
  const identity = sandboxIdentity(name, config.memorySize, config.environment);
  const node = config.runtime === 'nodejs';
  if (node && config.handler === undefined) throw new TypeError(`function ${name}: the nodejs runtime needs a handler`);
  return {
    functionName: name,
    command: node ? process.execPath : join(taskRoot, 'bootstrap'),
    args: node ? [`--max-old-space-size=${config.memorySize}`, NODE_BOOTSTRAP] : [],
    cwd: taskRoot,
    env: (runtimeApi) => sandboxEnv({
      identity,
      logStreamName: logStreamName(),
      runtimeApi,
      handler: config.handler,
      taskRoot,
      runtimeDir: node ? NODE_RUNTIME_DIR : taskRoot,
      environment: config.environment,
      ...(node ? { executionEnv: NODE_EXECUTION_ENV, extra: { NODE_COMPILE_CACHE: COMPILE_CACHE_DIR } } : {}),
    }),
    invokedFunctionArn: identity.invokedFunctionArn,
    memorySize: config.memorySize,
    rssLimit: node ? undefined : config.memorySize * 1024 * 1024,
    ...(node ? { oomLine: NODE_OOM_LINE } : {}),
    logger,
  };
}
