import { randomUUID } from 'node:crypto';
import { definePlugin, PluginConfigError, type PluginHandlers } from '../../core/plugin.ts';
import { HOP_BY_HOP } from '../shared/header-rules.ts';
import { RequestIdConfig } from './schema.ts';

/** What a client-sent id must look like to be kept: short, and safe in logs, headers and JSON without escaping. */
export const INCOMING_ID = /^[A-Za-z0-9._:\-]{1,200}$/;

/** The id for a request: the client's, when trusted and well-formed, else a new UUID. */
export function chooseRequestId(incoming: string | undefined, trustIncoming: boolean): string {
  return trustIncoming && incoming !== undefined && INCOMING_ID.test(incoming) ? incoming : randomUUID();
}

const NAME = 'request-id';

export const requestId = definePlugin({
  name: NAME,
  description: 'Gives every request an id (kept from the client or generated), forwards it upstream and echoes it to the client.',
  // Runs before every other plugin, so that anything they log or answer carries the id.
  priority: 100000,
  schema: RequestIdConfig,
  create(config): PluginHandlers {
    const header = config.header.toLowerCase();
    if (HOP_BY_HOP.has(header) || header === 'content-length' || header === 'host') {
      throw new PluginConfigError('header', `"${header}" cannot carry a request id`);
    }
    const { trustIncoming, forward } = config;
    const handlers: PluginHandlers = {
      rewrite(ctx) {
        const id = chooseRequestId(trustIncoming ? ctx.header(header) : undefined, trustIncoming);
        ctx.id = id;
        ctx.vars[NAME] = id;
        if (forward) ctx.requestHeaders.setHeader(header, id);
        else ctx.requestHeaders.removeHeader(header);
      },
    };
    if (config.echo) {
      handlers.response = (ctx) => {
        // A request refused before the phases ran (404, 405, 400, 413) never went through `rewrite`: choose its id
        // now, before the problem body that carries it is rendered.
        if (ctx.vars[NAME] === undefined) {
          ctx.id = chooseRequestId(trustIncoming ? ctx.header(header) : undefined, trustIncoming);
          ctx.vars[NAME] = ctx.id;
        }
        ctx.responseHeaders.setHeader(header, ctx.id);
      };
    }
    return handlers;
  },
});
