import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Real redis-server processes for tests: no persistence, on free ports, in a temporary directory. Tests call
 * `redisSkip()` first: with `CI=true` a missing redis-server is an error (CI must run these tests); elsewhere the
 * tests are skipped and say why.
 */

function hasBinary(name: string): boolean {
  return spawnSync(name, ['--version'], { stdio: 'ignore' }).status === 0;
}

/** Why the Redis tests can't run here (undefined when they can). Throws under CI=true instead of skipping. */
export function redisSkip(needCli = false): string | undefined {
  const missing = ['redis-server', ...(needCli ? ['redis-cli'] : [])].filter((b) => !hasBinary(b));
  if (missing.length === 0) return undefined;
  const why = `${missing.join(' and ')} not found on PATH (install redis-server, e.g. apt-get install redis-server)`;
  if (process.env.CI === 'true') throw new Error(`Redis tests need ${why}`);
  return why;
}

/** A port nothing listens on now (the OS picks it; there is a tiny window before the server takes it: callers retry). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** Sends one inline command and resolves with the raw reply (first chunk), or rejects on error/timeout. */
export function rawCommand(port: number, command: string, timeoutMs = 1000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const timer = setTimeout(() => { socket.destroy(); reject(new Error(`no reply to ${command} within ${timeoutMs} ms`)); }, timeoutMs);
    let out = '';
    socket.on('connect', () => socket.write(command + '\r\n'));
    socket.on('data', (c: Buffer) => {
      out += c.toString();
      // A status/error/integer line, or a bulk string complete with its length.
      const bulk = /^\$(\d+)\r\n/.exec(out);
      if ((bulk !== null && out.length >= bulk[0].length + Number(bulk[1]) + 2) || (bulk === null && out.endsWith('\r\n'))) {
        clearTimeout(timer);
        socket.destroy();
        resolve(out);
      }
    });
    socket.on('error', (err) => { clearTimeout(timer); reject(err); });
  });
}

/** Polls `probe` until it returns true, or throws after `ms`. */
export async function until(probe: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    try {
      if (await probe()) return;
    } catch {
      // not yet
    }
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export interface RedisServer {
  readonly port: number;
  readonly url: string;
  /** Kills the server (SIGKILL: a crash, not a shutdown) and waits until it exited. */
  kill(): Promise<void>;
  /** Starts it again on the same port (empty: no persistence) and waits until it answers PING. */
  restart(): Promise<void>;
  /** Kills it and removes its directory. */
  close(): Promise<void>;
}

interface Proc {
  child: ChildProcess;
  exited: Promise<void>;
  stderr: () => string;
}

function launch(args: string[], cwd: string): Proc {
  const child = spawn('redis-server', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return { child, exited, stderr: () => out };
}

async function stop(p: Proc | undefined): Promise<void> {
  if (p === undefined || p.child.exitCode !== null || p.child.signalCode !== null) return;
  p.child.kill('SIGKILL');
  await p.exited;
}

async function waitPing(port: number, p: Proc): Promise<void> {
  let dead = false;
  void p.exited.then(() => (dead = true));
  await until(async () => {
    if (dead) throw new Error('exited');
    return (await rawCommand(port, 'PING', 500)).startsWith('+PONG');
  }, 10_000, `redis-server on port ${port}`).catch((err: Error) => {
    throw new Error(`redis-server on port ${port} did not start: ${err.message}\n${p.stderr()}`);
  });
}

function serverArgs(port: number, extra: string[] = []): string[] {
  return ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'no', '--enable-debug-command', 'local', ...extra];
}

/** Starts one redis-server on a free port. */
export async function startRedis(): Promise<RedisServer> {
  const dir = mkdtempSync(join(tmpdir(), 'expeditor-redis-'));
  let proc: Proc | undefined;
  let port = 0;
  for (let attempt = 0; ; attempt++) {
    port = await freePort();
    proc = launch(serverArgs(port), dir);
    try {
      await waitPing(port, proc);
      break;
    } catch (err) {
      await stop(proc);
      if (attempt === 4) throw err;
    }
  }
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    kill: () => stop(proc),
    restart: async () => {
      await stop(proc);
      // The port was ours a moment ago; redis-server sets SO_REUSEADDR, so it can bind it again at once.
      proc = launch(serverArgs(port), dir);
      await waitPing(port, proc);
    },
    close: async () => {
      await stop(proc);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface RedisCluster {
  /** Seed URLs, one per master. */
  readonly urls: string[];
  readonly ports: number[];
  /** Kills master `i` (SIGKILL). */
  kill(i: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * Starts `masters` redis-servers in cluster mode (bus ports chosen free too, with `--cluster-port`), joins them with
 * `redis-cli --cluster create`, and waits until every node reports `cluster_state:ok`.
 */
export async function startRedisCluster(masters = 3): Promise<RedisCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'expeditor-redis-cluster-'));
  const procs: Proc[] = [];
  const ports: number[] = [];
  const close = async () => {
    await Promise.all(procs.map(stop));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < masters; i++) {
      for (let attempt = 0; ; attempt++) {
        const port = await freePort();
        const bus = await freePort();
        const p = launch(serverArgs(port, [
          '--cluster-enabled', 'yes', '--cluster-config-file', join(dir, `nodes-${port}.conf`), '--cluster-port', String(bus),
          '--cluster-node-timeout', '2000',
        ]), dir);
        try {
          await waitPing(port, p);
          procs.push(p);
          ports.push(port);
          break;
        } catch (err) {
          await stop(p);
          if (attempt === 4) throw err;
        }
      }
    }
    const create = spawnSync('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'], {
      encoding: 'utf8', timeout: 30_000,
    });
    if (create.status !== 0) throw new Error(`redis-cli --cluster create failed:\n${create.stdout}\n${create.stderr}`);
    await until(async () => {
      for (const port of ports) {
        if (!(await rawCommand(port, 'CLUSTER INFO')).includes('cluster_state:ok')) return false;
      }
      return true;
    }, 20_000, 'cluster_state:ok on every node');
    return { urls: ports.map((p) => `redis://127.0.0.1:${p}`), ports, kill: (i) => stop(procs[i]), close };
  } catch (err) {
    await close();
    throw err;
  }
}

/**
 * A TCP server that accepts connections and never answers a byte: a Redis that is up but stuck.
 */
export async function startSilentServer(): Promise<{ url: string; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('error', () => {});
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `redis://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}
