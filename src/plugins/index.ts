import type { PluginDefinition } from '../core/plugin.ts';
import { cors } from './cors/plugin.ts';
import { headers } from './headers/plugin.ts';
import { ipRestriction } from './ip-restriction/plugin.ts';
import { mock } from './mock/plugin.ts';
import { requestId } from './request-id/plugin.ts';
import { keyAuth } from './key-auth/plugin.ts';
import { basicAuth } from './basic-auth/plugin.ts';
import { hmacAuth } from './hmac-auth/plugin.ts';
import { jwt } from './jwt/plugin.ts';
import { oauth2Introspection } from './oauth2-introspection/plugin.ts';
import { lambdaAuthorizer } from './lambda-authorizer/plugin.ts';
import { awsSigv4 } from './aws-sigv4/plugin.ts';
import { mtlsAuth } from './mtls-auth/plugin.ts';
import { acl } from './acl/plugin.ts';
import { accessLog } from './access-log/plugin.ts';
import { rateLimit } from './rate-limit/plugin.ts';
import { quota } from './quota/plugin.ts';
import { cache } from './cache/plugin.ts';

/** Every plugin the gateway ships, by name. The config schema's `plugins` objects are generated from this list. */
export const PLUGINS: readonly PluginDefinition[] = [
  requestId, cors, headers, ipRestriction, mock,
  keyAuth, basicAuth, hmacAuth, jwt, oauth2Introspection, awsSigv4, mtlsAuth, lambdaAuthorizer, acl, rateLimit, quota, cache, accessLog,
];

export const pluginByName: ReadonlyMap<string, PluginDefinition> = new Map(PLUGINS.map((p) => [p.name, p]));
