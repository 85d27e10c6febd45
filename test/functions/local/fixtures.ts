/** Shared setup of the local function runtime tests: functions over examples/functions/, a recording logger. */
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { FunctionConfigT } from '../../../src/config/schema/function.ts';
import type { Logger } from '../../../src/core/logger.ts';
import { LocalFunction } from '../../../src/functions/local/index.ts';
import type { InvokeRequest, InvokeResult } from '../../../src/functions/types.ts';

export const EXAMPLES = fileURLToPath(new URL('../../../examples/functions/', import.meta.url));

export interface LogEntry {
  level: string;
  msg: string;
  fields: Record<string, unknown>;
}

export function recordingLogger(): Logger & { entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  const log = (level: string) => (msg: string, fields: Record<string, unknown> = {}) => entries.push({ level, msg, fields });
  return { entries, info: log('info'), warn: log('warn'), error: log('error') };
}

/** A function config with the schema's defaults, small limits for tests, and `overrides`. */
export function config(overrides: Partial<FunctionConfigT>): FunctionConfigT {
  return {
    runtime: 'nodejs',
    timeout: '5s',
    memorySize: 128,
    environment: {},
    reservedConcurrency: 2,
    queue: { maxSize: 10, timeout: '10s' },
    idleTimeout: '5m',
    ...overrides,
  };
}

/** Functions made here are closed by `closeAll` (call it in `after`). */
const made: LocalFunction[] = [];

export function localFunction(name: string, overrides: Partial<FunctionConfigT>, logger: Logger = recordingLogger()): LocalFunction {
  const fn = new LocalFunction(name, config(overrides), { baseDir: EXAMPLES, logger });
  made.push(fn);
  return fn;
}

export async function closeAll(): Promise<void> {
  await Promise.all(made.splice(0).map((fn) => fn.close()));
}

export function invoke(fn: LocalFunction, event: unknown = {}, extra: Partial<InvokeRequest> = {}): Promise<InvokeResult> {
  return fn.invoke({ payload: Buffer.from(JSON.stringify(event)), requestId: randomUUID(), ...extra });
}

/** The result's payload, parsed. */
export function json(result: InvokeResult): any {
  return JSON.parse(result.payload.toString('utf8'));
}
