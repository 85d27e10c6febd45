/**
 * Polls the resident memory of a sandbox (its process and every descendant: a shell `bootstrap` runs its work in
 * children) and calls `onExceeded` once when it passes the limit. Linux only (/proc); elsewhere it never fires.
 * Reads are synchronous: /proc files are generated in memory, a read costs microseconds.
 */
import { readFileSync } from 'node:fs';

const POLL_MS = 100;

/** VmRSS of one process in bytes, or 0 when it is gone (or this is not Linux). */
function rssOf(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'latin1');
    const m = /VmRSS:\s+(\d+) kB/.exec(status);
    return m === null ? 0 : Number(m[1]) * 1024;
  } catch {
    return 0;
  }
}

function childrenOf(pid: number): number[] {
  try {
    const text = readFileSync(`/proc/${pid}/task/${pid}/children`, 'latin1').trim();
    return text === '' ? [] : text.split(' ').map(Number);
  } catch {
    return [];
  }
}

/** Resident bytes of `pid` and its descendants. */
export function treeRss(pid: number): number {
  let total = 0;
  const todo = [pid];
  for (let p = todo.pop(); p !== undefined; p = todo.pop()) {
    total += rssOf(p);
    todo.push(...childrenOf(p));
  }
  return total;
}

/** Starts polling; returns the function that stops it. */
export function watchRss(pid: number, limitBytes: number, onExceeded: (rss: number) => void): () => void {
  const timer = setInterval(() => {
    const rss = treeRss(pid);
    if (rss > limitBytes) {
      clearInterval(timer);
      onExceeded(rss);
    }
  }, POLL_MS);
  timer.unref();
  return () => clearInterval(timer);
}
