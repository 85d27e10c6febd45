import type { Config } from './schema/index.ts';
import { validateConfig } from './validate.ts';
import type { LoadedConfig } from './load.ts';
import { buildRuntime, retireRuntime } from '../runtime/build.ts';
import { silentLogger } from '../core/logger.ts';

/**
 * The full check a config must pass before it may serve: schema and meaning (validateConfig), then a trial build
 * (plugins' own checks, the route table). Throws ConfigError with every issue.
 */
export async function checkConfig(loaded: LoadedConfig): Promise<Config> {
  const config = validateConfig(loaded.value, loaded.lineOf);
  const rt = buildRuntime(config, silentLogger);
  await retireRuntime(rt, undefined);
  return config;
}
