import { access, constants } from 'node:fs/promises';
import type { Config } from './schema/index.ts';
import { validateConfig } from './validate.ts';
import type { LoadedConfig } from './load.ts';
import { ConfigError, withLines, type ConfigIssue } from './errors.ts';
import { buildRuntime, retireRuntime } from '../runtime/build.ts';
import { silentLogger } from '../core/logger.ts';

/**
 * The full check a config must pass before it may serve: schema and meaning (validateConfig), the files it names
 * (TLS certificate and key), then a trial build (plugins' own checks, the route table). Throws ConfigError with
 * every issue, located by line when the config came from a file.
 */
export async function checkConfig(loaded: Pick<LoadedConfig, 'value'> & Partial<LoadedConfig>): Promise<Config> {
  const config = validateConfig(loaded.value, loaded);
  const issues = await checkFiles(config);
  try {
    const rt = buildRuntime(config, silentLogger);
    await retireRuntime(rt, undefined);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    issues.push(...err.issues);
  }
  if (issues.length > 0) throw new ConfigError(withLines(issues, loaded.lineOf));
  return config;
}

/** Files the config names must be readable by this process (paths are relative to the working directory). */
export async function checkFiles(config: Config): Promise<ConfigIssue[]> {
  const issues: ConfigIssue[] = [];
  const tls = config.listen?.tls;
  if (tls) {
    for (const key of ['cert', 'key'] as const) {
      try {
        await access(tls[key], constants.R_OK);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code;
        issues.push({ path: `listen.tls.${key}`, message: `cannot read "${tls[key]}": ${why}` });
      }
    }
  }
  return issues;
}
