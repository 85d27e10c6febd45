import { definePlugin, type PluginHandlers } from '../../core/plugin.ts';
import type { Consumer } from '../../identity/types.ts';
import { ABSENT, credentialLabel, invalid, type AuthResult, type Authenticator } from '../../identity/types.ts';
import { connectionOf, readPeer, sanKey, type PeerIdentity } from './certificate.ts';
import { MtlsAuthConfig, type MtlsMatchT } from './schema.ts';

interface Mapping {
  readonly consumer: Consumer;
  readonly credentialId: string;
  readonly revoked: boolean;
}

/** Two consumers claim the same name or fingerprint: mapping it to either would be a guess. */
const AMBIGUOUS = Symbol('ambiguous');
type Table = Map<string, Mapping | typeof AMBIGUOUS>;

export const mtlsAuth = definePlugin({
  name: 'mtls-auth',
  description: 'Authenticates requests by TLS client certificate (verified by the listener against `listen.tls.clientCa`), mapped to consumers by fingerprint, SAN or subject CN.',
  // First of the authentication methods: the certificate is known from the handshake, before any header is read.
  priority: 1600,
  kind: 'authentication',
  schema: MtlsAuthConfig,
  create(config, scope): PluginHandlers {
    const tables: Record<MtlsMatchT, Table> = { fingerprint256: new Map(), san: new Map(), subject: new Map() };
    const put = (table: Table, key: string, m: Mapping) => {
      const prev = table.get(key);
      if (prev === undefined) table.set(key, m);
      else if (prev !== AMBIGUOUS && prev.consumer !== m.consumer) table.set(key, AMBIGUOUS);
    };
    for (const { consumer, credential, index } of scope.consumers.credentials('mtls')) {
      const m: Mapping = { consumer, credentialId: credentialLabel(credential, consumer.name, index), revoked: credential.revoked === true };
      if (credential.fingerprint256 !== undefined) put(tables.fingerprint256, credential.fingerprint256.toUpperCase(), m);
      const san = credential.san === undefined ? undefined : sanKey(credential.san);
      if (san !== undefined) put(tables.san, san, m);
      if (credential.subject !== undefined) put(tables.subject, credential.subject, m);
    }
    const order = config.consumerBy;

    /** Every mapping the certificate has, in `consumerBy` order. */
    const lookup = (peer: Extract<PeerIdentity, { present: true }>, cn: string | undefined): Array<Mapping | typeof AMBIGUOUS> => {
      const found: Array<Mapping | typeof AMBIGUOUS> = [];
      for (const by of order) {
        const keys = by === 'fingerprint256' ? [peer.fingerprint256] : by === 'san' ? peer.sans : cn === undefined ? [] : [cn];
        for (const k of keys) {
          const m = tables[by].get(k);
          if (m !== undefined) found.push(m);
        }
      }
      return found;
    };

    const decide = (peer: PeerIdentity): AuthResult => {
      if (!peer.present) return ABSENT;
      if (!peer.authorized) return invalid(`certificate not verified (${peer.authorizationError ?? 'unknown reason'})`);
      if (Array.isArray(peer.cn)) return invalid('certificate subject has several CNs');
      const cn = peer.cn as string | undefined;
      const found = lookup(peer, cn);
      // A revoked credential that matches wins over any other match: revoking a pinned fingerprint must refuse
      // that certificate even if its CN still maps.
      if (found.some((m) => m !== AMBIGUOUS && m.revoked)) return invalid('certificate credential revoked');
      const first = found[0];
      if (first === AMBIGUOUS) return invalid('certificate maps to several consumers');
      const subject = cn ?? peer.sans[0] ?? peer.fingerprint256;
      if (first === undefined) {
        if (config.requireConsumer) return invalid('certificate maps to no consumer');
        return { outcome: 'success', identity: Object.freeze({ method: 'mtls-auth', consumer: undefined, subject, scopes: [] }) };
      }
      return { outcome: 'success', identity: Object.freeze({ method: 'mtls-auth', consumer: first.consumer, subject, scopes: [], credentialId: first.credentialId }) };
    };

    // The certificate is fixed for the life of a connection, and so is what it maps to under this config: decide
    // once per connection (a new config is a new instance, with a new cache).
    const cache = new WeakMap<object, { result: AuthResult; validTo: number }>();
    const expired = invalid('certificate expired');

    const authenticator: Authenticator = {
      challenge: `ClientCertificate realm="${scope.auth.realm}"`,
      authenticate(ctx) {
        const conn = connectionOf(ctx.req);
        if (conn === undefined) return ABSENT;
        let entry = cache.get(conn.key);
        if (entry === undefined) {
          const peer = readPeer(conn.socket);
          entry = { result: decide(peer), validTo: peer.present ? peer.validTo : Number.POSITIVE_INFINITY };
          cache.set(conn.key, entry);
        }
        if (entry.result.outcome === 'success' && Date.now() > entry.validTo) return expired;
        return entry.result;
      },
    };
    return { authenticator };
  },
});
