import { Command } from 'commander';
import { ConfigError, formatIssueIn } from '../config/errors.ts';
import { loadConfigFile } from '../config/load.ts';
import { checkConfig } from '../config/check.ts';

/** Exit status of a config that cannot be used (also for usage errors); 0 is a usable config. */
export const EXIT_INVALID = 2;

export const validateCommand = new Command('validate')
  .description('Check a config file without starting anything: schema, references, plugin configs and a trial build. '
    + 'Prints every error as FILE:LINE: PATH: MESSAGE on stderr and exits 2, or prints a one-line summary and exits 0.')
  .argument('<file>', 'config file (YAML or JSON)')
  .addHelpText('after', `
Examples:
  $ expeditor validate expeditor.yaml
  expeditor.yaml: valid (4 routes, 3 upstreams, 1 global plugin)

  $ expeditor validate broken.yaml
  broken.yaml:14: routes[1].upstream: unknown upstream "orders"
  broken.yaml: 1 error

Environment placeholders (\${env:NAME}) are resolved from this shell's environment.`)
  .action(async (file: string) => {
    try {
      const config = await checkConfig(await loadConfigFile(file));
      const upstreams = Object.keys(config.upstreams ?? {}).length;
      const plugins = Object.keys(config.plugins ?? {}).length;
      process.stdout.write(`${file}: valid (${count(config.routes.length, 'route')}, ${count(upstreams, 'upstream')}, ${count(plugins, 'global plugin')})\n`);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      reportIssues(file, err);
    }
  });

/** Every issue on stderr, one per line in file order, then how many; sets the exit status. */
export function reportIssues(file: string, err: ConfigError): void {
  const inFileOrder = [...err.issues].sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
  for (const issue of inFileOrder) process.stderr.write(`${formatIssueIn(file, issue)}\n`);
  process.stderr.write(`${file}: ${count(err.issues.length, 'error')}\n`);
  process.exitCode = EXIT_INVALID;
}

function count(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
