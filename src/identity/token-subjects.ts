import type { Consumer, Identity } from './types.ts';
import { credentialActive } from './types.ts';
import type { ConsumerDirectory } from './consumers.ts';

interface SubjectEntry {
  readonly issuer: string | undefined;
  readonly consumer: Consumer;
  readonly active: boolean;
}

/**
 * Maps a token's subject claim (and issuer) to a consumer through the consumers' `token` credentials. Shared by
 * the jwt and oauth2-introspection plugins. An issuer-bound credential wins over one that accepts any issuer.
 */
export class TokenSubjects {
  readonly #bySubject = new Map<string, SubjectEntry[]>();

  constructor(directory: ConsumerDirectory) {
    for (const { consumer, credential } of directory.credentials('token')) {
      let list = this.#bySubject.get(credential.subject);
      if (list === undefined) this.#bySubject.set(credential.subject, (list = []));
      list.push({ issuer: credential.issuer, consumer, active: credentialActive(credential) });
    }
    for (const list of this.#bySubject.values()) list.sort((a, b) => Number(b.issuer !== undefined) - Number(a.issuer !== undefined));
  }

  /** The consumer for this subject; `revoked` when the matching credential is revoked (the token must be refused). */
  lookup(subject: string, issuer: string | undefined): Consumer | 'revoked' | undefined {
    const list = this.#bySubject.get(subject);
    if (list === undefined) return undefined;
    for (const e of list) {
      if (e.issuer !== undefined && e.issuer !== issuer) continue;
      return e.active ? e.consumer : 'revoked';
    }
    return undefined;
  }
}

/** Scopes from a token's claims: `scope` (space-separated string, RFC 8693/9068) or `scp` (array or string). */
export function scopesFromClaims(claims: Readonly<Record<string, unknown>>): string[] {
  const out: string[] = [];
  for (const v of [claims.scope, claims.scp]) {
    if (typeof v === 'string') out.push(...v.split(' ').filter((s) => s !== ''));
    else if (Array.isArray(v)) for (const s of v) if (typeof s === 'string' && s !== '') out.push(s);
  }
  return [...new Set(out)];
}

export interface TokenMapping {
  /** Claim whose value names the consumer (through `token` credentials). */
  readonly consumerClaim: string;
  /** Refuse a valid token that maps to no consumer. */
  readonly requireConsumer: boolean;
}

/**
 * The identity of a verified token (a JWT's claims, an introspection answer): its consumer by `consumerClaim`, its
 * subject and scopes. Returns the reason to refuse instead when the mapped credential is revoked, or when no
 * consumer matches and one is required.
 */
export function tokenIdentity(
  subjects: TokenSubjects, claims: Readonly<Record<string, unknown>>, mapping: TokenMapping,
  issuer: string | undefined, method: string, credentialId: string,
): Identity | string {
  const value = claims[mapping.consumerClaim];
  const mapped = typeof value === 'string' ? subjects.lookup(value, issuer) : undefined;
  if (mapped === 'revoked') return `token credential for ${mapping.consumerClaim} ${JSON.stringify(value)} is revoked`;
  if (mapped === undefined && mapping.requireConsumer) return `${mapping.consumerClaim} ${JSON.stringify(value)} maps to no consumer`;
  return {
    method,
    consumer: mapped,
    subject: typeof claims.sub === 'string' ? claims.sub : typeof value === 'string' ? value : undefined,
    scopes: scopesFromClaims(claims),
    credentialId,
    claims,
  };
}
