import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';

const BIN = new URL('../../bin/expeditor.js', import.meta.url).pathname;

export interface GatewayProcess {
  child: ChildProcess;
  url: string;
  adminUrl: string | undefined;
  configFile: string;
  /** Everything the process wrote to stderr so far. */
  stderr(): string;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
  writeConfig(config: Record<string, unknown>): void;
  stop(): Promise<void>;
}

/**
 * Runs `expeditor start` as a real process (with the Node running this test) on free ports, and resolves once it
 * prints its listening line.
 */
export async function spawnGateway(config: Record<string, unknown>, args: string[] = []): Promise<GatewayProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'expeditor-test-'));
  const configFile = join(dir, 'expeditor.yaml');
  const full = (c: Record<string, unknown>) => ({
    ...c,
    listen: { port: 0, host: '127.0.0.1', ...(c.listen as object | undefined) },
    admin: { port: 0, host: '127.0.0.1', ...(c.admin as object | undefined) },
  });
  const writeConfig = (c: Record<string, unknown>) => writeFileSync(configFile, stringify(full(c)));
  writeConfig(config);
  const child = spawn(process.execPath, [BIN, 'start', '--config', configFile, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /expeditor: proxy .*\n/.exec(out);
      if (m) resolve(m[0]);
    });
    void exited.then((code) => reject(new Error(`gateway exited (${code}) before listening:\n${err}`)));
  });
  const url = /proxy (\S+?),?\s/.exec(line)![1]!;
  const adminUrl = /admin (\S+)/.exec(line)?.[1];
  return {
    child, url, adminUrl, configFile, exited, writeConfig,
    stderr: () => err,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGKILL');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Polls `check` until it returns true (event-driven waits are preferred; this is for state outside the process). */
export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}
