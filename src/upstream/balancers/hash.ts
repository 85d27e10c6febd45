/**
 * Fast non-cryptographic string hashing for consistent hashing: 32-bit FNV-1a over the UTF-16 code units
 * (no encoding step, so nothing is allocated), then murmur3's finalizer. FNV-1a alone mixes its high bits
 * poorly for short, similar keys (IP addresses, `host:port`); the finalizer spreads every input bit over the
 * whole word, which matters because the result is reduced modulo a table size.
 */

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** 32-bit hash of `s` as an unsigned integer; `seed` selects an independent hash function. */
export function hash32(s: string, seed = 0): number {
  let h = (FNV_OFFSET ^ seed) >>> 0;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, FNV_PRIME);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
