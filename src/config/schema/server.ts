import { Type } from '@sinclair/typebox';
import { Cidr, Duration, Port, Size, Strict } from './common.ts';

export const TlsConfig = Strict({
  cert: Type.String({ description: 'Path to the PEM certificate chain.' }),
  key: Type.String({ description: 'Path to the PEM private key.' }),
  http2: Type.Boolean({ default: true, description: 'Offer HTTP/2 through ALPN (HTTP/1.1 remains available as fallback).' }),
  clientCertificates: Type.Union([Type.Literal('off'), Type.Literal('request'), Type.Literal('require')], {
    default: 'off',
    description: 'TLS client certificates (mutual TLS). `off`: none asked for. `request`: asked for and verified against `clientCa`, but the handshake succeeds without one (or with one that does not verify), so routes without `mtls-auth` still serve such clients; the `mtls-auth` plugin refuses them where configured. `require`: the handshake fails without a certificate that verifies against `clientCa`, on every route.',
  }),
  clientCa: Type.Optional(Type.Union([Type.String({ minLength: 1 }), Type.Array(Type.String({ minLength: 1 }), { minItems: 1 })], {
    description: 'Path (or paths) to PEM files of the CAs that sign client certificates; only certificates chaining to one of them verify. Required unless `clientCertificates` is `off`.',
  })),
}, { description: 'Serve HTTPS on this listener.' });

export const ListenConfig = Strict({
  port: Port('Port of the proxy listener. 0 picks a free port.', 8080),
  host: Type.String({ default: '0.0.0.0', description: 'Address the proxy listener binds to.' }),
  tls: Type.Optional(TlsConfig),
}, { description: 'The public proxy listener.' });

export const AdminTokenConfig = Strict({
  name: Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._:@-]*$', maxLength: 64, description: 'Who uses the token (`ci`, `ada`): the actor recorded in the audit log and the stage history.', errorMessage: 'must be a name of letters, digits and . _ : @ - (starting with a letter or digit), at most 64 characters' }),
  token: Type.String({ minLength: 16, description: 'The bearer token. Use `${env:NAME}` rather than writing it in the file.' }),
  role: Type.Union([Type.Literal('read'), Type.Literal('deploy'), Type.Literal('admin')], {
    description: '`read`: the GET endpoints. `deploy`: also deploying and rolling back stages, validating configs and purging the cache. `admin`: everything (`PUT /config`, draining targets…).',
  }),
}, { description: 'An admin API token with a role.' });

export const AdminConfig = Strict({
  enabled: Type.Boolean({ default: true, description: 'Serve the admin API.' }),
  port: Port('Port of the admin API. 0 picks a free port.', 8081),
  host: Type.String({ default: '127.0.0.1', description: 'Address the admin API binds to. Any non-loopback address requires `token`.' }),
  token: Type.Optional(Type.String({ minLength: 16, description: 'Bearer token the admin API requires (`Authorization: Bearer …`), with the `admin` role; the audit log names it `admin`. This or `tokens` is required when `host` is not a loopback address. Use `${env:NAME}` rather than writing it in the file.' })),
  tokens: Type.Optional(Type.Array(AdminTokenConfig, {
    description: 'Named bearer tokens, each with a role; with `token`, any of them is accepted. A token\'s name is the actor the audit log and the stage history record. Names and token values must be unique.',
  })),
}, { description: 'The admin API (never served on the proxy listener).' });

export const PathsConfig = Strict({
  duplicateSlashes: Type.Union([Type.Literal('merge'), Type.Literal('reject'), Type.Literal('keep')], {
    default: 'merge',
    description: '`merge` turns `//` into `/` before routing and forwarding; `reject` answers 400; `keep` routes and forwards them as sent.',
  }),
  escapedSlashes: Type.Union([Type.Literal('keep'), Type.Literal('reject')], {
    default: 'keep',
    description: 'Encoded `/` and `\\` (`%2F`, `%5C`) are never decoded into separators. `keep` forwards them encoded; `reject` answers 400.',
  }),
}, { description: 'How the request path is normalised before routing. The normalised path is what plugins see and what is forwarded.' });

export const ServerConfig = Strict({
  maxHeaderBytes: Size('Largest request line plus headers; larger is 431.', '16kb'),
  maxHeaders: Type.Integer({ minimum: 1, maximum: 1000, default: 100, description: 'Most request headers; more is 431.' }),
  maxUrlBytes: Size('Longest request target; longer is 414.', '8kb'),
  maxBodyBytes: Size('Largest request body, unless a route overrides it; larger is 413.', '10mb'),
  headersTimeout: Duration('Time a client has to send the request line and headers (slowloris protection); then 408.', '10s'),
  requestTimeout: Duration('Time a client has to send the whole request, body included; then 408. 0 disables.', '5m'),
  keepAliveTimeout: Duration('Idle time after which a client keep-alive connection is closed.', '5s'),
  maxRequestsPerSocket: Type.Integer({ minimum: 0, default: 1000, description: 'Requests served on one client connection before it is closed (0: unlimited).' }),
  maxConnections: Type.Integer({ minimum: 1, default: 10000, description: 'Most simultaneous client connections; further ones are refused.' }),
  shutdownGrace: Duration('On SIGTERM, time in-flight requests get to finish before the process exits.', '30s'),
  trustedProxies: Type.Array(Cidr, {
    default: [],
    description: 'Peers whose `X-Forwarded-*` and `Forwarded` headers are believed. From any other peer, those headers are removed and replaced.',
  }),
  paths: Type.Optional(PathsConfig),
}, { description: 'Limits and hygiene of the proxy listener. The defaults are safe for an edge.' });
