import { Command } from 'commander';
import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { ConfigError } from '../config/errors.ts';
import { checkConfig } from '../config/check.ts';
import { loadConfigFile } from '../config/load.ts';
import { validateConfig } from '../config/validate.ts';
import { Gateway } from '../server/gateway.ts';
import { closeSharedStores } from '../limits/stores.ts';
import { closeCacheStores } from '../cache/stores.ts';
import { stderrLogger } from '../core/logger.ts';
import { reportIssues } from './validate.ts';

export const startCommand = new Command('start')
  .description('Run the gateway: the proxy on listen.port (8080) and the admin API on 127.0.0.1:8081. Reloads on '
    + 'SIGHUP and when the file changes (an invalid file is refused and the running config keeps serving); drains '
    + 'and exits 0 on SIGTERM or SIGINT. Exits 2 when the config is invalid at start.')
  .requiredOption('-c, --config <file>', 'config file (YAML or JSON)')
  .option('--no-watch', 'do not reload when the config file changes (SIGHUP still reloads)')
  .addHelpText('after', `
Example:
  $ expeditor start --config expeditor.yaml
  expeditor: proxy http://127.0.0.1:8080, admin http://127.0.0.1:8081`)
  .action(async (opts: { config: string; watch: boolean }) => {
    const file = resolve(opts.config);
    const logger = stderrLogger;
    const source = async () => {
      const loaded = await loadConfigFile(file);
      return validateConfig(loaded.value, loaded);
    };
    let gateway: Gateway;
    try {
      gateway = await Gateway.start(await checkConfig(await loadConfigFile(file)), { logger, source, baseDir: dirname(resolve(file)) });
    } catch (err) {
      if (err instanceof ConfigError) return reportIssues(opts.config, err);
      const e = err as NodeJS.ErrnoException & { address?: string; port?: number };
      if (e.syscall === 'listen') {
        process.stderr.write(`expeditor: cannot listen on ${e.address}:${e.port}: ${e.code === 'EADDRINUSE' ? 'address already in use' : e.code}\n`);
        process.exitCode = 1;
        return;
      }
      throw err;
    }
    process.stdout.write(`expeditor: proxy ${gateway.proxyUrl}${gateway.adminUrl ? `, admin ${gateway.adminUrl}` : ''}\n`);

    let watcher: FSWatcher | undefined;
    if (opts.watch) watcher = watchFile(file, () => void gateway.reloadFromSource());
    process.on('SIGHUP', () => void gateway.reloadFromSource());
    let stopping = false;
    const stop = async (signal: string) => {
      if (stopping) return;
      stopping = true;
      logger.info('draining', { signal });
      watcher?.close();
      await gateway.stop();
      await Promise.all([closeSharedStores(), closeCacheStores()]);
      logger.info('stopped');
      process.exit(0);
    };
    process.on('SIGTERM', () => void stop('SIGTERM'));
    process.on('SIGINT', () => void stop('SIGINT'));
  });

/**
 * Watches the config file's directory (editors and `kubectl` replace files by rename, which a watch on the file
 * itself misses) and calls `onChange` once things settle for 200 ms.
 */
function watchFile(file: string, onChange: () => void): FSWatcher {
  let timer: NodeJS.Timeout | undefined;
  const name = basename(file);
  const w = watch(dirname(file), (_event, changed) => {
    if (changed !== null && changed !== name) return;
    clearTimeout(timer);
    timer = setTimeout(onChange, 200);
  });
  w.unref();
  return w;
}
