import { Command } from 'commander';
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { Value } from '@sinclair/typebox/value';
import { ConfigError } from '../config/errors.ts';
import { loadConfigFile } from '../config/load.ts';
import { validateConfig } from '../config/validate.ts';
import { FunctionConfig, type FunctionConfigT } from '../config/schema/function.ts';
import { closest } from '../config/suggest.ts';
import { stderrLogger } from '../core/logger.ts';
import { createInvoker } from '../functions/invokers.ts';
import { InvokeError } from '../functions/types.ts';
import { DEFAULT_CONFIG, Refusal, guarded } from './yaml-edit.ts';
import { reportIssues } from './validate.ts';

/** Exit status of an invocation that ran and failed (the function's error is printed). */
export const EXIT_FUNCTION_ERROR = 1;

interface InvokeOptions { config: string; event?: string; tail?: boolean }

async function readEvent(source: string | undefined): Promise<Buffer> {
  if (source === undefined) return Buffer.from('{}');
  try {
    const text = source === '-' ? await new Response(process.stdin as unknown as ReadableStream).text() : await readFile(source, 'utf8');
    JSON.parse(text);
    return Buffer.from(text);
  } catch (err) {
    throw new Refusal(`--event ${source}: ${err instanceof SyntaxError ? `not JSON (${err.message})` : (err as Error).message}`);
  }
}

export const invokeCommand = new Command('invoke')
  .description('Invoke a function of a config file once, here (a local test invoke, as `sam local invoke`): prints its result '
    + 'on stdout and its logs on stderr.')
  .argument('<name>', 'the function (a key of `functions`)')
  .option('-c, --config <file>', 'config file', DEFAULT_CONFIG)
  .option('-e, --event <file>', 'the event as a JSON file, or - for stdin (default: {})')
  .option('--tail', 'also print the last 4 KB of the invocation\'s log on stderr')
  .addHelpText('after', `
Examples:
  $ expeditor invoke orders --event events/get-order.json
  {"statusCode":200,"body":"{\\"id\\":42}"}
  $ echo '{"name":"Ada"}' | expeditor invoke greet --event -

Exit status: 0 when the function returned, 1 when it failed (its error JSON is printed), 2 when it could not run.`)
  .action(guarded('invoke', async (name: string, opts: InvokeOptions) => {
    let config;
    try {
      config = validateConfig((await loadConfigFile(opts.config)).value);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      return reportIssues(opts.config, err);
    }
    const raw = config.functions?.[name];
    if (raw === undefined) {
      const near = closest(name, Object.keys(config.functions ?? {}));
      throw new Refusal(`${opts.config} has no function "${name}"${near === undefined ? '' : ` (did you mean "${near}"?)`}`);
    }
    const payload = await readEvent(opts.event);
    const fc = Value.Default(FunctionConfig, structuredClone(raw)) as FunctionConfigT;
    const invoker = createInvoker(name, fc, { baseDir: dirname(resolve(opts.config)), logger: stderrLogger });
    try {
      const result = await invoker.invoke({ payload, requestId: randomUUID(), tailLogs: opts.tail === true });
      if (opts.tail && result.logTail !== undefined) process.stderr.write(result.logTail);
      process.stdout.write(`${result.payload.toString('utf8')}\n`);
      if (result.status === 'error') process.exitCode = EXIT_FUNCTION_ERROR;
    } catch (err) {
      if (err instanceof InvokeError) throw new Refusal(`function ${name}: ${err.failure}: ${err.message}`);
      throw err;
    } finally {
      await invoker.close();
    }
  }));
