import { Resolver } from 'node:dns/promises';
import type { Static } from '@sinclair/typebox';
import type { DnsDiscoveryConfig } from '../../config/schema/upstream.ts';
import { parseDuration } from '../../config/units.ts';
import type { Logger } from '../../core/logger.ts';
import { resolveRecords, type DiscoveredTarget, type RecordQuery } from './dns-records.ts';

export type { DiscoveredTarget } from './dns-records.ts';

type DnsEntryConfig = Static<typeof DnsDiscoveryConfig>;

/**
 * Per query try, and tries per server: bounds how long `start()` (and a refresh) can hang on a silent server, to
 * about 2 + 4 s, instead of c-ares's much longer defaults.
 */
const QUERY_TIMEOUT_MS = 2000;
const QUERY_TRIES = 2;
/** Floor of every re-resolution interval, whatever minTtl says: `minTtl: 0` with TTL 0 must not spin. */
const MIN_INTERVAL_MS = 100;

interface Entry {
  readonly query: RecordQuery;
  readonly resolver: Resolver;
  readonly minTtlMs: number;
  readonly maxTtlMs: number;
  /** Last good answer; kept through failures. Empty until the first success. */
  targets: DiscoveredTarget[];
  /** In a failure streak (logged once, at its start). */
  failing: boolean;
  timer: NodeJS.Timeout | undefined;
}

/**
 * Turns `discovery.dns` entries into targets and keeps them current.
 *
 * - Each entry is re-resolved on its own timer (unref'ed) when its answer's TTL expires, clamped to
 *   [minTtl, maxTtl] (minTtl wins if it exceeds maxTtl). SRV answers carry no TTL in Node's API: SRV entries are
 *   re-resolved every minTtl.
 * - The published set is the union of every entry's last good answer, deduplicated by origin (the largest weight
 *   wins) and sorted by origin. `onChange` receives it only when it differs from the previous one.
 * - A failed resolution (timeout, SERVFAIL, NXDOMAIN, no records, no usable SRV host) keeps the entry's last good
 *   answer, is retried every minTtl, and is logged once per failure streak (a `warn`, then an `info` on recovery).
 *   DNS can therefore never empty the pool; a target leaves only when a successful answer no longer lists it.
 * - An exception thrown by `onChange` is logged, never propagated into the timers.
 */
export class DnsDiscovery {
  readonly #upstream: string;
  readonly #entries: Entry[];
  readonly #logger: Logger;
  readonly #onChange: (targets: DiscoveredTarget[]) => void;
  #current: DiscoveredTarget[] = [];
  #started = false;
  #stopped = false;
  /** Aborted by stop(): a resolution in progress sends no further query. */
  readonly #abort = new AbortController();

  /** Throws when an entry can't be used (a `resolver` that is not an IP address, an A/AAAA entry without port). */
  constructor(upstreamName: string, entries: DnsEntryConfig[], logger: Logger, onChange: (targets: DiscoveredTarget[]) => void) {
    this.#upstream = upstreamName;
    this.#logger = logger;
    this.#onChange = onChange;
    this.#entries = entries.map((e) => this.#entry(e));
  }

  /**
   * First resolution of every entry, in parallel. Resolves with the targets found (entries that failed are logged
   * and retried every minTtl); rejects, naming every DNS name and its error, only when no entry yielded a target,
   * and then leaves nothing running. May be called once.
   */
  async start(): Promise<DiscoveredTarget[]> {
    if (this.#started) throw new Error(`DNS discovery of upstream "${this.#upstream}" was already started`);
    this.#started = true;
    const results = await Promise.allSettled(this.#entries.map((e) => resolveRecords(e.resolver, e.query, this.#abort.signal)));
    if (this.#stopped) return [];
    if (results.every((r) => r.status === 'rejected')) {
      this.stop();
      const reasons = results.map((r, i) => `${describe(this.#entries[i]!.query)}: ${errorText((r as PromiseRejectedResult).reason)}`);
      throw new Error(`upstream "${this.#upstream}": DNS discovery found no target (${reasons.join('; ')})`, {
        cause: results.map((r) => (r as PromiseRejectedResult).reason),
      });
    }
    results.forEach((r, i) => {
      const entry = this.#entries[i]!;
      if (r.status === 'fulfilled') {
        entry.targets = r.value.targets;
        this.#schedule(entry, r.value.ttlSeconds);
      } else {
        this.#failed(entry, r.reason);
      }
    });
    this.#current = merge(this.#entries);
    return this.current();
  }

  /** Stops every timer and cancels queries in flight; `onChange` is never called afterwards. Idempotent. */
  stop(): void {
    this.#stopped = true;
    this.#abort.abort();
    for (const e of this.#entries) {
      clearTimeout(e.timer);
      e.timer = undefined;
      e.resolver.cancel();
    }
  }

  /** The published set (sorted by origin), a copy. Empty before `start()` resolved. */
  current(): DiscoveredTarget[] {
    return this.#current.map((t) => ({ ...t }));
  }

  #entry(e: DnsEntryConfig): Entry {
    const what = `upstream "${this.#upstream}": discovery.dns "${e.name}"`;
    if (e.type !== 'SRV' && e.port === undefined) throw new Error(`${what}: port is required for ${e.type} records`);
    const resolver = new Resolver({ timeout: QUERY_TIMEOUT_MS, tries: QUERY_TRIES });
    if (e.resolver !== undefined) {
      try {
        resolver.setServers([e.resolver]);
      } catch (err) {
        throw new Error(`${what}: resolver "${e.resolver}" must be an IP address with an optional port, e.g. "10.0.0.2:53" or "[fd00::2]:53" (${errorText(err)})`);
      }
    }
    const minTtlMs = Math.max(parseDuration(e.minTtl), MIN_INTERVAL_MS);
    return {
      query: { name: e.name, type: e.type, scheme: e.scheme, port: e.port, weight: e.weight },
      resolver,
      minTtlMs,
      maxTtlMs: Math.max(parseDuration(e.maxTtl), minTtlMs),
      targets: [],
      failing: false,
      timer: undefined,
    };
  }

  /** Arms the entry's next resolution: TTL clamped to [minTtl, maxTtl]; minTtl when there is no TTL (SRV, failure). */
  #schedule(entry: Entry, ttlSeconds: number | undefined): void {
    if (this.#stopped) return;
    const ms = ttlSeconds === undefined ? entry.minTtlMs : Math.min(Math.max(ttlSeconds * 1000, entry.minTtlMs), entry.maxTtlMs);
    entry.timer = setTimeout(() => void this.#refresh(entry), ms);
    entry.timer.unref();
  }

  async #refresh(entry: Entry): Promise<void> {
    entry.timer = undefined;
    try {
      const res = await resolveRecords(entry.resolver, entry.query, this.#abort.signal);
      if (this.#stopped) return;
      if (entry.failing) {
        entry.failing = false;
        this.#logger.info('DNS discovery recovered', this.#fields(entry, { targets: res.targets.length }));
      }
      entry.targets = res.targets;
      this.#schedule(entry, res.ttlSeconds);
    } catch (err) {
      if (this.#stopped) return;
      this.#failed(entry, err);
      return;
    }
    this.#publish();
  }

  #failed(entry: Entry, err: unknown): void {
    if (!entry.failing) {
      entry.failing = true;
      this.#logger.warn('DNS discovery failed; keeping the last targets and retrying', this.#fields(entry, {
        err: err instanceof Error ? err : new Error(String(err)),
        kept: entry.targets.length,
        retryMs: entry.minTtlMs,
      }));
    }
    this.#schedule(entry, undefined);
  }

  /** Membership itself is logged by whoever applies it (the pool), so it isn't logged here too. */
  #publish(): void {
    const next = merge(this.#entries);
    if (sameTargets(next, this.#current)) return;
    this.#current = next;
    try {
      this.#onChange(this.current());
    } catch (err) {
      this.#logger.error('DNS discovery: applying the new targets failed', { upstream: this.#upstream, err });
    }
  }

  #fields(entry: Entry, extra: Record<string, unknown>): Record<string, unknown> {
    return { upstream: this.#upstream, dns: entry.query.name, type: entry.query.type, ...extra };
  }
}

/** Union of the entries' last good answers: one target per origin (largest weight), sorted by origin. */
function merge(entries: readonly Entry[]): DiscoveredTarget[] {
  const weights = new Map<string, number>();
  for (const e of entries) {
    for (const t of e.targets) weights.set(t.origin, Math.max(weights.get(t.origin) ?? 0, t.weight));
  }
  return [...weights].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([origin, weight]) => ({ origin, weight }));
}

function sameTargets(a: readonly DiscoveredTarget[], b: readonly DiscoveredTarget[]): boolean {
  return a.length === b.length && a.every((t, i) => t.origin === b[i]!.origin && t.weight === b[i]!.weight);
}

function describe(q: RecordQuery): string {
  return `${q.name} (${q.type})`;
}

function errorText(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const code = (err as NodeJS.ErrnoException).code;
  return code !== undefined && !err.message.includes(code) ? `${code}: ${err.message}` : err.message;
}
