import { definePlugin, PluginConfigError, type PluginHandlers } from '../../core/plugin.ts';
import type { Reply } from '../../core/reply.ts';
import { problem } from '../../core/reply.ts';
import { compileBlockList, isAddressAllowed } from './cidr.ts';
import { IpRestrictionConfig } from './schema.ts';

export const ipRestriction = definePlugin({
  name: 'ip-restriction',
  description: 'Allows or denies clients by IP address.',
  // First in `authenticate`: refusing an address is cheaper than checking its credentials.
  priority: 3000,
  schema: IpRestrictionConfig,
  create(config): PluginHandlers {
    if (config.allow.length === 0 && config.deny.length === 0) {
      throw new PluginConfigError('allow', 'list addresses in allow, deny, or both: with both empty the plugin does nothing');
    }
    const allow = config.allow.length === 0 ? undefined : compileBlockList('allow', config.allow);
    const deny = config.deny.length === 0 ? undefined : compileBlockList('deny', config.deny);
    const denied: Reply = Object.freeze({ ...problem('forbidden', config.message), status: config.status });
    return {
      authenticate(ctx) {
        return isAddressAllowed(ctx.clientIp, allow, deny) ? undefined : denied;
      },
    };
  },
});
