import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A TCP server on a free loopback port for upstreams that must misbehave at the byte level. */
export async function rawUpstream(onSocket: (socket: net.Socket) => void): Promise<{ url: string; port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('error', () => {});
    s.once('close', () => sockets.delete(s));
    onSocket(s);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    close: () => new Promise((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}

/** Resolves with the request head (up to the blank line) once it has arrived on `socket`. */
export function readHead(socket: net.Socket): Promise<string> {
  return new Promise((resolve) => {
    let buf = '';
    const onData = (c: Buffer) => {
      buf += c.toString('latin1');
      const end = buf.indexOf('\r\n\r\n');
      if (end >= 0) {
        socket.off('data', onData);
        resolve(buf.slice(0, end));
      }
    };
    socket.on('data', onData);
  });
}

/** A loopback port nothing listens on. */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Fails (instead of hanging the run) when `promise` has not settled within `ms`. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing after ${ms} ms`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

/** Header values of one name in a raw [name, value, …] list (case-insensitive). */
export function rawValues(raw: readonly string[], name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.toLowerCase() === name) out.push(raw[i + 1]!);
  return out;
}

/** Splits a raw HTTP/1.1 response into its status, header list (lower-cased names) and body bytes. */
export function parseRaw(raw: string): { status: number; headers: Array<[string, string]>; body: string } {
  const end = raw.indexOf('\r\n\r\n');
  const lines = raw.slice(0, end).split('\r\n');
  const status = Number(lines[0]!.split(' ')[1]);
  const headers = lines.slice(1).map((l): [string, string] => {
    const i = l.indexOf(':');
    return [l.slice(0, i).toLowerCase(), l.slice(i + 1).trim()];
  });
  return { status, headers, body: raw.slice(end + 4) };
}

/**
 * Checks a gateway error: problem+json with the expected status and code, and nothing internal in it (no
 * address or port of the upstream, no stack, no undici/Node error names).
 */
export function assertProblem(status: number, contentType: string | undefined, body: string, expectedStatus: number, code: string, upstreamPort?: number): void {
  assert.equal(status, expectedStatus, body);
  assert.match(contentType ?? '', /^application\/problem\+json/);
  const p = JSON.parse(body) as Record<string, unknown>;
  assert.equal(p.code, code);
  assert.equal(p.status, expectedStatus);
  assert.deepEqual(Object.keys(p).filter((k) => !['type', 'title', 'status', 'detail', 'code', 'requestId'].includes(k)), []);
  assert.doesNotMatch(body, /127\.0\.0\.1|localhost|\bat \w|\.ts:|\.js:|UND_ERR|ECONN|ETIMEDOUT|Error\b/);
  if (upstreamPort !== undefined) assert.ok(!body.includes(String(upstreamPort)), `upstream port leaked: ${body}`);
}

/** A temp directory removed by the returned function. */
export function tempDir(prefix: string): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Generates a CA and a server certificate for 127.0.0.1/localhost into `dir`, with openssl. */
export function makeCertificates(dir: string): { ca: string; cert: string; key: string } {
  const p = (n: string) => join(dir, n);
  const run = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
  run('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-subj', '/CN=Expeditor test CA', '-keyout', p('ca.key'), '-out', p('ca.pem'));
  run('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-subj', '/CN=localhost', '-keyout', p('server.key'), '-out', p('server.csr'));
  const ext = p('server.ext');
  writeFileSync(ext, 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  run('x509', '-req', '-in', p('server.csr'), '-CA', p('ca.pem'), '-CAkey', p('ca.key'), '-CAcreateserial',
    '-days', '1', '-extfile', ext, '-out', p('server.pem'));
  return { ca: p('ca.pem'), cert: p('server.pem'), key: p('server.key') };
}
