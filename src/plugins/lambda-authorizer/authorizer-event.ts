import type { RequestContext } from '../../core/context.ts';
import { FunctionBackend, requestView } from '../../functions/backend.ts';
import { eventV1, eventV2 } from '../../functions/events/index.ts';
import type { LambdaAuthorizerConfigT } from './schema.ts';

/** `arn:aws:execute-api:{region}:{accountId}:{apiId}/{stage}/{METHOD}/{path}`: the concrete path, as API Gateway builds it. */
export function methodArn(config: LambdaAuthorizerConfigT, method: string, path: string): string {
  return `arn:aws:execute-api:${config.region}:${config.accountId}:${config.apiId}/${config.stage}/${method}/${path.startsWith('/') ? path.slice(1) : path}`;
}

export function tokenEvent(token: string, arn: string): Record<string, unknown> {
  return { type: 'TOKEN', authorizationToken: token, methodArn: arn };
}

/**
 * The REQUEST authorizer event: the request as the route's function would see it, without the body. 1.0 adds `type`
 * and `methodArn`; 2.0 adds `version`, `type`, `routeArn` and the `identitySource` values.
 */
export function requestEvent(ctx: RequestContext, config: LambdaAuthorizerConfigT, arn: string, identitySource: readonly string[]): Record<string, unknown> {
  const backend = ctx.route?.backend;
  const fn = backend instanceof FunctionBackend ? backend : undefined;
  const view = requestView(ctx, fn?.routePath ?? ctx.path, fn?.routeMethod, undefined, config.payloadFormat);
  view.stage = config.stage;
  view.accountId = config.accountId;
  view.apiId = config.apiId;
  if (config.payloadFormat === '1.0') {
    const { body: _b, isBase64Encoded: _i, ...rest } = eventV1(view, []);
    return { type: 'REQUEST', methodArn: arn, ...rest };
  }
  const { body: _b, isBase64Encoded: _i, version: _v, ...rest } = eventV2(view);
  return { version: '2.0', type: 'REQUEST', routeArn: arn, identitySource: [...identitySource], ...rest };
}
