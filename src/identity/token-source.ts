import { Type, type Static } from '@sinclair/typebox';
import { Strict } from '../config/schema/common.ts';
import type { RequestContext } from '../core/context.ts';
import type { RequestSecrets } from '../core/plugin.ts';

/** Where a bearer token is read from (jwt, oauth2-introspection). */
export const TokenFromConfig = Strict({
  authorization: Type.Boolean({ default: true, description: 'Read `Authorization: Bearer <token>`.' }),
  cookie: Type.Optional(Type.String({ minLength: 1, description: 'Also read the token from this cookie.' })),
  query: Type.Optional(Type.String({ minLength: 1, description: 'Also read the token from this query parameter (it ends up in logs and histories elsewhere: avoid).' })),
}, { default: {}, description: 'Where the token is read from, in this order; the first present is used.' });
export const HideTokenConfig = Type.Boolean({ default: false, description: 'Remove the token (header, cookie or query parameter) from the request sent upstream.' });

export type TokenFromConfigT = Static<typeof TokenFromConfig>;

export type TokenPlace = 'authorization' | 'cookie' | 'query';

/** A bearer token found in a request, or a bearer credential that can't be one (`malformed`). */
export type FoundToken = { readonly token: string; readonly place: TokenPlace } | { readonly malformed: string };

/** RFC 6750 §2.1 `b64token`; a JWT, an opaque token or a JWS all fit. */
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

/**
 * Where a bearer token is read from (Authorization, then a cookie, then a query parameter) and how it is hidden
 * from the upstream. Shared by the jwt and oauth2-introspection plugins.
 */
export class TokenSource {
  readonly #config: TokenFromConfigT;
  /** Where the access log must redact the token on this route (Authorization and Cookie always are). */
  readonly secrets: RequestSecrets;

  constructor(config: TokenFromConfigT) {
    this.#config = config;
    this.secrets = {
      ...(config.cookie === undefined ? {} : { cookies: [config.cookie] }),
      ...(config.query === undefined ? {} : { query: [config.query] }),
    };
  }

  /** The request's token; undefined when it carries none this source reads (an Authorization of another scheme, say). */
  read(ctx: RequestContext): FoundToken | undefined {
    const c = this.#config;
    if (c.authorization) {
      const h = ctx.header('authorization');
      if (h !== undefined && h.length >= 6 && h.slice(0, 6).toLowerCase() === 'bearer' && (h.length === 6 || h[6] === ' ')) {
        const token = h.slice(7).trim();
        return B64TOKEN.test(token) ? { token, place: 'authorization' } : { malformed: 'Authorization: Bearer without a well-formed token' };
      }
    }
    if (c.cookie !== undefined) {
      const token = cookieValue(ctx.header('cookie'), c.cookie);
      if (token !== undefined) return B64TOKEN.test(token) ? { token, place: 'cookie' } : { malformed: `cookie ${c.cookie} is not a well-formed token` };
    }
    if (c.query !== undefined && ctx.query !== '') {
      const token = queryValue(ctx.query, c.query);
      if (token !== undefined) return B64TOKEN.test(token) ? { token, place: 'query' } : { malformed: `query parameter ${c.query} is not a well-formed token` };
    }
    return undefined;
  }

  /** Removes the token from what is sent upstream. */
  hide(ctx: RequestContext, place: TokenPlace): void {
    if (place === 'authorization') {
      ctx.requestHeaders.removeHeader('authorization');
    } else if (place === 'cookie') {
      const rest = (ctx.header('cookie') ?? '').split(';').map((p) => p.trim()).filter((p) => p !== '' && cookieName(p) !== this.#config.cookie);
      if (rest.length === 0) ctx.requestHeaders.removeHeader('cookie');
      else ctx.requestHeaders.setHeader('cookie', rest.join('; '));
    } else {
      const name = this.#config.query!;
      ctx.upstreamQuery = ctx.upstreamQuery.split('&').filter((p) => p !== '' && decodeComponent(p.split('=', 1)[0]!) !== name).join('&');
    }
  }
}

function cookieName(pair: string): string {
  const eq = pair.indexOf('=');
  return (eq < 0 ? pair : pair.slice(0, eq)).trim();
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0 || part.slice(0, eq).trim() !== name) continue;
    let v = part.slice(eq + 1).trim();
    if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) v = v.slice(1, -1);
    return v;
  }
  return undefined;
}

function decodeComponent(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return s;
  }
}

function queryValue(query: string, name: string): string | undefined {
  for (const part of query.split('&')) {
    const eq = part.indexOf('=');
    if (eq < 0 || decodeComponent(part.slice(0, eq)) !== name) continue;
    return decodeComponent(part.slice(eq + 1));
  }
  return undefined;
}
