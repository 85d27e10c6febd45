import { Command, Option } from 'commander';
import { hashPassword, hasArgon2, type PasswordAlgorithm } from '../identity/passwords.ts';
import { EXIT_INVALID } from './validate.ts';

/**
 * `expeditor passwords hash`: the PHC hash a basic-auth credential's `passwordHash` holds. The password is read
 * from stdin (the first line), never from the command line, where it would land in shell history and `ps`.
 */

/** The first line of piped stdin, without its line ending. */
async function firstLine(): Promise<string> {
  let text = '';
  for await (const chunk of process.stdin) {
    text += String(chunk);
    if (text.includes('\n')) break;
  }
  return text.split('\n')[0]!.replace(/\r$/, '');
}

/** Reads a line from the terminal without echoing it. */
function hidden(prompt: string): Promise<string> {
  const stdin = process.stdin;
  return new Promise((resolve, reject) => {
    let chars: string[] = [];
    const finish = (err?: Error) => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
      if (err) reject(err);
      else resolve(chars.join(''));
    };
    const onData = (s: string) => {
      for (const ch of s) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') return finish();
        if (ch === '\u0003') return finish(new Error('interrupted'));
        if (ch === '\u007f' || ch === '\b') chars = chars.slice(0, -1);
        else chars.push(ch);
      }
    };
    process.stderr.write(prompt);
    stdin.setEncoding('utf8');
    stdin.setRawMode(true);
    stdin.resume();
    stdin.on('data', onData);
  });
}

async function readPassword(): Promise<string | undefined> {
  if (!process.stdin.isTTY) return firstLine();
  const first = await hidden('password: ');
  if (first === '') return first;
  if (await hidden('again: ') !== first) return undefined;
  return first;
}

const hash = new Command('hash')
  .description('Hash a password for a basic-auth credential: reads it from stdin (the first line; prompted without '
    + 'echo on a terminal) and prints the PHC string to put in passwordHash.')
  // argon2id by default: at OWASP's recommended settings it costs a fraction of what scrypt costs (40 ms against
  // 270 ms here) for comparable strength, and every unknown user name costs a login one too.
  .addOption(new Option('--algorithm <name>', 'argon2id (m=19 MiB, t=2, p=1) or scrypt (N=2^15, r=8, p=3)').choices(['argon2id', 'scrypt']).default('argon2id'))
  .addHelpText('after', `
Example:
  $ printf '%s\\n' "$REPORTING_PASSWORD" | expeditor passwords hash
  $argon2id$v=19$m=19456,t=2,p=1$QsxX18koqQ2sOGGVi5bhwQ$I+mWHqG7V9hZ82NVB1QO5x2G9ZujpyBochRKYGz2GHk`)
  .action(async (opts: { algorithm: PasswordAlgorithm }) => {
    const fail = (message: string) => {
      process.stderr.write(`expeditor passwords: ${message}\n`);
      process.exitCode = EXIT_INVALID;
    };
    if (opts.algorithm === 'argon2id' && !hasArgon2()) return fail('argon2id needs Node 24.7 or later; use --algorithm scrypt');
    const password = await readPassword();
    if (password === undefined) return fail('the passwords do not match');
    if (password === '') return fail('no password: write it on stdin (one line)');
    process.stdout.write(`${await hashPassword(password, opts.algorithm)}\n`);
  });

export const passwordsCommand = new Command('passwords')
  .description('Make password hashes for basic-auth credentials.')
  .addCommand(hash);
