import { beginShutdown, killAllSync, removeTempDirs, stopAll } from './procs.ts';

const log = (msg: string): void => void process.stderr.write(msg + '\n');

/**
 * Runs a benchmark's main function with clean-up on every path: normal end, failure, Ctrl-C (a second signal stops
 * waiting), uncaught errors. Child processes are stopped and temp dirs removed before the process exits with
 * main's code.
 */
export function runBench(main: () => Promise<number>): void {
  let finishing = false;
  const finish = async (code: number, message?: string): Promise<void> => {
    if (finishing) {
      // Second signal: do not wait any longer.
      killAllSync();
      removeTempDirs();
      process.exit(code);
    }
    finishing = true;
    beginShutdown();
    if (message) log(message);
    try {
      await stopAll();
    } finally {
      removeTempDirs();
      process.exit(code);
    }
  };
  process.on('exit', () => {
    killAllSync();
    removeTempDirs();
  });
  process.on('SIGINT', () => void finish(130, '\ninterrupted: stopping child processes and removing temp dirs…'));
  process.on('SIGTERM', () => void finish(143, 'terminated: cleaning up…'));
  process.on('SIGHUP', () => void finish(129));
  process.on('uncaughtException', (err) => void finish(1, `error: ${err.stack ?? err.message}`));
  process.on('unhandledRejection', (err) => void finish(1, `error: ${String((err as Error)?.stack ?? err)}`));
  main().then(
    (code) => finish(code),
    (err: unknown) => finish(1, `error: ${(err as Error)?.stack ?? String(err)}`),
  );
}
