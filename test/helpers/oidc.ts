import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, type JWK } from 'jose';

/** The signing algorithms the test provider can issue JWT access tokens with. */
export type SigningAlg = 'RS256' | 'ES256';

export interface OidcClient {
  readonly clientId: string;
  readonly clientSecret: string;
}

export interface TestOidcProvider {
  /** The issuer URL (`http://127.0.0.1:<port>`), as tokens and the discovery document carry it. */
  readonly issuer: string;
  readonly port: number;
  /** A confidential client allowed the client-credentials grant, introspection and revocation. */
  readonly client: OidcClient;
  /** The resource indicator whose access tokens are JWTs; tokens requested without one are opaque. */
  readonly resource: string;
  /** Requests received so far, by path (`/jwks`, `/token/introspection`, `/.well-known/openid-configuration`…). */
  readonly hits: Map<string, number>;
  /** Private signing keys currently published (public halves at `/jwks`), so tests can sign tokens of their own. */
  readonly signingKeys: readonly JWK[];
  hitsOf(path: string): number;
  /** A client-credentials access token: a JWT when `resource` is given (default: the JWT resource), else opaque. */
  token(options?: { scope?: string; resource?: string | null; alg?: SigningAlg }): Promise<string>;
  /** Revokes a token at the revocation endpoint (RFC 7009). */
  revoke(token: string): Promise<void>;
  /** Replaces the signing keys (new kids): the next tokens are signed with them and `/jwks` publishes only them. */
  rotateKeys(): Promise<void>;
  /** Stops answering: the port refuses connections until `resume()`. */
  stop(): Promise<void>;
  /** Listens again on the same port. */
  resume(): Promise<void>;
  close(): Promise<void>;
}

export const JWT_SCOPES = 'orders:read orders:write';
/** The `aud` of every JWT access token the test provider issues. */
export const AUDIENCE = 'https://orders.example.com';
const ES256_RESOURCE = 'https://orders.example.com/es256';
const RESOURCES: Record<string, SigningAlg> = { [AUDIENCE]: 'RS256', [ES256_RESOURCE]: 'ES256' };

/**
 * oidc-provider's storage interface over a Map shared by every Provider instance of the process, so tokens issued
 * before `rotateKeys()` stay known to introspection after it (and the dev adapter's warning stays quiet).
 */
const STORE = new Map<string, { payload: Record<string, unknown>; expiresAt: number }>();
class MemoryAdapter {
  readonly #name: string;
  constructor(name: string) { this.#name = name; }
  #key(id: string) { return `${this.#name}:${id}`; }
  async upsert(id: string, payload: Record<string, unknown>, expiresIn: number) {
    STORE.set(this.#key(id), { payload, expiresAt: Date.now() + expiresIn * 1000 });
    if (typeof payload.grantId === 'string') STORE.set(`grant:${payload.grantId}:${this.#key(id)}`, { payload: {}, expiresAt: Date.now() + expiresIn * 1000 });
  }
  async find(id: string) {
    const e = STORE.get(this.#key(id));
    if (e === undefined || e.expiresAt <= Date.now()) return undefined;
    return e.payload;
  }
  async findByUserCode() { return undefined; }
  async findByUid() { return undefined; }
  async consume(id: string) {
    const e = STORE.get(this.#key(id));
    if (e !== undefined) e.payload.consumed = Math.floor(Date.now() / 1000);
  }
  async destroy(id: string) { STORE.delete(this.#key(id)); }
  async revokeByGrantId(grantId: string) {
    for (const key of [...STORE.keys()]) {
      if (!key.startsWith(`grant:${grantId}:`)) continue;
      STORE.delete(key);
      STORE.delete(key.slice(`grant:${grantId}:`.length));
    }
  }
}

/** One private RSA and one private EC P-256 signing key, with fresh kids. */
export async function signingKeys(tag: string): Promise<JWK[]> {
  const out: JWK[] = [];
  for (const alg of ['RS256', 'ES256'] as const) {
    const { privateKey } = await generateKeyPair(alg, { extractable: true });
    out.push({ ...(await exportJWK(privateKey)), kid: `${alg.toLowerCase()}-${tag}`, alg, use: 'sig' });
  }
  return out;
}

/**
 * Starts a real `oidc-provider` on a free loopback port: discovery, JWKS, the client-credentials grant, token
 * introspection and revocation. The HTTP server stays the same across `rotateKeys()` (a new Provider instance
 * with new keys replaces the old behind it), so the issuer URL never changes.
 */
export async function startOidcProvider(options: { accessTokenTtl?: number } = {}): Promise<TestOidcProvider> {
  // oidc-provider ships no type declarations: a non-literal specifier keeps TypeScript from looking for them.
  const { default: Provider } = await import('oidc-provider' as string) as { default: new (issuer: string, config: unknown) => OidcProviderInstance };
  const hits = new Map<string, number>();
  let provider: OidcProviderInstance | undefined;
  let handler: http.RequestListener | undefined;
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    hits.set(path, (hits.get(path) ?? 0) + 1);
    handler!(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const issuer = `http://127.0.0.1:${port}`;
  const client: OidcClient = { clientId: 'orders-app', clientSecret: 'orders-app-secret-0123456789abcdef' };
  const resource = AUDIENCE;
  let keys: JWK[] = [];
  let generation = 0;

  const build = async () => {
    keys = await signingKeys(`gen${++generation}`);
    provider = new Provider(issuer, {
      clients: [{
        client_id: client.clientId,
        client_secret: client.clientSecret,
        grant_types: ['client_credentials'],
        redirect_uris: [],
        response_types: [],
        token_endpoint_auth_method: 'client_secret_basic',
        scope: JWT_SCOPES,
      }],
      jwks: { keys },
      scopes: JWT_SCOPES.split(' '),
      ttl: { ClientCredentials: options.accessTokenTtl ?? 600 },
      features: {
        devInteractions: { enabled: false },
        clientCredentials: { enabled: true },
        // The gateway is the only caller; the default policies only log a notice that they are defaults.
        introspection: { enabled: true, allowedPolicy: () => true },
        revocation: { enabled: true, allowedPolicy: () => true },
        resourceIndicators: {
          enabled: true,
          defaultResource: () => undefined,
          // One resource indicator per signing algorithm, all with the same audience.
          getResourceServerInfo: (_ctx: unknown, indicator: string) => {
            const alg = RESOURCES[indicator];
            if (alg === undefined) throw new Error(`unknown resource ${indicator}`);
            return { scope: JWT_SCOPES, audience: AUDIENCE, accessTokenFormat: 'jwt', jwt: { sign: { alg } } };
          },
        },
      },
      adapter: MemoryAdapter,
    });
    handler = provider.callback();
  };
  await build();

  const basic = `Basic ${Buffer.from(`${encodeURIComponent(client.clientId)}:${encodeURIComponent(client.clientSecret)}`).toString('base64')}`;
  const post = async (path: string, form: Record<string, string>) => {
    const res = await fetch(`${issuer}${path}`, {
      method: 'POST',
      headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(form).toString(),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${path}: ${res.status} ${text}`);
    return text === '' ? {} : JSON.parse(text) as Record<string, unknown>;
  };

  const listen = () => new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => { server.off('error', reject); resolve(); });
  });
  const stop = () => new Promise<void>((resolve) => {
    if (!server.listening) return resolve();
    server.closeAllConnections();
    server.close(() => resolve());
  });

  return {
    issuer,
    port,
    client,
    resource,
    hits,
    get signingKeys() { return keys; },
    hitsOf: (path) => hits.get(path) ?? 0,
    async token({ scope = JWT_SCOPES, resource: res = resource, alg } = {}) {
      const form: Record<string, string> = { grant_type: 'client_credentials', scope };
      if (res !== null) form.resource = alg === 'ES256' ? ES256_RESOURCE : res;
      const body = await post('/token', form);
      return body.access_token as string;
    },
    async revoke(token) {
      await post('/token/revocation', { token });
    },
    rotateKeys: build,
    stop,
    resume: listen,
    close: stop,
  };
}

interface OidcProviderInstance {
  callback(): http.RequestListener;
}
