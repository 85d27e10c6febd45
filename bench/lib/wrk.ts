// Runs wrk once and parses the line printed by bench/wrk-report.lua.

import path from 'node:path';
import { start, stop, tailOf } from './procs.ts';

export interface WrkResult {
  requests: number;
  durationUs: number;
  rps: number;
  bytes: number;
  meanUs: number;
  p50Us: number;
  p90Us: number;
  p99Us: number;
  p999Us: number;
  maxUs: number;
  /** Responses with status >= 400 (wrk's "Non-2xx or 3xx responses"). */
  badStatus: number;
  /** connect + read + write + timeout errors. */
  socketErrors: number;
  errors: { connect: number; read: number; write: number; status: number; timeout: number };
}

export interface WrkOptions {
  url: string;
  connections: number;
  durationS: number;
  threads: number;
  cpu?: string | undefined;
  /** Request headers, as `Name: value`. */
  headers?: readonly string[];
}

const SCRIPT = path.join(import.meta.dirname, '..', 'wrk-report.lua');

interface RawResult {
  requests: number;
  duration_us: number;
  bytes: number;
  connect: number;
  read: number;
  write: number;
  status: number;
  timeout: number;
  mean_us: number;
  p50_us: number;
  p90_us: number;
  p99_us: number;
  p999_us: number;
  max_us: number;
}

export async function runWrk(opts: WrkOptions): Promise<WrkResult> {
  const args = [
    `-t${opts.threads}`,
    `-c${opts.connections}`,
    `-d${opts.durationS}s`,
    '--latency',
    ...(opts.headers ?? []).flatMap((h) => ['-H', h]),
    '-s',
    SCRIPT,
    opts.url,
  ];
  const wrk = start('wrk', 'wrk', args, { cpu: opts.cpu, captureStdout: true });
  const info = await wrk.exited;
  await stop(wrk);
  const out = wrk.stdout();
  const line = out.split('\n').find((l) => l.startsWith('BENCH_RESULT '));
  if (!line || info !== 'exited with code 0') {
    throw new Error(`wrk ${info}; output:\n${out || tailOf(wrk.logFile)}`);
  }
  const r = JSON.parse(line.slice('BENCH_RESULT '.length)) as RawResult;
  const socketErrors = r.connect + r.read + r.write + r.timeout;
  return {
    requests: r.requests,
    durationUs: r.duration_us,
    rps: r.duration_us > 0 ? (r.requests * 1e6) / r.duration_us : 0,
    bytes: r.bytes,
    meanUs: r.mean_us,
    p50Us: r.p50_us,
    p90Us: r.p90_us,
    p99Us: r.p99_us,
    p999Us: r.p999_us,
    maxUs: r.max_us,
    badStatus: r.status,
    socketErrors,
    errors: { connect: r.connect, read: r.read, write: r.write, status: r.status, timeout: r.timeout },
  };
}
