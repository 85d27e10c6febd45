/** Media type tests that decide base64 on the way in and out (binaryMediaTypes for 1.0, text types for 2.0). */

/** The bare media type, lower-cased: 'Image/PNG; q=1' → 'image/png'; '' for an absent or empty value. */
export function bareMediaType(value: string | undefined): string {
  if (value === undefined) return '';
  const semi = value.indexOf(';');
  return (semi === -1 ? value : value.slice(0, semi)).trim().toLowerCase();
}

/**
 * Whether a Content-Type or Accept type matches one of `patterns` (API Gateway binaryMediaTypes): exact
 * (`image/png`), a subtype wildcard (`image/*`) or `*\/*`. Parameters are ignored, case does not matter. Wildcards
 * count only in the patterns: an Accept of `*\/*` matches `*\/*` alone. A request without a type matches only `*\/*`.
 */
export function mediaTypeMatches(type: string | undefined, patterns: readonly string[]): boolean {
  const bare = bareMediaType(type);
  for (const raw of patterns) {
    const pattern = bareMediaType(raw);
    if (pattern === '*/*') return true;
    if (bare === '') continue;
    if (pattern === bare) return true;
    if (pattern.endsWith('/*') && bare.startsWith(pattern.slice(0, -1))) return true;
  }
  return false;
}

/** API Gateway honours only the first media type of an Accept header. */
export function firstAcceptType(accept: string | undefined): string | undefined {
  if (accept === undefined) return undefined;
  const comma = accept.indexOf(',');
  const first = bareMediaType(comma === -1 ? accept : accept.slice(0, comma));
  return first === '' ? undefined : first;
}

const TEXT_APPLICATION_TYPES: ReadonlySet<string> = new Set(['application/json', 'application/xml', 'application/javascript']);

/**
 * Payload 2.0 sends a request body as text only for these types; everything else, a missing Content-Type and
 * application/x-www-form-urlencoded included, is base64-encoded (observed on HTTP APIs; AWS's guide lists no types).
 */
export function isTextMediaType(type: string | undefined): boolean {
  const bare = bareMediaType(type);
  return bare.startsWith('text/') || TEXT_APPLICATION_TYPES.has(bare);
}
