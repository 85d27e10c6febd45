import { FetchError, fetchJson } from '../../identity/remote/fetch-json.ts';
import type { Answer } from './answer-cache.ts';

export interface IntrospectionClient {
  readonly clientId: string;
  readonly clientSecret: string;
  readonly tokenTypeHint: string;
  readonly timeout: number;
}

/** RFC 6749 §2.3.1: id and secret are form-encoded before they are joined and base64-encoded. */
export function basicCredentials(clientId: string, clientSecret: string): string {
  const enc = (s: string) => new URLSearchParams({ s }).toString().slice(2);
  return `Basic ${Buffer.from(`${enc(clientId)}:${enc(clientSecret)}`).toString('base64')}`;
}

/**
 * Asks the authorization server about a token (RFC 7662 §2.1). `active: true` is the only yes. A 400
 * `unsupported_token_type` (the server can't introspect this kind of token: a JWT, say) is `inactive`. Any
 * other error, a timeout, another status or a body that is not a JSON object is `unavailable`, never `inactive`.
 */
export async function introspect(endpoint: string, token: string, client: IntrospectionClient, authorization: string): Promise<Answer> {
  const form = new URLSearchParams({ token });
  if (client.tokenTypeHint !== '') form.set('token_type_hint', client.tokenTypeHint);
  try {
    const { status, body } = await fetchJson(endpoint, client.timeout, { form, headers: { authorization }, statuses: [200, 400] });
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return { kind: 'unavailable', reason: `${endpoint}: answer is not a JSON object` };
    const claims = body as Record<string, unknown>;
    if (status === 400) {
      return claims.error === 'unsupported_token_type'
        ? { kind: 'inactive' }
        : { kind: 'unavailable', reason: `${endpoint} answered 400 ${JSON.stringify(claims.error)}` };
    }
    return claims.active === true ? { kind: 'active', claims } : { kind: 'inactive' };
  } catch (err) {
    return { kind: 'unavailable', reason: err instanceof FetchError ? err.message : String(err) };
  }
}
