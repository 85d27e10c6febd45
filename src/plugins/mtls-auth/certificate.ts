import type { Http2ServerRequest } from 'node:http2';
import type { PeerCertificate, TLSSocket } from 'node:tls';
import type { GatewayRequest } from '../../core/context.ts';

/** What the listener established about the client's certificate: read once per connection. */
export type PeerIdentity =
  | { readonly present: false }
  | {
    readonly present: true;
    /** The certificate chains to `listen.tls.clientCa` and is within its validity dates (checked at the handshake). */
    readonly authorized: boolean;
    readonly authorizationError: string | undefined;
    /** Subject CN; an array when the subject has several (which this plugin refuses to map). */
    readonly cn: string | readonly string[] | undefined;
    /** Subject alternative names, normalised as `sanKey` normalises config values. */
    readonly sans: readonly string[];
    /** `AB:CD:…`, upper case. */
    readonly fingerprint256: string;
    /** End of validity (ms): a long-lived connection outlives its certificate. */
    readonly validTo: number;
  };

const ABSENT: PeerIdentity = Object.freeze({ present: false });

/**
 * The TLS connection of a request and an object that lives exactly as long as it (a key for per-connection caches):
 * the socket on HTTP/1.1, the session on HTTP/2 (whose streams all share one connection). Undefined on plain HTTP.
 */
export function connectionOf(req: GatewayRequest): { key: object; socket: TLSSocket } | undefined {
  if (req.httpVersionMajor === 2) {
    const session = (req as Http2ServerRequest).stream?.session;
    const socket = session?.socket as TLSSocket | undefined;
    return session !== undefined && socket !== undefined && typeof socket.getPeerCertificate === 'function' ? { key: session, socket } : undefined;
  }
  const socket = req.socket as TLSSocket | undefined;
  return socket !== undefined && typeof socket.getPeerCertificate === 'function' ? { key: socket, socket } : undefined;
}

export function readPeer(socket: TLSSocket): PeerIdentity {
  const cert = socket.getPeerCertificate(false) as PeerCertificate | Record<string, never> | null;
  if (cert === null || !('fingerprint256' in cert) || typeof cert.fingerprint256 !== 'string') return ABSENT;
  const err = socket.authorizationError as Error | string | null | undefined;
  return Object.freeze({
    present: true,
    authorized: socket.authorized === true,
    authorizationError: err == null ? undefined : typeof err === 'string' ? err : err.message,
    cn: cert.subject?.CN as string | string[] | undefined,
    sans: cert.subjectaltname === undefined ? [] : parseSubjectAltNames(cert.subjectaltname),
    fingerprint256: cert.fingerprint256.toUpperCase(),
    validTo: Date.parse(cert.valid_to),
  });
}

/**
 * Node's `subjectaltname` (`DNS:a.example, email:x@y, URI:spiffe://…, IP Address:10.0.0.1`) as a list. Node quotes an
 * entry that contains a comma or quote as a JSON string (`DNS:"a, b"`), so a crafted name cannot pose as two.
 */
export function parseSubjectAltNames(value: string): string[] {
  const out: string[] = [];
  const re = /([A-Za-z][A-Za-z ]*):("(?:[^"\\]|\\.)*"|[^,]*)(?:, |$)/y;
  let m: RegExpExecArray | null;
  while (re.lastIndex < value.length && (m = re.exec(value)) !== null) {
    let v = m[2]!;
    if (v.startsWith('"')) {
      try {
        v = JSON.parse(v) as string;
      } catch {
        continue;
      }
    }
    const key = sanKey(`${m[1]}:${v}`);
    if (key !== undefined) out.push(key);
  }
  return out;
}

const SAN_TYPES: Record<string, string> = { dns: 'DNS', email: 'email', uri: 'URI', ip: 'IP Address', 'ip address': 'IP Address' };

/**
 * One form for a SAN, from a certificate or from config: the type as Node prints it (`DNS`, `email`, `URI`,
 * `IP Address`; `IP` also accepted in config), DNS names in lower case. Undefined for other types.
 */
export function sanKey(value: string): string | undefined {
  const colon = value.indexOf(':');
  if (colon <= 0) return undefined;
  const type = SAN_TYPES[value.slice(0, colon).trim().toLowerCase()];
  if (type === undefined) return undefined;
  const v = value.slice(colon + 1).trim();
  return `${type}:${type === 'DNS' ? v.toLowerCase() : v}`;
}
