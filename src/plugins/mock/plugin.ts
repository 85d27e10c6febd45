import { definePlugin, PluginConfigError, type PluginHandlers } from '../../core/plugin.ts';
import type { Reply } from '../../core/reply.ts';
import { checkHeaderValue, compileHeaderMap, refuseManagedHeader } from '../shared/header-rules.ts';
import { MockConfig } from './schema.ts';

/** Statuses that never carry a body (RFC 9110 §6.4.1). */
const NO_BODY = new Set([204, 205, 304]);

/**
 * Renders the reply once: the handler hands out this same frozen object to every request. Content-Length is not in
 * `headers`: the gateway's renderReply computes it for every reply from the body, and a second one would be a
 * framing error.
 */
export function renderMockReply(config: MockConfig): Reply {
  const headers: Record<string, string | readonly string[]> = {};
  for (const [name, value] of compileHeaderMap('headers', config.headers, (lower, path) => refuseManagedHeader(path, lower))) {
    headers[name] = value;
  }
  let body: Buffer | undefined;
  let derivedType: string | undefined;
  if (config.body !== undefined) {
    if (NO_BODY.has(config.status)) throw new PluginConfigError('body', `a ${config.status} reply has no body`);
    if (typeof config.body === 'string') {
      body = Buffer.from(config.body, 'utf8');
      derivedType = 'text/plain; charset=utf-8';
    } else {
      body = Buffer.from(JSON.stringify(config.body), 'utf8');
      derivedType = 'application/json';
    }
  }
  if (config.contentType !== undefined) {
    if (headers['content-type'] !== undefined) throw new PluginConfigError('contentType', 'content type given twice: in contentType and in headers');
    headers['content-type'] = checkHeaderValue('contentType', config.contentType);
  } else if (derivedType !== undefined && headers['content-type'] === undefined) {
    headers['content-type'] = derivedType;
  }
  return Object.freeze({ status: config.status, headers: Object.freeze(headers), body });
}

export const mock = definePlugin({
  name: 'mock',
  description: 'Answers every request with a fixed reply, without a backend.',
  // The last request phase, so authentication, authorisation and limits still apply to mocked routes.
  priority: -100000,
  schema: MockConfig,
  create(config): PluginHandlers {
    const reply = renderMockReply(config);
    return { cacheLookup: () => reply };
  },
});
