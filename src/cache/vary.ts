import { headerValue, listMembers, type Headers } from './header-fields.ts';

/**
 * Vary (RFC 9111 §4.1): which request headers select among a URL's stored responses. The cache keys a variant by
 * the URL (primary key) and by `varySignature` of the request headers the response names (secondary key).
 */

/** The names in the response's Vary: lower-case, sorted, deduplicated; `'*'` when any member is `*`. */
export function varyNames(resHeaders: Headers): string[] | '*' {
  const names = new Set<string>();
  for (const m of listMembers(headerValue(resHeaders, 'vary'))) {
    if (m === '*') return '*';
    names.add(m.toLowerCase());
  }
  return [...names].sort();
}

/**
 * Request headers whose value is a list of case-insensitive tokens in which order carries no meaning (q-values
 * rank the members): members are lower-cased and sorted, so `gzip, br` and `BR,gzip` select the same variant.
 */
const UNORDERED_CASELESS = new Set(['accept-encoding', 'accept-charset']);
/**
 * Lists whose tokens are case-insensitive but whose order can matter: RFC 9110 §12.5.4 notes that some recipients
 * treat the order of equally weighted Accept-Language tags as a preference. Lower-cased, order kept.
 */
const ORDERED_CASELESS = new Set(['accept-language']);
/** Lists whose members may carry case-sensitive parameters: only the spacing is normalised. */
const ORDERED_LISTS = new Set(['accept']);

/**
 * The secondary cache key for a response that varies on `names` (as from `varyNames`): one line per name,
 * `name` alone when the request lacks the header, `name:value` when it has one, so a missing header and an empty
 * one select different variants (§4.1 treats them as different). Every value has its field lines joined with
 * ', ', whitespace runs collapsed and the ends trimmed. List fields (Accept, Accept-Encoding, Accept-Charset,
 * Accept-Language) also lose the spaces around `,` `;` `=` and their empty members; Accept-Encoding and
 * Accept-Charset are lower-cased and sorted, Accept-Language lower-cased. Other headers are compared as sent
 * (the RFC allows normalising only what the field's syntax makes equivalent).
 */
export function varySignature(names: readonly string[], reqHeaders: Headers): string {
  const lines: string[] = [];
  for (const name of names) {
    const value = headerValue(reqHeaders, name);
    lines.push(value === undefined ? name : `${name}:${normalise(name, value)}`);
  }
  return lines.join('\n');
}

function normalise(name: string, value: string): string {
  const collapsed = value.replace(/\s+/g, ' ').trim();
  const caseless = UNORDERED_CASELESS.has(name) || ORDERED_CASELESS.has(name);
  if (!caseless && !ORDERED_LISTS.has(name)) return collapsed;
  const members = collapsed
    .split(',')
    .map((m) => m.replace(/\s*([;=])\s*/g, '$1').trim())
    .filter((m) => m !== '')
    .map((m) => (caseless ? m.toLowerCase() : m));
  return (UNORDERED_CASELESS.has(name) ? [...new Set(members)].sort() : members).join(',');
}
