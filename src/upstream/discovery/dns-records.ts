import type { Resolver } from 'node:dns/promises';
import { isIP } from 'node:net';

/** One target found in DNS. `origin` is `scheme://host:port` with IPv6 hosts bracketed, as `Target` expects. */
export interface DiscoveredTarget {
  origin: string;
  weight: number;
}

/** What one DNS entry resolves to, already in the shape the resolution needs. */
export interface RecordQuery {
  name: string;
  type: 'A' | 'AAAA' | 'SRV';
  scheme: 'http' | 'https';
  /** A/AAAA only (SRV records carry their own). */
  port: number | undefined;
  /** A/AAAA only (SRV records carry their own). */
  weight: number;
}

/**
 * Result of one resolution. `ttlSeconds` is the smallest TTL of the answer, or undefined when the record type
 * carries none that Node can see (SRV: c-ares's SRV reply has no TTL in Node's API).
 */
export interface Resolution {
  targets: DiscoveredTarget[];
  ttlSeconds: number | undefined;
}

/** A name that exists without records of the type (NODATA) or does not exist (NXDOMAIN): an answer, not an outage. */
export function isNoRecords(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENODATA' || code === 'ENOTFOUND';
}

export function originOf(scheme: string, address: string, port: number): string {
  return `${scheme}://${isIP(address) === 6 ? `[${address}]` : address}:${port}`;
}

/**
 * Resolves one entry. Rejects on any DNS error, NXDOMAIN and NODATA included, and when the answer yields no target
 * at all: the caller keeps its last good set then, so DNS can never empty a pool. Once `signal` is aborted no
 * further query is sent (an SRV resolution takes several, one after the other).
 */
export async function resolveRecords(resolver: Resolver, q: RecordQuery, signal: AbortSignal): Promise<Resolution> {
  const res = q.type === 'SRV' ? await resolveSrvTargets(resolver, q, signal) : await resolveAddresses(resolver, q, signal);
  if (res.targets.length === 0) throw new Error(`${q.type} ${q.name} yielded no target`);
  return res;
}

async function resolveAddresses(resolver: Resolver, q: RecordQuery, signal: AbortSignal): Promise<Resolution> {
  signal.throwIfAborted();
  const records = q.type === 'AAAA' ? await resolver.resolve6(q.name, { ttl: true }) : await resolver.resolve4(q.name, { ttl: true });
  return {
    targets: records.map((r) => ({ origin: originOf(q.scheme, r.address, q.port!), weight: q.weight })),
    ttlSeconds: records.length === 0 ? undefined : Math.min(...records.map((r) => r.ttl)),
  };
}

/**
 * SRV (RFC 2782): only the lowest priority group whose hosts have addresses is used; the next group is the fallback
 * when none of them has any. Each host becomes one target per address, with the record's port and weight. Weight 0
 * becomes 1: the RFC gives 0 "a very small chance" (never none), while a target of weight 0 takes no request here.
 */
async function resolveSrvTargets(resolver: Resolver, q: RecordQuery, signal: AbortSignal): Promise<Resolution> {
  signal.throwIfAborted();
  // A target of "." means "service not available here" (RFC 2782).
  const records = (await resolver.resolveSrv(q.name)).filter((r) => r.name !== '' && r.name !== '.');
  const priorities = [...new Set(records.map((r) => r.priority))].sort((a, b) => a - b);
  for (const priority of priorities) {
    const group = records.filter((r) => r.priority === priority);
    const addresses = await Promise.all(group.map((r) => hostAddresses(resolver, r.name, signal)));
    const targets = group.flatMap((r, i) => addresses[i]!.map((a) => ({ origin: originOf(q.scheme, a, r.port), weight: Math.max(r.weight, 1) })));
    if (targets.length > 0) return { targets, ttlSeconds: undefined };
  }
  return { targets: [], ttlSeconds: undefined };
}

/**
 * Addresses of an SRV target host: its A records, or its AAAA records when it has no A record (one family per
 * host, so a dual-stack host doesn't count twice). A host without either has none; any other error rejects, so a
 * flaky lookup can't shrink the set.
 */
async function hostAddresses(resolver: Resolver, host: string, signal: AbortSignal): Promise<string[]> {
  if (isIP(host) !== 0) return [host];
  signal.throwIfAborted();
  try {
    const v4 = await resolver.resolve4(host);
    if (v4.length > 0) return v4;
  } catch (err) {
    if (!isNoRecords(err)) throw err;
  }
  signal.throwIfAborted();
  try {
    return await resolver.resolve6(host);
  } catch (err) {
    if (isNoRecords(err)) return [];
    throw err;
  }
}
