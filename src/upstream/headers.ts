import type { RequestContext } from '../core/context.ts';
import type { HeaderEdits } from '../core/headers.ts';

/** RFC 9110 §7.6.1 hop-by-hop headers, plus the non-standard ones proxies still meet. Never forwarded either way. */
export const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade',
  'proxy-authenticate', 'proxy-authorization', 'http2-settings',
]);

/** Forwarding headers: believed (and appended to) only from trusted proxies, otherwise removed and set afresh. */
const FORWARDING: ReadonlySet<string> = new Set(['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'forwarded', 'x-real-ip']);

/**
 * Headers that only the gateway may set upstream (identity headers that auth plugins add). A client that sends
 * them has them removed at ingress, whatever its address.
 */
const OWNED_PREFIXES = ['x-consumer-', 'x-authenticated-', 'x-expeditor-', 'x-authorizer-'];

function isOwned(lower: string): boolean {
  const c = lower.charCodeAt(0);
  if (c !== 120 /* x */) return false;
  for (const p of OWNED_PREFIXES) if (lower.startsWith(p)) return true;
  return false;
}

/** Tokens of every Connection header (lower case), or undefined when there are none beyond keep-alive/close. */
function connectionTokens(raw: readonly string[]): Set<string> | undefined {
  let tokens: Set<string> | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length !== 10 || name.toLowerCase() !== 'connection') continue;
    for (const t of raw[i + 1]!.split(',')) {
      const tok = t.trim().toLowerCase();
      if (tok !== '' && tok !== 'close' && tok !== 'keep-alive') (tokens ??= new Set()).add(tok);
    }
  }
  return tokens;
}

export interface UpstreamHeaderOptions {
  /** Host header to send; undefined lets the client library use the target's host. */
  host: string | undefined;
}

/**
 * Builds the flat [name, value, …] header list sent upstream from the client's raw headers: hop-by-hop headers and
 * those the client named in Connection are dropped, forwarding headers are kept only from trusted proxies and then
 * extended with this hop, gateway-owned headers are removed, cookie crumbs are joined into one Cookie header, and
 * plugin edits are applied last (so a client's Connection header can never remove a header the gateway adds).
 */
export function buildUpstreamHeaders(ctx: RequestContext, raw: readonly string[], opts: UpstreamHeaderOptions): string[] {
  const out: string[] = [];
  const listed = connectionTokens(raw);
  const edits: HeaderEdits = ctx.requestHeaders;
  const trusted = ctx.peerTrusted;
  let xff: string | undefined;
  let xfp: string | undefined;
  let xfh: string | undefined;
  let fwd: string | undefined;
  let hostValue: string | undefined;
  let cookieAt = -1;
  const owned = ctx.route?.ownedHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const lower = name.toLowerCase();
    if (lower.charCodeAt(0) === 58 /* : h2 pseudo-header */) continue;
    if (lower === 'host') {
      hostValue = raw[i + 1];
      continue;
    }
    if (HOP_BY_HOP.has(lower) || lower === 'expect') continue;
    if (listed !== undefined && listed.has(lower)) continue;
    if (FORWARDING.has(lower)) {
      if (!trusted) continue;
      const v = raw[i + 1]!;
      if (lower === 'x-forwarded-for') xff = xff === undefined ? v : `${xff}, ${v}`;
      else if (lower === 'forwarded') fwd = fwd === undefined ? v : `${fwd}, ${v}`;
      else if (lower === 'x-forwarded-proto') xfp ??= v;
      else if (lower === 'x-forwarded-host') xfh ??= v;
      else if (!edits.overrides(lower)) out.push(name, v);
      continue;
    }
    if (isOwned(lower) || (owned !== undefined && owned.has(lower))) continue;
    if (!edits.empty && edits.overrides(lower)) continue;
    if (lower === 'cookie') {
      // HTTP/2 clients split cookies into one field per crumb (RFC 9113 §8.2.3); HTTP/1.1 allows one Cookie line.
      if (cookieAt >= 0) {
        out[cookieAt] = `${out[cookieAt]}; ${raw[i + 1]}`;
        continue;
      }
      cookieAt = out.length + 1;
    }
    out.push(name, raw[i + 1]!);
  }
  const clientHost = hostValue ?? (ctx.req as { authority?: string }).authority ?? ctx.host;
  // A plugin's `set host` (the headers plugin) wins over the route's preserveHost/hostHeader: one Host, never two.
  if (opts.host !== undefined && (edits.empty || !edits.overrides('host'))) out.push('host', opts.host);
  const peer = ctx.peerIp;
  out.push(
    'x-forwarded-for', xff === undefined ? peer : `${xff}, ${peer}`,
    'x-forwarded-proto', xfp ?? ctx.scheme,
    'x-forwarded-host', xfh ?? clientHost,
    'forwarded', forwardedElement(peer, clientHost, ctx.scheme, fwd),
  );
  if (!edits.empty) edits.appendTo(out);
  return out;
}

function forwardedElement(peer: string, host: string, proto: string, previous: string | undefined): string {
  const node = peer.includes(':') ? `"[${peer}]"` : peer;
  const el = `for=${node};host="${host.replace(/["\\]/g, '')}";proto=${proto}`;
  return previous === undefined ? el : `${previous}, ${el}`;
}

/**
 * Builds the response header list for the client from the upstream's raw headers (latin1 buffers, as undici hands
 * them over): hop-by-hop and Connection-listed headers are dropped, then the plugins' edits apply.
 */
export function buildClientHeaders(raw: readonly Buffer[], edits: HeaderEdits): string[] {
  const out: string[] = [];
  let listed: Set<string> | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.length === 10 && raw[i]!.toString('latin1').toLowerCase() === 'connection') {
      for (const t of raw[i + 1]!.toString('latin1').split(',')) {
        const tok = t.trim().toLowerCase();
        if (tok !== '') (listed ??= new Set()).add(tok);
      }
    }
  }
  const noEdits = edits.empty;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toString('latin1');
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower)) continue;
    if (listed !== undefined && listed.has(lower)) continue;
    if (!noEdits && edits.overrides(lower)) continue;
    out.push(name, raw[i + 1]!.toString('latin1'));
  }
  if (!noEdits) edits.appendTo(out);
  return out;
}
