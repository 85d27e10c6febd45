// Child processes, temp dirs, free ports and CPU accounting for the benchmark.
//
// Every child is spawned `detached` (its own process group) so that one signal to the group
// reaches the whole tree (nginx's master and worker, a gateway's worker processes). The
// harness therefore owns clean-up: `stopAll()` on the normal path and on Ctrl-C, and the
// synchronous `killAllSync()` from the process 'exit' hook as a last resort.

import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export interface Managed {
  name: string;
  child: ChildProcess;
  pid: number;
  logFile: string;
  /** Resolves once the process has exited (never rejects). */
  exited: Promise<string>;
  exitInfo: string | null;
}

const live = new Set<Managed>();
const tempDirs = new Set<string>();
let closing = false;

/** After this, `start()` refuses to spawn: used once clean-up has begun (Ctrl-C). */
export function beginShutdown(): void {
  closing = true;
}

export function isShuttingDown(): boolean {
  return closing;
}

export function makeTempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

export function removeTempDirs(): void {
  for (const dir of tempDirs) {
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // best effort
    }
    tempDirs.delete(dir);
  }
}

export interface StartOptions {
  /** Pin to this CPU list with `taskset -c` (taskset execs, so the pid is the program's own). */
  cpu?: string | undefined;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Output goes to this file (not through the harness: no pipe to drain, no harness CPU). */
  logFile?: string;
  /** Keep stdout in memory instead (for short-lived tools such as wrk). */
  captureStdout?: boolean;
}

export function start(name: string, cmd: string, args: string[], opts: StartOptions = {}): Managed & { stdout: () => string } {
  if (closing) throw new Error('shutting down');
  const argv = opts.cpu === undefined ? [cmd, ...args] : ['taskset', '-c', opts.cpu, cmd, ...args];
  const logFile = opts.logFile ?? '';
  const fd = logFile ? openSync(logFile, 'a') : 'ignore';
  let out = '';
  const child = spawn(argv[0]!, argv.slice(1), {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    detached: true,
    stdio: ['ignore', opts.captureStdout ? 'pipe' : fd, fd],
  });
  if (typeof fd === 'number') closeSync(fd);
  if (opts.captureStdout) {
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => {
      out += chunk;
    });
  }
  const managed: Managed & { stdout: () => string } = {
    name,
    child,
    pid: child.pid ?? -1,
    logFile,
    exitInfo: null,
    exited: Promise.resolve(''),
    stdout: () => out,
  };
  managed.exited = new Promise<string>((resolve) => {
    let settled = false;
    const done = (info: string): void => {
      if (settled) return;
      settled = true;
      managed.exitInfo = info;
      live.delete(managed);
      // Take down anything left in the group (e.g. workers whose master died).
      signalGroup(managed, 'SIGKILL');
      resolve(info);
    };
    child.once('error', (err) => done(`failed to start: ${err.message}`));
    child.once('exit', (code, signal) => done(signal ? `killed by ${signal}` : `exited with code ${code}`));
  });
  if (child.pid !== undefined) live.add(managed);
  return managed;
}

function signalGroup(m: Managed, signal: NodeJS.Signals): void {
  if (m.pid <= 0) return;
  try {
    process.kill(-m.pid, signal);
  } catch {
    // group already gone
  }
}

/** SIGTERM the process group, then SIGKILL it if it has not exited within `graceMs`. */
export async function stop(m: Managed, graceMs = 3000): Promise<void> {
  if (m.exitInfo !== null) return;
  signalGroup(m, 'SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const timedOut = await Promise.race([
    m.exited.then(() => false),
    new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), graceMs);
    }),
  ]);
  clearTimeout(timer);
  if (timedOut) {
    signalGroup(m, 'SIGKILL');
    await m.exited;
  }
}

export async function stopAll(): Promise<void> {
  closing = true;
  await Promise.all([...live].map((m) => stop(m)));
}

/** Last resort from the 'exit' hook: no awaiting possible there. */
export function killAllSync(): void {
  for (const m of live) signalGroup(m, 'SIGKILL');
  live.clear();
}

export function tailOf(file: string, maxChars = 2000): string {
  if (!file) return '';
  try {
    const text = readFileSync(file, 'utf8');
    return text.length > maxChars ? '…' + text.slice(-maxChars) : text;
  } catch {
    return '';
  }
}

/** A free TCP port on 127.0.0.1 (bind port 0, read it, release it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => (port ? resolve(port) : reject(new Error('could not get a free port'))));
    });
  });
}

export function commandExists(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

// ---- CPU accounting from /proc/PID/stat ------------------------------------------------

let clkTck = 100;
try {
  clkTck = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
} catch {
  // keep the Linux default
}

interface StatLine {
  ppid: number;
  ticks: number; // utime + stime, all threads of the process
}

function readStat(pid: number): StatLine | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // comm (field 2) is in parentheses and may contain spaces: split after the last ')'.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state), so field N is rest[N - 3].
  const ppid = Number(rest[1]);
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  return { ppid, ticks: utime + stime };
}

/** utime+stime (in ticks) of `rootPid` and all its descendants, by pid. */
export function treeTicks(rootPid: number): Map<number, number> {
  const byParent = new Map<number, number[]>();
  const stats = new Map<number, StatLine>();
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid <= 0) continue;
    const st = readStat(pid);
    if (!st) continue;
    stats.set(pid, st);
    const list = byParent.get(st.ppid);
    if (list) list.push(pid);
    else byParent.set(st.ppid, [pid]);
  }
  const result = new Map<number, number>();
  const queue = [rootPid];
  while (queue.length > 0) {
    const pid = queue.pop()!;
    const st = stats.get(pid);
    if (!st || result.has(pid)) continue;
    result.set(pid, st.ticks);
    queue.push(...(byParent.get(pid) ?? []));
  }
  return result;
}

/**
 * Busy ticks of each CPU from /proc/stat: user + nice + system + steal. irq and softirq are left
 * out: on loopback most of that is the benchmark's own packet processing, which the kernel
 * charges to no process (so it is in no process's utime/stime either).
 */
export function cpuBusyTicks(): Map<number, number> {
  return readCpuStat(false);
}

/** irq + softirq ticks of each CPU: mostly the kernel's loopback packet processing. */
export function cpuIrqTicks(): Map<number, number> {
  return readCpuStat(true);
}

function readCpuStat(irq: boolean): Map<number, number> {
  const out = new Map<number, number>();
  for (const line of readFileSync('/proc/stat', 'utf8').split('\n')) {
    const m = /^cpu(\d+)\s+(.*)$/.exec(line);
    if (!m) continue;
    const [user = 0, nice = 0, system = 0, , , hardirq = 0, softirq = 0, steal = 0] = m[2]!.split(/\s+/).map(Number);
    out.set(Number(m[1]), irq ? hardirq + softirq : user + nice + system + steal);
  }
  return out;
}

/** Ticks of `cpus` that went by between two cpuBusyTicks() or cpuIrqTicks() snapshots, in microseconds. */
export function busyDeltaMicros(before: Map<number, number>, after: Map<number, number>, cpus: number[]): number {
  let ticks = 0;
  for (const cpu of cpus) ticks += (after.get(cpu) ?? 0) - (before.get(cpu) ?? 0);
  return (ticks * 1e6) / clkTck;
}

/**
 * CPU time (ticks) of this process's own reaped children (cutime + cstime): wrk's CPU time,
 * once it has exited and been waited for.
 */
export function reapedChildrenTicks(): number {
  const text = readFileSync('/proc/self/stat', 'utf8');
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return Number(rest[13]) + Number(rest[14]);
}

export function ticksToMicros(ticks: number): number {
  return (ticks * 1e6) / clkTck;
}

/** "0", "0-2", "0,3-4" -> [0], [0,1,2], [0,3,4]. */
export function parseCpuList(list: string): number[] {
  const out: number[] = [];
  for (const part of list.split(',')) {
    const [a, b] = part.trim().split('-').map(Number);
    if (a === undefined || !Number.isInteger(a)) continue;
    for (let c = a; c <= (b !== undefined && Number.isInteger(b) ? b : a); c++) out.push(c);
  }
  return out;
}

/** CPU time in microseconds spent by the tree between two snapshots. */
export function cpuDeltaMicros(before: Map<number, number>, after: Map<number, number>): number {
  let ticks = 0;
  for (const [pid, t] of after) ticks += t - (before.get(pid) ?? 0);
  return (ticks * 1e6) / clkTck;
}

export const CLK_TCK = clkTck;
