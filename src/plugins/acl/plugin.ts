import { definePlugin, PluginConfigError, type PluginHandlers } from '../../core/plugin.ts';
import { problem, type Reply } from '../../core/reply.ts';
import type { Identity } from '../../identity/types.ts';
import { AclConfig } from './schema.ts';

export const acl = definePlugin({
  name: 'acl',
  description: 'Authorizes authenticated requests: consumer and group allow/deny lists, and required token scopes.',
  // The first authorize-phase plugin: nothing else should spend work on a request that is not allowed.
  priority: 950,
  schema: AclConfig,
  create(config, scope): PluginHandlers {
    const { allowGroups, allowConsumers, denyGroups, denyConsumers, scopes } = config;
    if (allowGroups.length + allowConsumers.length + denyGroups.length + denyConsumers.length + scopes.length === 0) {
      throw new PluginConfigError('allowGroups', 'list groups, consumers or scopes to allow or deny: with every list empty the plugin does nothing');
    }
    allowConsumers.forEach((name, i) => {
      if (scope.consumers.byName(name) === undefined) throw new PluginConfigError(`allowConsumers[${i}]`, `unknown consumer "${name}"`);
    });
    denyConsumers.forEach((name, i) => {
      if (scope.consumers.byName(name) === undefined) throw new PluginConfigError(`denyConsumers[${i}]`, `unknown consumer "${name}"`);
    });
    const allowAll = allowGroups.length === 0 && allowConsumers.length === 0;
    const allowedNames = new Set(allowConsumers);
    const deniedNames = new Set(denyConsumers);
    const forbidden: Reply = Object.freeze(problem('forbidden', config.message));
    // RFC 6750 §3.1: a token without the scope the resource needs is 403 with error="insufficient_scope".
    const insufficientScope: Reply = Object.freeze(problem('forbidden', config.message, {
      'www-authenticate': `Bearer realm="${scope.auth.realm}", error="insufficient_scope", scope="${scopes.join(' ')}"`,
    }));
    const unauthenticated: Reply = Object.freeze(problem('unauthorized', 'authentication required'));
    const hasScopes = (identity: Identity): boolean => {
      if (scopes.length === 0) return true;
      // Both lists are a few items: a scan beats building a Set per request.
      const granted = identity.scopes;
      return config.scopesMode === 'all' ? scopes.every((s) => granted.includes(s)) : scopes.some((s) => granted.includes(s));
    };

    return {
      authorize(ctx) {
        const identity = ctx.identity;
        if (identity === undefined) return unauthenticated;
        const c = identity.consumer;
        if (c !== undefined && (deniedNames.has(c.name) || denyGroups.some((g) => c.groupSet.has(g)))) return forbidden;
        if (!allowAll && (c === undefined || !(allowedNames.has(c.name) || allowGroups.some((g) => c.groupSet.has(g))))) return forbidden;
        if (!hasScopes(identity)) return insufficientScope;
        return undefined;
      },
    };
  },
});
