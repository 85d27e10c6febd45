import { timingSafeEqual } from 'node:crypto';
import { definePlugin, PluginConfigError, type PluginHandlers } from '../../core/plugin.ts';
import type { RequestContext } from '../../core/context.ts';
import { keyDigest, parseKeyHash, type KeyHashAlgorithm } from '../../identity/api-keys.ts';
import { ABSENT, credentialState, invalid, type AuthResult } from '../../identity/types.ts';
import { cookieValue, queryParam, withoutCookies, withoutParams } from './sources.ts';
import { KeyAuthConfig } from './schema.ts';

interface KeyEntry {
  readonly digest: Buffer;
  readonly revoked: boolean;
  /** Epoch ms; Infinity for no expiry. */
  readonly expiresAt: number;
  readonly success: AuthResult;
}

/**
 * Keys are looked up by the first 8 bytes of their digest, then the whole digest is compared in constant time: the
 * map lookup may leak how much of a prefix matched, the comparison that decides must not.
 */
type KeyTable = Map<string, KeyEntry[]>;

const PREFIX_BYTES = 8;

export const keyAuth = definePlugin({
  name: 'key-auth',
  description: 'Authenticates requests by API key (header, query parameter or cookie).',
  priority: 1100,
  kind: 'authentication',
  schema: KeyAuthConfig,
  create(config, scope): PluginHandlers {
    if (config.headers.length + config.query.length + config.cookies.length === 0) {
      throw new PluginConfigError('headers', 'name at least one header, query parameter or cookie to read the key from');
    }
    const headerNames = config.headers.map((h) => h.toLowerCase());
    const queryNames = config.query;
    const cookieNames = config.cookies;
    const querySet = new Set(queryNames);
    const cookieSet = new Set(cookieNames);
    const secret = scope.auth.keySecret;

    const tables: Record<KeyHashAlgorithm, KeyTable> = { 'sha256': new Map(), 'hmac-sha256': new Map() };
    for (const { consumer, credential, index } of scope.consumers.credentials('key-auth')) {
      const { algorithm, digest } = parseKeyHash(credential.keyHash);
      if (algorithm === 'hmac-sha256' && secret === undefined) {
        // The config check refuses this too; say it here for configs built without it.
        throw new PluginConfigError('', `consumers.${consumer.name}.credentials[${index}]: an hmac-sha256 key hash needs auth.keySecret`);
      }
      const entry: KeyEntry = {
        digest,
        ...credentialState('key-auth', consumer, credential, index, consumer.name),
      };
      const table = tables[algorithm];
      const prefix = digest.toString('hex', 0, PREFIX_BYTES);
      const list = table.get(prefix);
      if (list === undefined) table.set(prefix, [entry]);
      else list.push(entry);
    }
    const algorithms = (Object.keys(tables) as KeyHashAlgorithm[]).filter((a) => tables[a].size > 0);

    const lookup = (key: string): KeyEntry | undefined => {
      for (const algorithm of algorithms) {
        const digest = keyDigest(key, algorithm, secret);
        const candidates = tables[algorithm].get(digest.toString('hex', 0, PREFIX_BYTES));
        if (candidates === undefined) continue;
        for (const c of candidates) if (timingSafeEqual(c.digest, digest)) return c;
      }
      return undefined;
    };

    const findKey = (ctx: RequestContext): string | undefined => {
      for (const name of headerNames) {
        const v = ctx.header(name);
        if (v !== undefined && v !== '') return v;
      }
      if (queryNames.length > 0) {
        const v = queryParam(ctx.query, queryNames);
        if (v !== undefined) return v;
      }
      if (cookieNames.length > 0) return cookieValue(ctx.header('cookie'), cookieNames);
      return undefined;
    };

    // Every place a key may be is cleared, not just the one that was used: a second copy must not leak either.
    const hide = (ctx: RequestContext): void => {
      for (const name of headerNames) if (ctx.header(name) !== undefined) ctx.requestHeaders.removeHeader(name);
      if (querySet.size > 0) ctx.upstreamQuery = withoutParams(ctx.upstreamQuery, querySet);
      if (cookieSet.size > 0) {
        const cookie = ctx.header('cookie');
        if (cookie !== undefined && cookieValue(cookie, cookieNames) !== undefined) {
          const rest = withoutCookies(cookie, cookieSet);
          if (rest === undefined) ctx.requestHeaders.removeHeader('cookie');
          else ctx.requestHeaders.setHeader('cookie', rest);
        }
      }
    };

    const where = [
      headerNames.length > 0 ? `header="${headerNames[0]}"` : undefined,
      queryNames.length > 0 ? `query="${queryNames[0]}"` : undefined,
      cookieNames.length > 0 ? `cookie="${cookieNames[0]}"` : undefined,
    ].filter((x) => x !== undefined);
    const challenge = `ApiKey realm="${scope.auth.realm}", ${where.join(', ')}`;

    return {
      authenticator: {
        challenge,
        authenticate(ctx) {
          const key = findKey(ctx);
          if (key === undefined) return ABSENT;
          const entry = lookup(key);
          if (entry === undefined) return invalid('unknown key');
          if (entry.revoked) return invalid('key revoked');
          if (Date.now() >= entry.expiresAt) return invalid('key expired');
          if (config.hideCredentials) hide(ctx);
          return entry.success;
        },
      },
      secrets: { headers: headerNames, query: queryNames, cookies: cookieNames },
    };
  },
});
