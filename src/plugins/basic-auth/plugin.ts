import { definePlugin, PluginConfigError, type PluginHandlers } from '../../core/plugin.ts';
import type { RequestContext } from '../../core/context.ts';
import { parseDuration } from '../../config/units.ts';
import { decoyHash, hasArgon2, parsePasswordHash, PasswordHashError, verifyPassword, type PasswordHash } from '../../identity/passwords.ts';
import { ABSENT, credentialState, invalid, type AuthResult } from '../../identity/types.ts';
import { BasicAuthConfig } from './schema.ts';
import { SuccessCache } from './success-cache.ts';
import { passwordGate } from '../../identity/hash-gate.ts';

interface UserEntry {
  readonly hash: PasswordHash;
  readonly revoked: boolean;
  /** Epoch ms; Infinity for no expiry. */
  readonly expiresAt: number;
  readonly success: AuthResult;
}

const TOKEN68 = /^[A-Za-z0-9+/]+={0,2}$/;
const utf8 = new TextDecoder('utf-8', { fatal: true });
const MALFORMED = invalid('malformed Basic credentials');
const BUSY: AuthResult = Object.freeze({ outcome: 'unavailable', reason: 'too many password checks in progress (auth.passwordChecks)' });

/** User id and password from a `Basic` Authorization value (RFC 7617, UTF-8); undefined when malformed. */
export function parseBasic(token: string): { user: string; password: string } | undefined {
  if (!TOKEN68.test(token)) return undefined;
  let text: string;
  try {
    text = utf8.decode(Buffer.from(token, 'base64'));
  } catch {
    return undefined;
  }
  const colon = text.indexOf(':');
  if (colon <= 0) return undefined;
  return { user: text.slice(0, colon), password: text.slice(colon + 1) };
}

export const basicAuth = definePlugin({
  name: 'basic-auth',
  description: 'Authenticates requests by HTTP Basic user name and password.',
  priority: 1000,
  kind: 'authentication',
  schema: BasicAuthConfig,
  create(config, scope): PluginHandlers {
    const users = new Map<string, UserEntry>();
    for (const { consumer, credential, index } of scope.consumers.credentials('basic-auth')) {
      const at = `consumers.${consumer.name}.credentials[${index}].passwordHash`;
      let hash: PasswordHash;
      try {
        hash = parsePasswordHash(credential.passwordHash);
      } catch (err) {
        if (err instanceof PasswordHashError) throw new PluginConfigError('', `${at}: ${err.message}`);
        throw err;
      }
      if (hash.algorithm === 'argon2id' && !hasArgon2()) throw new PluginConfigError('', `${at}: argon2id needs Node 24.7 or later; use an scrypt hash`);
      users.set(credential.username, {
        hash,
        ...credentialState('basic-auth', consumer, credential, index, credential.username),
      });
    }
    // Unknown users are checked against a hash that costs what the configured ones cost: no timing tells them apart.
    const decoy = decoyHash(users.values().next().value?.hash);
    const cache = new SuccessCache<UserEntry>(parseDuration(config.cacheTtl), config.cacheSize);

    const accept = (ctx: RequestContext, entry: UserEntry, now: number): AuthResult => {
      if (entry.revoked) return invalid('credential revoked');
      if (now >= entry.expiresAt) return invalid('credential expired');
      if (config.hideCredentials) ctx.requestHeaders.removeHeader('authorization');
      return entry.success;
    };

    passwordGate.maxConcurrent = scope.auth.passwordChecks.maxConcurrent;
    passwordGate.maxQueued = scope.auth.passwordChecks.maxQueued;

    const verify = (ctx: RequestContext, user: string, password: string, cacheKey: string | undefined): AuthResult | Promise<AuthResult> => {
      const entry = users.get(user);
      const checked = passwordGate.run(() => verifyPassword(entry?.hash ?? decoy, password));
      if (checked === undefined) return BUSY;
      return checked.then((ok) => judge(ctx, entry, ok, cacheKey));
    };

    const judge = (ctx: RequestContext, entry: UserEntry | undefined, ok: boolean, cacheKey: string | undefined): AuthResult => {
      if (entry === undefined) return invalid('unknown user');
      if (!ok) return invalid('wrong password');
      const now = Date.now();
      // Only an active credential is remembered: a hit then only needs the revocation and expiry checks again.
      if (cacheKey !== undefined && !entry.revoked && now < entry.expiresAt) cache.set(cacheKey, entry, now);
      return accept(ctx, entry, now);
    };

    return {
      authenticator: {
        challenge: `Basic realm="${scope.auth.realm}", charset="UTF-8"`,
        authenticate(ctx) {
          const header = ctx.header('authorization');
          if (header === undefined) return ABSENT;
          const sp = header.indexOf(' ');
          if ((sp === -1 ? header : header.slice(0, sp)).toLowerCase() !== 'basic') return ABSENT;
          const creds = sp === -1 ? undefined : parseBasic(header.slice(sp + 1).trim());
          if (creds === undefined) return MALFORMED;
          let cacheKey: string | undefined;
          if (cache.enabled && users.has(creds.user)) {
            cacheKey = cache.key(creds.user, creds.password);
            const now = Date.now();
            const hit = cache.get(cacheKey, now);
            if (hit !== undefined) return accept(ctx, hit, now);
          }
          return verify(ctx, creds.user, creds.password, cacheKey);
        },
      },
    };
  },
});
