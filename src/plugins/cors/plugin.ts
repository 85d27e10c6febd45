import { definePlugin, type PluginHandlers } from '../../core/plugin.ts';
import type { RequestContext } from '../../core/context.ts';
import { compileCorsPolicy, corsDecision, preflightHeaders, preflightReply } from './policy.ts';
import { CorsConfig } from './schema.ts';

/** A CORS preflight (Fetch §3.2.2): OPTIONS with Origin and Access-Control-Request-Method, whatever route it took. */
function isPreflight(ctx: RequestContext): boolean {
  return ctx.method === 'OPTIONS' && ctx.header('access-control-request-method') !== undefined && ctx.header('origin') !== undefined;
}

export const cors = definePlugin({
  name: 'cors',
  description: 'Cross-origin resource sharing: answers preflights and adds CORS headers to responses.',
  // In `rewrite`, so preflights (which never carry credentials) are answered before authentication.
  priority: 2000,
  schema: CorsConfig,
  create(config): PluginHandlers {
    const policy = compileCorsPolicy(config);
    const { exposeHeaders, credentials } = policy;
    return {
      rewrite(ctx) {
        if (policy.preflightContinue || !isPreflight(ctx)) return;
        return preflightReply(policy, ctx.header('origin')!, ctx.header('access-control-request-method')!, ctx.header('access-control-request-headers'));
      },
      response(ctx) {
        const edits = ctx.responseHeaders;
        if (isPreflight(ctx)) {
          // Answered by `rewrite` above, which already carries its headers, unless the backend answers preflights.
          if (!policy.preflightContinue) return;
          const headers = preflightHeaders(policy, ctx.header('origin')!, ctx.header('access-control-request-method')!, ctx.header('access-control-request-headers'));
          for (const name in headers) {
            if (name === 'vary') edits.addHeader(name, headers[name]!);
            else edits.setHeader(name, headers[name]!);
          }
          return;
        }
        // Vary is added, never set: the upstream's own Vary (Accept-Encoding…) must survive. With a per-origin answer,
        // every response varies by Origin, allowed or not, or a cache would hand one origin's answer to another.
        if (!policy.anyOrigin) edits.addHeader('vary', 'Origin');
        const allowOrigin = corsDecision(policy, ctx.header('origin'));
        if (allowOrigin === undefined) return;
        edits.setHeader('access-control-allow-origin', allowOrigin);
        if (credentials) edits.setHeader('access-control-allow-credentials', 'true');
        if (exposeHeaders !== undefined) edits.setHeader('access-control-expose-headers', exposeHeaders);
      },
    };
  },
});
