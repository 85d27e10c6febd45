import net from 'node:net';
import { PluginConfigError } from '../../core/plugin.ts';

/**
 * Parses and matches IP address lists. Parsing is strict (a CIDR with host bits set is refused, with the network it
 * probably meant) because a typo in an access list is a security bug. Matching uses net.BlockList, in which IPv4
 * rules also match IPv4-mapped IPv6 addresses and the other way round.
 */

export interface ParsedCidr {
  readonly address: string;
  readonly prefix: number;
  readonly family: 'ipv4' | 'ipv6';
}

/** Parses `addr` or `addr/prefix`; throws PluginConfigError(path) when it is not one. */
export function parseCidr(path: string, text: string): ParsedCidr {
  const slash = text.indexOf('/');
  const address = slash === -1 ? text : text.slice(0, slash);
  const version = net.isIP(address);
  // net.isIP accepts zone ids (`fe80::1%eth0`), which have no meaning in a rule.
  if (version === 0 || address.includes('%')) throw new PluginConfigError(path, `invalid IP address "${address}" in "${text}"`);
  const max = version === 4 ? 32 : 128;
  let prefix = max;
  if (slash !== -1) {
    const p = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(p) || Number(p) > max) throw new PluginConfigError(path, `invalid CIDR "${text}": prefix must be 0 to ${max}`);
    prefix = Number(p);
  }
  const bits = addressBits(address, version);
  const hostMask = (1n << BigInt(max - prefix)) - 1n;
  if ((bits & hostMask) !== 0n) {
    const network = formatBits(bits & ~hostMask, version);
    throw new PluginConfigError(path, `invalid CIDR "${text}": host bits are set; did you mean "${network}/${prefix}"?`);
  }
  return { address, prefix, family: version === 4 ? 'ipv4' : 'ipv6' };
}

/** Compiles a list of rules; `path` names the list (`allow`), entries are reported as `allow[2]`. */
export function compileBlockList(path: string, rules: readonly string[]): net.BlockList {
  const list = new net.BlockList();
  rules.forEach((rule, i) => {
    const c = parseCidr(`${path}[${i}]`, rule);
    list.addSubnet(c.address, c.prefix, c.family);
  });
  return list;
}

/** Whether `ip` may pass: never when denied, and only when allowed if there is an allow list. Unparseable addresses are denied. */
export function isAddressAllowed(ip: string, allow: net.BlockList | undefined, deny: net.BlockList | undefined): boolean {
  const version = net.isIP(ip);
  if (version === 0) return false;
  const family = version === 4 ? 'ipv4' : 'ipv6';
  if (deny !== undefined && deny.check(ip, family)) return false;
  return allow === undefined || allow.check(ip, family);
}

function addressBits(address: string, version: number): bigint {
  if (version === 4) return ipv4Bits(address);
  let head = address;
  let tailV4: bigint | undefined;
  const lastColon = address.lastIndexOf(':');
  if (address.includes('.', lastColon)) {
    tailV4 = ipv4Bits(address.slice(lastColon + 1));
    head = address.slice(0, lastColon + 1) + '0:0';
  }
  const [left, right] = head.split('::') as [string, string | undefined];
  const l = left === '' ? [] : left.split(':');
  const r = right === undefined || right === '' ? [] : right.split(':');
  const groups = [...l, ...Array<string>(8 - l.length - r.length).fill('0'), ...r];
  let bits = 0n;
  for (const g of groups) bits = (bits << 16n) | BigInt(Number.parseInt(g, 16));
  if (tailV4 !== undefined) bits = (bits & ~0xffffffffn) | tailV4;
  return bits;
}

function ipv4Bits(address: string): bigint {
  return address.split('.').reduce((acc, part) => (acc << 8n) | BigInt(Number(part)), 0n);
}

function formatBits(bits: bigint, version: number): string {
  if (version === 4) return [24n, 16n, 8n, 0n].map((s) => Number((bits >> s) & 0xffn)).join('.');
  const groups: string[] = [];
  for (let s = 112n; s >= 0n; s -= 16n) groups.push(((bits >> s) & 0xffffn).toString(16));
  // Canonical text (RFC 5952): compress the longest run of two or more zero groups.
  let best = -1, bestLen = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== '0') { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen) { best = i; bestLen = j - i; }
    i = j;
  }
  if (best === -1) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}
