import type { RequestContext } from '../core/context.ts';
import type { Reply } from '../core/reply.ts';

/** A consumer as the runtime holds it: compiled once from config, shared by every request, never changed. */
export interface Consumer {
  readonly name: string;
  /** Stable id (defaults to the name): what X-Consumer-Id carries and rate limits key on. */
  readonly id: string;
  readonly groups: readonly string[];
  readonly groupSet: ReadonlySet<string>;
  readonly metadata: Readonly<Record<string, string | number | boolean>>;
  /** `id` and the groups as they travel in upstream headers (percent-encoded when not printable ASCII), built once. */
  readonly idHeader: string;
  readonly groupsHeader: string;
}

/** Who a request is, once an authentication method accepted it. */
export interface Identity {
  /** The plugin that authenticated the request (`key-auth`, `jwt`…), or `anonymous`. */
  readonly method: string;
  /** The mapped consumer; a token from a trusted issuer may authenticate a subject that maps to no consumer. */
  readonly consumer: Consumer | undefined;
  /** Token `sub`, user name, access key id, certificate subject: what the credential says, whatever the mapping. */
  readonly subject: string | undefined;
  /** Granted scopes (token `scope`/`scp`); empty for credentials that carry none. */
  readonly scopes: readonly string[];
  /** Label of the credential used (for logs); never the secret. */
  readonly credentialId?: string;
  /** Verified token claims, when the method has them. */
  readonly claims?: Readonly<Record<string, unknown>>;
  readonly anonymous?: boolean;
  /** A Lambda authorizer's `context` (its `principalId` is `subject`): what function events and upstream headers carry. */
  readonly authorizerContext?: Readonly<Record<string, unknown>>;
}

/**
 * What one authentication method made of a request:
 * - `absent`: the request carries no credential of this kind (another method may accept it);
 * - `invalid`: it carries one and it is not accepted; `reason` goes to logs and metrics, never to the client;
 * - `unavailable`: the credential can't be checked now (identity provider unreachable, nothing cached);
 * - `success`: who the request is.
 * `reply` replaces the phase's own answer to a refusal (401 / 503): a Lambda authorizer's explicit Deny is a 403.
 */
export type AuthResult =
  | { readonly outcome: 'absent' }
  | { readonly outcome: 'invalid'; readonly reason: string; readonly challenge?: string; readonly reply?: Reply }
  | { readonly outcome: 'unavailable'; readonly reason: string; readonly reply?: Reply }
  | { readonly outcome: 'success'; readonly identity: Identity };

/**
 * An authentication method, as an authentication plugin provides it. The route's authenticate phase runs its
 * methods in order and combines the results (`auth.mode`); a method never answers the client itself. It may edit
 * the upstream request (hide the credential) only when it returns `success`.
 */
export interface Authenticator {
  /** The `WWW-Authenticate` challenge for this method, e.g. `Bearer realm="expeditor"`. */
  readonly challenge: string;
  authenticate(ctx: RequestContext): AuthResult | Promise<AuthResult>;
}

export const ABSENT: AuthResult = Object.freeze({ outcome: 'absent' });

export function invalid(reason: string, challenge?: string): AuthResult {
  return challenge === undefined ? { outcome: 'invalid', reason } : { outcome: 'invalid', reason, challenge };
}

/** `credentialId` of a config credential: its label, or the type and position. */
export function credentialLabel(cred: { id?: string; type: string }, consumer: string, index: number): string {
  return cred.id ?? `${consumer}/${cred.type}/${index}`;
}

/** Whether a config credential is usable now: not revoked, not expired. */
export function credentialActive(cred: { revoked?: boolean; expiresAt?: string }, now = Date.now()): boolean {
  if (cred.revoked === true) return false;
  return cred.expiresAt === undefined || Date.parse(cred.expiresAt) > now;
}

/** What a plugin keeps per credential to judge it at request time: revocation, expiry, and its ready-made success. */
export interface CredentialState {
  readonly revoked: boolean;
  /** ms since the epoch; Infinity when it never expires. */
  readonly expiresAt: number;
  readonly success: AuthResult;
}

export function credentialState(
  method: string, consumer: Consumer, cred: { id?: string; type: string; revoked?: boolean; expiresAt?: string }, index: number, subject: string,
): CredentialState {
  return {
    revoked: cred.revoked === true,
    expiresAt: cred.expiresAt === undefined ? Infinity : Date.parse(cred.expiresAt),
    success: Object.freeze({
      outcome: 'success',
      identity: Object.freeze({ method, consumer, subject, scopes: [], credentialId: credentialLabel(cred, consumer.name, index) }),
    }),
  };
}
