/**
 * The gateway's own operational log (not the access log): one JSON object per line on stderr. Secrets are never
 * passed in; callers log ids, names and error codes.
 */
export interface Logger {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

function write(level: string, msg: string, fields?: Record<string, unknown>) {
  const rec: Record<string, unknown> = { time: new Date().toISOString(), level, msg, ...fields };
  if (rec.err instanceof Error) rec.err = { message: rec.err.message, code: (rec.err as NodeJS.ErrnoException).code, stack: rec.err.stack };
  process.stderr.write(JSON.stringify(rec) + '\n');
}

export const stderrLogger: Logger = {
  info: (m, f) => write('info', m, f),
  warn: (m, f) => write('warn', m, f),
  error: (m, f) => write('error', m, f),
};

export const silentLogger: Logger = { info() {}, warn() {}, error() {} };
