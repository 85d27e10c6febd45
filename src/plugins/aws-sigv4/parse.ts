/**
 * Parsing of the two forms an AWS Signature Version 4 comes in: the `Authorization` header and the presigned URL's
 * `X-Amz-*` query parameters. Pure functions: they say what the request claims, never whether it is true.
 */

export const ALGORITHM = 'AWS4-HMAC-SHA256';

/** The presigned URL's parameters, exactly as AWS spells them (they are case-sensitive). */
export const QUERY_PARAMS = {
  algorithm: 'X-Amz-Algorithm',
  credential: 'X-Amz-Credential',
  date: 'X-Amz-Date',
  expires: 'X-Amz-Expires',
  signedHeaders: 'X-Amz-SignedHeaders',
  signature: 'X-Amz-Signature',
  securityToken: 'X-Amz-Security-Token',
} as const;

export const SIGNATURE_QUERY_NAMES: readonly string[] = Object.values(QUERY_PARAMS);

/** What a request claims about its signature, once it parsed. */
export interface SignatureClaim {
  readonly form: 'header' | 'query';
  readonly accessKeyId: string;
  /** The credential scope's date, `YYYYMMDD`. */
  readonly scopeDate: string;
  readonly region: string;
  readonly service: string;
  /** Lower-case header names, as listed (sorted, no duplicates: checked). */
  readonly signedHeaders: readonly string[];
  /** 64 lower-case hex digits. */
  readonly signature: string;
  /** `X-Amz-Date` (`YYYYMMDDTHHMMSSZ`), from the header (header form) or the query (query form); undefined if absent. */
  readonly amzDate: string | undefined;
  /** `X-Amz-Expires` in seconds (query form only; optional there: without it the URL lives as long as a header signature). */
  readonly expires?: number;
}

export type ParseResult = { readonly ok: true; readonly claim: SignatureClaim } | { readonly ok: false; readonly reason: string };

const KEY_ID = /^[A-Za-z0-9]{1,128}$/;
const SCOPE_DATE = /^\d{8}$/;
const SCOPE_PART = /^[a-z0-9-]{1,64}$/;
const HEADER_NAME = /^[a-z0-9!#$%&'*+.^_`|~-]+$/;
const SIGNATURE = /^[0-9a-f]{64}$/;
const AMZ_DATE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;

function fail(reason: string): ParseResult {
  return { ok: false, reason };
}

/** Whether an Authorization header is an AWS signature of any version (so that this method, not another, owns it). */
export function isAwsAuthorization(value: string): boolean {
  return value.startsWith('AWS4-') || value.startsWith('AWS ');
}

/**
 * `AWS4-HMAC-SHA256 Credential=AKID/20261128/us-east-1/execute-api/aws4_request, SignedHeaders=host;x-amz-date,
 * Signature=<hex>`. Components may come in any order, each once, separated by commas (spaces optional).
 */
export function parseAuthorization(value: string, amzDate: string | undefined): ParseResult {
  if (!value.startsWith(`${ALGORITHM} `)) return fail('unsupported signature algorithm (only AWS4-HMAC-SHA256)');
  const fields = new Map<string, string>();
  for (const part of value.slice(ALGORITHM.length + 1).split(',')) {
    const p = part.trim();
    const eq = p.indexOf('=');
    if (eq <= 0) return fail('malformed Authorization header');
    const name = p.slice(0, eq);
    if (fields.has(name)) return fail(`Authorization repeats ${name}`);
    fields.set(name, p.slice(eq + 1));
  }
  const credential = fields.get('Credential');
  const signedHeaders = fields.get('SignedHeaders');
  const signature = fields.get('Signature');
  if (credential === undefined || signedHeaders === undefined || signature === undefined || fields.size !== 3) {
    return fail('Authorization must have exactly Credential, SignedHeaders and Signature');
  }
  return claim('header', credential, signedHeaders, signature, amzDate, undefined);
}

/** The presigned form, from the decoded query parameters; undefined when the query carries no signature at all. */
export function parseQueryAuth(params: ReadonlyMap<string, readonly string[]>): ParseResult | undefined {
  if (!params.has(QUERY_PARAMS.algorithm) && !params.has(QUERY_PARAMS.signature) && !params.has(QUERY_PARAMS.credential)) return undefined;
  const one = (name: string): string | undefined => {
    const v = params.get(name);
    return v === undefined || v.length !== 1 ? undefined : v[0];
  };
  const algorithm = one(QUERY_PARAMS.algorithm);
  if (algorithm !== ALGORITHM) return fail('unsupported or missing X-Amz-Algorithm (only AWS4-HMAC-SHA256, once)');
  const credential = one(QUERY_PARAMS.credential);
  const signedHeaders = one(QUERY_PARAMS.signedHeaders);
  const signature = one(QUERY_PARAMS.signature);
  const date = one(QUERY_PARAMS.date);
  const expires = one(QUERY_PARAMS.expires);
  if (credential === undefined || signedHeaders === undefined || signature === undefined || date === undefined) {
    return fail('a presigned URL needs X-Amz-Credential, X-Amz-Date, X-Amz-SignedHeaders and X-Amz-Signature, once each');
  }
  if (params.has(QUERY_PARAMS.expires)) {
    if (expires === undefined || !/^[1-9]\d{0,6}$/.test(expires)) return fail('malformed X-Amz-Expires');
    return claim('query', credential, signedHeaders, signature, date, Number(expires));
  }
  return claim('query', credential, signedHeaders, signature, date, undefined);
}

function claim(
  form: 'header' | 'query', credential: string, signedHeaders: string, signature: string, amzDate: string | undefined, expires: number | undefined,
): ParseResult {
  const scope = credential.split('/');
  if (scope.length !== 5 || scope[4] !== 'aws4_request') return fail('malformed credential scope');
  const [accessKeyId, scopeDate, region, service] = scope as [string, string, string, string];
  if (!KEY_ID.test(accessKeyId)) return fail('malformed access key id');
  if (!SCOPE_DATE.test(scopeDate) || !SCOPE_PART.test(region) || !SCOPE_PART.test(service)) return fail('malformed credential scope');
  if (!SIGNATURE.test(signature)) return fail('malformed signature');
  const names = signedHeaders.split(';');
  for (let i = 0; i < names.length; i++) {
    if (!HEADER_NAME.test(names[i]!)) return fail('malformed SignedHeaders');
    // Sorted and unique, as the canonical request lists them: any other list could never verify.
    if (i > 0 && names[i - 1]! >= names[i]!) return fail('SignedHeaders not sorted or repeated');
  }
  const out: SignatureClaim = { form, accessKeyId, scopeDate, region, service, signedHeaders: names, signature, amzDate };
  return { ok: true, claim: expires === undefined ? out : { ...out, expires } };
}

/** `YYYYMMDDTHHMMSSZ` to milliseconds since the epoch; NaN unless it is a real instant written exactly so. */
export function parseAmzDate(value: string): number {
  const m = AMZ_DATE.exec(value);
  if (m === null) return Number.NaN;
  const t = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
  // Date.UTC rolls 20261340 over into the next year; only a date that formats back to itself is real.
  return formatAmzDate(t) === value ? t : Number.NaN;
}

export function formatAmzDate(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z');
}

/**
 * A raw query string (no `?`) as decoded name → values, repeated names kept in order. `+` is a space, as in forms
 * (signers encode spaces as `%20`, so either spelling verifies). Undefined when a part is not valid percent-encoding.
 */
export function parseQuery(raw: string): Map<string, string[]> | undefined {
  const out = new Map<string, string[]>();
  if (raw === '') return out;
  for (const part of raw.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const name = decode(eq === -1 ? part : part.slice(0, eq));
    const value = eq === -1 ? '' : decode(part.slice(eq + 1));
    if (name === undefined || value === undefined) return undefined;
    const list = out.get(name);
    if (list === undefined) out.set(name, [value]);
    else list.push(value);
  }
  return out;
}

function decode(s: string): string | undefined {
  if (s.indexOf('%') === -1 && s.indexOf('+') === -1) return s;
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return undefined;
  }
}

/** The raw query without the presigned URL's signature parameters (what `hideCredentials` forwards). */
export function withoutSignatureParams(raw: string): string {
  if (raw === '') return raw;
  return raw.split('&').filter((part) => {
    const eq = part.indexOf('=');
    const name = decode(eq === -1 ? part : part.slice(0, eq));
    return name === undefined || !SIGNATURE_QUERY_NAMES.includes(name);
  }).join('&');
}
