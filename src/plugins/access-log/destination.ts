import { accessSync, constants, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { pino } from 'pino';
import pinoRoll from 'pino-roll';
import { stderrLogger } from '../../core/logger.ts';
import { PluginConfigError } from '../../core/plugin.ts';
import { parseDuration, parseSize } from '../../config/units.ts';
import type { AccessLogConfigT } from './schema.ts';

type SonicBoom = ReturnType<typeof pino.destination>;

/**
 * Where lines go, resolved from config. Destinations are shared by key: every plugin instance (global, per route,
 * and the instances a reload builds) that names the same file writes through one stream, so a reload never opens
 * the file twice.
 */
export interface DestinationSpec {
  readonly key: string;
  readonly kind: 'stdout' | 'stderr' | 'file' | 'rolling';
  readonly file?: string;
  readonly roll?: { size?: string; frequency?: 'daily' | 'hourly' | number; limit?: { count: number; removeOtherLogFiles: boolean } };
}

/**
 * Asynchronous writes, batched: a write goes out once 2 KiB are buffered or after at most a second. Chunks of at
 * most 4 KiB: sonic-boom measures the chunk it appends to on every line, so its default 16 KiB makes each line
 * about three times dearer (measured). Past 16 MiB buffered (a disk that cannot keep up) lines are dropped rather
 * than held: the log must never exhaust memory.
 */
const STREAM_OPTIONS = {
  sync: false, minLength: 2048, maxWrite: 4096, periodicFlush: 1000, maxLength: 16 * 1024 * 1024, mkdir: true,
} as const;
/** Lines kept while a rotating file is being opened. */
const MAX_PENDING = 10_000;
const WARN_EVERY_MS = 60_000;

/** Resolves and checks a destination when the config is built; throws PluginConfigError for an unusable file. */
export function resolveDestination(dest: AccessLogConfigT['destination']): DestinationSpec {
  if (dest === 'stdout' || dest === 'stderr') return { key: dest, kind: dest };
  const file = resolve(dest.file);
  const rotate = dest.rotate;
  if (rotate === undefined) {
    checkWritable(file, true);
    return { key: `file:${file}`, kind: 'file', file };
  }
  checkWritable(dirname(file), false);
  if (rotate.size === undefined && rotate.interval === undefined) {
    throw new PluginConfigError('destination.rotate', 'rotation needs `size`, `interval` or both');
  }
  const size = rotate.size === undefined ? undefined : parseSize(rotate.size);
  if (size === 0) throw new PluginConfigError('destination.rotate.size', 'must be more than 0 bytes');
  const interval = rotate.interval;
  const frequency: 'hourly' | 'daily' | number | undefined =
    interval === undefined || interval === 'hourly' || interval === 'daily' ? interval : parseDuration(interval);
  if (frequency === 0) throw new PluginConfigError('destination.rotate.interval', 'must be longer than 0');
  const roll = {
    ...(size === undefined ? {} : { size: `${size}b` }),
    ...(frequency === undefined ? {} : { frequency }),
    ...(rotate.keep === undefined ? {} : { limit: { count: rotate.keep, removeOtherLogFiles: true } }),
  };
  return { key: `rolling:${file}:${JSON.stringify(roll)}`, kind: 'rolling', file, roll };
}

/**
 * The file, or, when it does not exist yet, the nearest existing directory above it (created on open), must be
 * writable. `wantFile`: `path` is the log file itself, so an existing directory there is an error.
 */
function checkWritable(path: string, wantFile: boolean): void {
  let p = path;
  for (;;) {
    let isDir: boolean;
    try {
      isDir = statSync(p).isDirectory();
    } catch {
      const up = dirname(p);
      if (up === p) throw new PluginConfigError('destination.file', `no directory above ${path} exists`);
      p = up;
      continue;
    }
    if (p === path && wantFile && isDir) throw new PluginConfigError('destination.file', `${path} is a directory`);
    if (p !== path && !isDir) throw new PluginConfigError('destination.file', `${p} is not a directory`);
    try {
      accessSync(p, constants.W_OK);
    } catch {
      throw new PluginConfigError('destination.file', `${p} is not writable`);
    }
    return;
  }
}

/** sonic-boom's `destroyed` flag (not in its typings): set once closed; it throws on every call after that. */
function destroyed(s: SonicBoom): boolean {
  return (s as SonicBoom & { destroyed?: boolean }).destroyed === true;
}

/** A flush or close waits at most this long: a destination that hangs (a stuck disk) must not hold a shutdown up. */
const FLUSH_WAIT_MS = 5000;

function bounded(p: Promise<void>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<void>((done) => {
    timer = setTimeout(done, FLUSH_WAIT_MS);
    timer.unref();
  });
  return Promise.race([p, limit]).finally(() => clearTimeout(timer));
}

function isOpen(s: SonicBoom): boolean {
  return (s as SonicBoom & { fd: number }).fd >= 0;
}

/** A stream that may still be opening: lines written before it is ready wait (up to MAX_PENDING). */
class Sink {
  stream: SonicBoom | undefined = undefined;
  pending: string[] | undefined = undefined;
  dropped = 0;
  failed = false;
  #lastWarn = 0;
  readonly spec: DestinationSpec;

  constructor(spec: DestinationSpec) {
    this.spec = spec;
  }

  attach(stream: SonicBoom): void {
    stream.on('error', (err: Error) => this.warn('access log write failed', err));
    stream.on('drop', () => {
      this.dropped++;
      this.warn('access log lines dropped: the destination cannot keep up');
    });
    this.stream = stream;
    const pending = this.pending;
    this.pending = undefined;
    if (pending !== undefined) for (const line of pending) stream.write(line);
  }

  write(line: string): void {
    const s = this.stream;
    if (s !== undefined) {
      // Closed under a straggler of a retired runtime: the line has nowhere to go.
      if (!destroyed(s)) s.write(line);
      return;
    }
    if (this.failed) return;
    const pending = (this.pending ??= []);
    if (pending.length < MAX_PENDING) pending.push(line);
    else this.dropped++;
  }

  /** The rotating file could not be opened: lines are dropped from now on. */
  fail(err: Error): void {
    this.failed = true;
    this.dropped += this.pending?.length ?? 0;
    this.pending = undefined;
    this.warn('access log file could not be opened', err);
  }

  /** Resolves once every line written so far is in the file, the destination failed, or FLUSH_WAIT_MS passed. */
  flush(): Promise<void> {
    const s = this.stream;
    if (s === undefined || destroyed(s)) return Promise.resolve();
    return bounded(new Promise((done) => {
      // sonic-boom cannot flush a file it is still opening. Nor from inside its 'ready' event: it would write the
      // buffer twice (once for the flush, once as it finishes opening). Wait until opening is over.
      if (!isOpen(s)) {
        s.once('ready', () => setImmediate(() => done(this.flush())));
        s.once('error', () => done());
      } else {
        s.flush(() => done());
      }
    }));
  }

  flushSync(): void {
    try {
      this.stream?.flushSync();
    } catch {
      // Not open yet, or already closed: nothing more can be saved at exit.
    }
  }

  /** Flushes and closes (stdout and stderr stay open). */
  close(): Promise<void> {
    const s = this.stream;
    if (s === undefined || destroyed(s)) return Promise.resolve();
    return bounded(new Promise((done) => {
      s.once('close', () => done());
      s.once('error', () => done());
      s.end();
    }));
  }

  warn(msg: string, err?: Error): void {
    const now = Date.now();
    if (now - this.#lastWarn < WARN_EVERY_MS) return;
    this.#lastWarn = now;
    stderrLogger.warn(msg, { destination: this.spec.file ?? this.spec.kind, dropped: this.dropped, err });
  }
}

export interface Destination {
  readonly spec: DestinationSpec;
  readonly sink: Sink;
  refs: number;
}

const open = new Map<string, Destination>();
let exitHooked = false;

function openSink(spec: DestinationSpec): Sink {
  const sink = new Sink(spec);
  switch (spec.kind) {
    case 'stdout':
    case 'stderr':
      sink.attach(pino.destination({ ...STREAM_OPTIONS, dest: spec.kind === 'stdout' ? 1 : 2 }));
      break;
    case 'file':
      sink.attach(pino.destination({ ...STREAM_OPTIONS, dest: spec.file! }));
      break;
    case 'rolling':
      pinoRoll({ ...STREAM_OPTIONS, ...spec.roll, file: spec.file! }).then(
        (stream) => sink.attach(stream),
        (err: Error) => sink.fail(err),
      );
      break;
  }
  return sink;
}

/** The shared destination for `spec`, opened on first use. */
export function acquire(spec: DestinationSpec): Destination {
  let d = open.get(spec.key);
  if (d === undefined) {
    d = { spec, sink: openSink(spec), refs: 0 };
    open.set(spec.key, d);
    if (!exitHooked) {
      exitHooked = true;
      process.once('exit', () => {
        for (const x of open.values()) x.sink.flushSync();
      });
    }
  }
  d.refs++;
  return d;
}

/** One user fewer; the last one closes a file (stdout and stderr are only flushed). */
export function release(d: Destination): Promise<void> {
  if (--d.refs > 0 || open.get(d.spec.key) !== d) return Promise.resolve();
  if (d.spec.kind === 'stdout' || d.spec.kind === 'stderr') return d.sink.flush();
  open.delete(d.spec.key);
  return d.sink.close();
}

/** Waits until every line logged so far is written: for shutdown and tests. */
export async function flushAccessLogs(): Promise<void> {
  // The log phase runs on the response's `close` event: let handlers of exchanges that just ended run first.
  await new Promise((r) => setImmediate(r));
  await Promise.all([...open.values()].map((d) => d.sink.flush()));
}
