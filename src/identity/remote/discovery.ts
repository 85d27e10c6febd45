import { RemoteDocument, SharedRegistry, documentKey, type CacheSettings } from './remote-document.ts';

/** What the gateway uses from an issuer's OpenID Provider metadata. */
export interface IssuerMetadata {
  readonly issuer: string;
  readonly jwksUri: string | undefined;
  readonly introspectionEndpoint: string | undefined;
}

const registry = new SharedRegistry<RemoteDocument<IssuerMetadata>>();

/** `<issuer>/.well-known/openid-configuration` (OpenID Connect Discovery 1.0 §4: a trailing `/` is dropped first). */
export function discoveryUrl(issuer: string): string {
  return `${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
}

function endpoint(body: Record<string, unknown>, name: string): string | undefined {
  const v = body[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !/^https?:\/\//.test(v)) throw new Error(`"${name}" is not an http(s) URL`);
  return v;
}

/**
 * An issuer's discovery document, fetched and cached like a JWKS (shared per issuer and settings). A document
 * whose `issuer` is not exactly the configured one is refused (OpenID Connect Discovery §4.3): otherwise whoever
 * controls the document could make the gateway trust another issuer's keys.
 */
export function issuerMetadata(issuer: string, settings: CacheSettings): RemoteDocument<IssuerMetadata> {
  return registry.get(documentKey(discoveryUrl(issuer), settings), () => new RemoteDocument(discoveryUrl(issuer), (body): IssuerMetadata => {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new Error('not a JSON object');
    const doc = body as Record<string, unknown>;
    if (doc.issuer !== issuer) throw new Error(`its issuer ${JSON.stringify(doc.issuer)} is not ${JSON.stringify(issuer)}`);
    return { issuer, jwksUri: endpoint(doc, 'jwks_uri'), introspectionEndpoint: endpoint(doc, 'introspection_endpoint') };
  }, settings));
}
