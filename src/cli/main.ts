import { Command } from 'commander';
import { VERSION } from '../version.ts';
import { startCommand } from './start.ts';
import { validateCommand } from './validate.ts';

const program = new Command('expeditor')
  .description('Expeditor: an API gateway for Node.js.')
  .version(VERSION)
  .addCommand(startCommand)
  .addCommand(validateCommand);

await program.parseAsync(process.argv);
