/**
 * A value as it can travel in a header: printable ASCII as is; anything else (a non-ASCII user name, a control
 * character in a token's `sub`) percent-encoded as UTF-8, so it arrives intact and can never split a header.
 */
export function headerSafe(value: string): string {
  return /^[\x20-\x7e]*$/.test(value) ? value : encodeURIComponent(value);
}
