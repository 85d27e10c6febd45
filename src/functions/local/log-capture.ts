/**
 * A sandbox's stdout/stderr as lines: each complete line goes to `onLine`; a line longer than MAX_LINE is cut
 * (so a program that never writes a newline cannot grow the buffer without end). `LogTail` keeps the last 4 KB of
 * one invocation's lines, as Lambda's `X-Amz-Log-Type: Tail` returns them.
 */
import type { Readable } from 'node:stream';

const MAX_LINE = 16 * 1024;
export const TAIL_BYTES = 4 * 1024;

export function captureLines(stream: Readable, onLine: (line: string) => void): void {
  let pending = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    let start = 0;
    for (let nl = chunk.indexOf('\n'); nl !== -1; nl = chunk.indexOf('\n', start)) {
      const line = pending + chunk.slice(start, nl);
      pending = '';
      start = nl + 1;
      onLine(line.endsWith('\r') ? line.slice(0, -1) : line);
    }
    pending += chunk.slice(start);
    while (pending.length > MAX_LINE) {
      onLine(pending.slice(0, MAX_LINE));
      pending = pending.slice(MAX_LINE);
    }
  });
  stream.on('end', () => {
    if (pending !== '') onLine(pending);
    pending = '';
  });
}

/** The last TAIL_BYTES of the lines pushed, cut at a line boundary where possible (Lambda cuts at the byte). */
export class LogTail {
  #lines: string[] = [];
  #bytes = 0;

  push(line: string): void {
    const entry = line + '\n';
    this.#lines.push(entry);
    this.#bytes += Buffer.byteLength(entry);
    while (this.#bytes > TAIL_BYTES && this.#lines.length > 1) this.#bytes -= Buffer.byteLength(this.#lines.shift()!);
  }

  toString(): string {
    const text = this.#lines.join('');
    if (this.#bytes <= TAIL_BYTES) return text;
    // One line alone is over the limit: keep its end, as Lambda does.
    return Buffer.from(text).subarray(-TAIL_BYTES).toString('utf8');
  }
}
