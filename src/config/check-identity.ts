import type { Config } from './schema/index.ts';
import { NAME_PATTERN } from './schema/common.ts';
import { pluginByName } from '../plugins/index.ts';
import { parsePasswordHash } from '../identity/passwords.ts';

type Segments = (string | number)[];
export type At = (segments: Segments, message: string, options?: { unlessInside?: boolean }) => void;

const NAME_RE = new RegExp(NAME_PATTERN);

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Which credential field must be unique across all consumers, per credential type: two consumers can't share a key. */
const UNIQUE_FIELD: Record<string, string> = {
  'key-auth': 'keyHash',
  'basic-auth': 'username',
  'aws-sigv4': 'accessKeyId',
  'hmac-auth': 'username',
};

/**
 * Identity checks the schema cannot express: consumer names and ids, credentials that would make two consumers
 * indistinguishable, references from routes (anonymous consumer, auth order, consumer plugins), and authentication
 * plugins configured where they can't run (consumer scopes).
 */
export function checkIdentity(config: Config, at: At): void {
  const consumers = isObject(config.consumers) ? config.consumers : {};
  const ids = new Map<string, string>();
  const unique = new Map<string, string>();
  let hmacKeys = false;
  for (const [name, c] of Object.entries(consumers)) {
    if (!NAME_RE.test(name)) at(['consumers', name], `invalid consumer name "${name}": use letters, digits, "_", "." and "-", starting with a letter or digit`);
    if (!isObject(c)) continue;
    const id = typeof c.id === 'string' ? c.id : name;
    const other = ids.get(id);
    if (other !== undefined) at(['consumers', name, 'id'], `id "${id}" is also consumer "${other}"'s`);
    else ids.set(id, name);
    const creds = Array.isArray(c.credentials) ? c.credentials : [];
    creds.forEach((cred: unknown, i) => {
      if (!isObject(cred) || typeof cred.type !== 'string') return;
      const field = UNIQUE_FIELD[cred.type];
      if (field !== undefined && typeof cred[field] === 'string') {
        const key = `${cred.type}\u0000${cred[field]}`;
        const prev = unique.get(key);
        if (prev !== undefined) at(['consumers', name, 'credentials', i, field], `the same ${cred.type} ${field} is already ${prev}`);
        else unique.set(key, `consumers.${name}.credentials[${i}]`);
      }
      if (cred.type === 'key-auth' && typeof cred.keyHash === 'string' && cred.keyHash.startsWith('hmac-')) hmacKeys = true;
      if (cred.type === 'basic-auth' && typeof cred.passwordHash === 'string') {
        try {
          parsePasswordHash(cred.passwordHash);
        } catch (err) {
          at(['consumers', name, 'credentials', i, 'passwordHash'], (err as Error).message);
        }
      }
      if (cred.type === 'mtls' && cred.subject === undefined && cred.san === undefined && cred.fingerprint256 === undefined) {
        at(['consumers', name, 'credentials', i], 'an mtls credential needs "subject", "san" or "fingerprint256"');
      }
    });
    checkScopedPlugins(c.plugins, ['consumers', name, 'plugins'], at);
  }
  if (hmacKeys && (!isObject(config.auth) || typeof config.auth.keySecret !== 'string')) {
    at(['auth', 'keySecret'], 'is required: some API keys are stored as "hmac-sha256:" hashes');
  }

  const routes = Array.isArray(config.routes) ? config.routes : [];
  const globalPlugins = isObject(config.plugins) ? config.plugins : {};
  checkClientCertificates(config, routes, globalPlugins, at);
  routes.forEach((route, i) => {
    if (!isObject(route)) return;
    const auth = route.auth;
    const routePlugins = isObject(route.plugins) ? route.plugins : {};
    if (isObject(auth)) {
      if (typeof auth.anonymous === 'string' && !Object.hasOwn(consumers, auth.anonymous)) {
        at(['routes', i, 'auth', 'anonymous'], `unknown consumer "${auth.anonymous}"`);
      }
      const order = Array.isArray(auth.order) ? auth.order : [];
      order.forEach((p: unknown, j) => {
        if (typeof p !== 'string') return;
        if (pluginByName.get(p)?.kind !== 'authentication') at(['routes', i, 'auth', 'order', j], `"${p}" is not an authentication plugin`);
        else if (!Object.hasOwn(routePlugins, p) && !Object.hasOwn(globalPlugins, p)) at(['routes', i, 'auth', 'order', j], `plugin "${p}" is not configured on this route or globally`);
      });
    }
    const perConsumer = route.consumerPlugins;
    if (isObject(perConsumer)) {
      for (const [name, plugins] of Object.entries(perConsumer)) {
        if (!Object.hasOwn(consumers, name)) at(['routes', i, 'consumerPlugins', name], `unknown consumer "${name}"`);
        checkScopedPlugins(plugins, ['routes', i, 'consumerPlugins', name], at);
      }
    }
  });
}

/** mtls-auth needs a TLS listener that asks for client certificates, and that needs the CAs to check them with. */
function checkClientCertificates(config: Config, routes: unknown[], globalPlugins: Record<string, unknown>, at: At): void {
  const tls = isObject(config.listen) && isObject(config.listen.tls) ? config.listen.tls : undefined;
  const mode = tls?.clientCertificates ?? 'off';
  if (mode !== 'off' && tls?.clientCa === undefined) {
    at(['listen', 'tls', 'clientCa'], `is required when clientCertificates is "${String(mode)}": the CAs that sign client certificates`);
  }
  if (mode !== 'off') return;
  const why = tls === undefined
    ? 'needs client certificates, but the listener has no TLS: set listen.tls with clientCertificates "request" or "require"'
    : 'needs client certificates, but listen.tls.clientCertificates is "off": set it to "request" or "require"';
  if (Object.hasOwn(globalPlugins, 'mtls-auth')) at(['plugins', 'mtls-auth'], why);
  routes.forEach((route, i) => {
    if (isObject(route) && isObject(route.plugins) && Object.hasOwn(route.plugins, 'mtls-auth')) at(['routes', i, 'plugins', 'mtls-auth'], why);
  });
}

function checkScopedPlugins(plugins: unknown, path: Segments, at: At): void {
  if (!isObject(plugins)) return;
  for (const name of Object.keys(plugins)) {
    if (pluginByName.get(name)?.kind === 'authentication') {
      at([...path, name], `"${name}" authenticates: it runs before the consumer is known, so it can only be set on a route or globally`);
    }
  }
}
