/**
 * The fields an access-log line can carry, in the order they are written. docs/access-log.md lists each with its
 * AWS equivalent; a test keeps the two in step.
 */
export const FIELD_NAMES = [
  'time', 'requestId', 'method', 'host', 'path', 'query', 'protocol', 'status', 'route', 'consumer', 'authMethod',
  'credentialId', 'clientIp', 'peerIp', 'userAgent', 'target', 'latency', 'upstreamLatency', 'gatewayLatency',
  'errorCode', 'authError', 'rateLimit', 'cache', 'bytesIn', 'bytesOut', 'aborted',
] as const;

export type FieldName = (typeof FIELD_NAMES)[number];

/** What a line carries unless `fields` says otherwise: everything but the credential label and the TCP peer. */
export const DEFAULT_FIELDS: readonly FieldName[] = FIELD_NAMES.filter((f) => f !== 'credentialId' && f !== 'peerIp');

/** The selected fields as flags, so the per-request builder tests a boolean rather than searching a list. */
export type FieldFlags = { readonly [K in FieldName]: boolean };

export function fieldFlags(fields: readonly FieldName[]): FieldFlags {
  const set = new Set(fields);
  return Object.fromEntries(FIELD_NAMES.map((f) => [f, set.has(f)])) as FieldFlags;
}
