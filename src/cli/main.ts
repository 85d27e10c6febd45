import { Command, CommanderError } from 'commander';
import { VERSION } from '../version.ts';
import { startCommand } from './start.ts';
import { EXIT_INVALID, validateCommand } from './validate.ts';
import { keysCommand } from './keys.ts';
import { passwordsCommand } from './passwords.ts';
import { plansCommand } from './plans.ts';
import { cacheCommand } from './cache.ts';
import { invokeCommand } from './invoke.ts';
import { deployCommands } from './deploy.ts';

const program = new Command('expeditor')
  .description('Expeditor: an API gateway for Node.js.')
  .version(VERSION)
  .addCommand(startCommand)
  .addCommand(validateCommand)
  .addCommand(keysCommand)
  .addCommand(passwordsCommand)
  .addCommand(plansCommand)
  .addCommand(cacheCommand)
  .addCommand(invokeCommand);
for (const c of deployCommands) program.addCommand(c);

// Usage errors exit 2, like an invalid config: scripts only have to tell 0 from non-zero, and 1 stays for crashes.
const everyCommand = (c: Command): Command[] => [c, ...c.commands.flatMap(everyCommand)];
for (const cmd of everyCommand(program)) cmd.exitOverride().showHelpAfterError('(add --help for usage)');

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    process.exitCode = err.exitCode === 0 ? 0 : EXIT_INVALID;
  } else {
    process.stderr.write(`expeditor: internal error: ${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 1;
  }
}
