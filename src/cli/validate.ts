import { Command } from 'commander';
import { ConfigError, formatIssue } from '../config/errors.ts';
import { loadConfigFile } from '../config/load.ts';
import { checkConfig } from '../config/check.ts';

export const validateCommand = new Command('validate')
  .description('Check a config file: prints every error with its path and exits 2, or a one-line summary and exits 0.')
  .argument('<file>', 'config file (YAML or JSON)')
  .action(async (file: string) => {
    try {
      const config = await checkConfig(await loadConfigFile(file));
      const upstreams = Object.keys(config.upstreams ?? {}).length;
      const plugins = Object.keys(config.plugins ?? {}).length;
      process.stdout.write(`${file}: valid (${config.routes.length} routes, ${upstreams} upstreams, ${plugins} global plugins)\n`);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      for (const issue of err.issues) process.stderr.write(`${file}: ${formatIssue(issue)}\n`);
      process.stderr.write(`${file}: ${err.issues.length} error${err.issues.length === 1 ? '' : 's'}\n`);
      process.exitCode = 2;
    }
  });
