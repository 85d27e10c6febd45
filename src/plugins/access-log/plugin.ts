import type { RequestContext } from '../../core/context.ts';
import { definePlugin, type LogHandler, type PluginHandlers } from '../../core/plugin.ts';
import { acquire, release, resolveDestination, type Destination } from './destination.ts';
import { fieldFlags } from './fields.ts';
import { buildLine, compileFormat } from './line.ts';
import { AccessLogConfig } from './schema.ts';

export { flushAccessLogs } from './destination.ts';

/**
 * An instance that a reload replaced gives its destination back when it is garbage-collected (its runtime is, once
 * the requests on it are over), so a file no config names any more gets closed. `close()`, which the gateway calls
 * when it stops, flushes and gives it back at once.
 */
const finalizer = new FinalizationRegistry<Destination>((d) => {
  void release(d);
});

/** Whether the exchange went wrong: such requests are logged whatever the sampling rate. */
function failed(ctx: Readonly<RequestContext>): boolean {
  return ctx.status >= 400 || ctx.status === 0 || ctx.errorCode !== undefined || ctx.clientGone;
}

export const accessLog = definePlugin({
  name: 'access-log',
  description: 'Writes one JSON line per request, with secrets redacted, to stdout, stderr or a rotated file.',
  // Last of the ordinary plugins, so that when the log phase runs, whatever the others record is there.
  priority: -1000,
  schema: AccessLogConfig,
  create(config): PluginHandlers {
    if (!config.enabled) return {};
    const spec = resolveDestination(config.destination);
    const format = compileFormat(fieldFlags(config.fields), config.headers, config.redact.query, config.redact.headers);
    const sampling = config.sampling;
    // Opened on the first line, not here: `expeditor validate` builds the config too, and must not create files.
    let dest: Destination | undefined;

    const log: LogHandler = (ctx) => {
      if (sampling < 1 && !failed(ctx) && Math.random() >= sampling) return;
      if (dest === undefined) {
        dest = acquire(spec);
        finalizer.register(log, dest, log);
      }
      // JSON.stringify rather than a pino logger: the line is flat, its values need nothing pino adds, and pino's
      // serialiser took twice as long per line (measured); the stream is pino's own (sonic-boom).
      dest.sink.write(JSON.stringify(buildLine(ctx, format)) + '\n');
    };

    const handlers: PluginHandlers & { close(): Promise<void> } = {
      log,
      close() {
        const d = dest;
        if (d === undefined) return Promise.resolve();
        dest = undefined;
        finalizer.unregister(log);
        return release(d);
      },
    };
    return handlers;
  },
});
