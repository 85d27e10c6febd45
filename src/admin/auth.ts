import { createHash, timingSafeEqual } from 'node:crypto';
import type { Config } from '../config/schema/index.ts';

/** What a token may do; each role includes the ones before it. */
export const ADMIN_ROLES = ['read', 'deploy', 'admin'] as const;
export type AdminRole = (typeof ADMIN_ROLES)[number];

export interface AdminToken {
  name: string;
  token: string;
  role: AdminRole;
}

/** Who made an admin request: the token's name (the actor the audit log records) and its role. */
export interface AdminCaller {
  name: string;
  role: AdminRole;
}

/** The caller when no token is configured: the API is open (loopback only, which validation enforces). */
export const ANONYMOUS: AdminCaller = { name: 'anonymous', role: 'admin' };

/** Endpoints beyond reading that the `deploy` role may call; any other non-GET endpoint needs `admin`. */
const DEPLOY_ENDPOINTS: ReadonlySet<string> = new Set([
  'POST /stages/:name/deploy',
  'POST /stages/:name/rollback',
  'POST /cache/purge',
  'POST /config/validate',
]);

/** The role an endpoint (`METHOD /path` as the route table names it) requires. */
export function requiredRole(endpoint: string): AdminRole {
  if (endpoint.startsWith('GET ')) return 'read';
  return DEPLOY_ENDPOINTS.has(endpoint) ? 'deploy' : 'admin';
}

export function allows(caller: AdminCaller, needed: AdminRole): boolean {
  return ADMIN_ROLES.indexOf(caller.role) >= ADMIN_ROLES.indexOf(needed);
}

/** The tokens the `admin` section configures: `admin.token` as the `admin` role named `admin`, then `admin.tokens`. */
export function adminTokens(admin: Config['admin']): AdminToken[] {
  const legacy: AdminToken[] = admin?.token === undefined ? [] : [{ name: 'admin', token: admin.token, role: 'admin' }];
  return [...legacy, ...(admin?.tokens ?? [])];
}

/**
 * Identifies callers by bearer token. Every configured token is compared, each as a SHA-256 hash in constant time
 * and without stopping at a match, so neither a token's length, its content nor its position leaks through timing.
 */
export class AdminAuth {
  readonly #tokens: ReadonlyArray<{ hash: Buffer; caller: AdminCaller }>;

  constructor(tokens: readonly AdminToken[]) {
    this.#tokens = tokens.map((t) => ({ hash: sha256(t.token), caller: { name: t.name, role: t.role } }));
  }

  /** False when no token is configured: every request is ANONYMOUS. */
  get required(): boolean {
    return this.#tokens.length > 0;
  }

  /** The caller an `Authorization` header names; undefined for none, another scheme or an unknown token. */
  identify(header: string | undefined): AdminCaller | undefined {
    if (!this.required) return ANONYMOUS;
    const m = header === undefined ? null : /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
    if (m === null) return undefined;
    const sent = sha256(m[1]!);
    let found: AdminCaller | undefined;
    for (const t of this.#tokens) {
      if (timingSafeEqual(sent, t.hash)) found = t.caller;
    }
    return found;
  }
}

function sha256(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}
