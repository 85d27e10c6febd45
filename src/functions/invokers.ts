import { createHash } from 'node:crypto';
import { Value } from '@sinclair/typebox/value';
import type { Config } from '../config/schema/index.ts';
import { FunctionConfig, type FunctionConfigT } from '../config/schema/function.ts';
import { formatPath, type ConfigIssue } from '../config/errors.ts';
import type { Logger } from '../core/logger.ts';
import type { FunctionInvoker } from './types.ts';
import { LocalFunction } from './local/local-function.ts';
import { RemoteFunction } from './remote/remote-function.ts';

/** A function of a runtime: its invoker and the hash of the config it was made from (for reuse across reloads). */
export interface FunctionHandle {
  readonly invoker: FunctionInvoker;
  readonly hash: string;
}

export interface InvokerContext {
  baseDir: string;
  logger: Logger;
}

function functionHash(config: FunctionConfigT, baseDir: string): string {
  return createHash('sha256').update(JSON.stringify([config, baseDir])).digest('hex').slice(0, 16);
}

/** The invoker for one function's config: sandboxes here, or a remote Invoke API. Creating one starts nothing. */
export function createInvoker(name: string, config: FunctionConfigT, ctx: InvokerContext): FunctionInvoker {
  if (config.arn !== undefined) return new RemoteFunction(name, config, { logger: ctx.logger });
  return new LocalFunction(name, config, { baseDir: ctx.baseDir, logger: ctx.logger });
}

/**
 * The functions of a config. One whose config (and base directory) is unchanged from the previous runtime is
 * reused, warm sandboxes and all; the rest are new. An invoker that can't be made is an issue at its path.
 */
export function buildFunctions(
  config: Config, previous: ReadonlyMap<string, FunctionHandle> | undefined, ctx: InvokerContext, issues: ConfigIssue[],
): Map<string, FunctionHandle> {
  const out = new Map<string, FunctionHandle>();
  for (const [name, raw] of Object.entries(config.functions ?? {})) {
    const fc = Value.Default(FunctionConfig, structuredClone(raw)) as FunctionConfigT;
    const hash = functionHash(fc, ctx.baseDir);
    const old = previous?.get(name);
    if (old !== undefined && old.hash === hash) {
      out.set(name, old);
      continue;
    }
    try {
      out.set(name, { invoker: createInvoker(name, fc, ctx), hash });
    } catch (err) {
      issues.push({ path: formatPath(['functions', name, ...(fc.arn !== undefined ? ['arn'] : [])]), message: (err as Error).message });
    }
  }
  return out;
}
