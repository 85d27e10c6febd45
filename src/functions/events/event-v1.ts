/**
 * Payload format 1.0: the event of an API Gateway REST API Lambda proxy integration. Empty maps and an absent body
 * are `null`, as AWS sends them; keys are in AWS's order.
 */
import { mediaTypeMatches } from './media-types.ts';
import {
  awsRequestTime, bodyString, DEFAULT_ACCOUNT_ID, DEFAULT_API_ID, domainPrefix, eventPathParameters, groupHeaders, lastValue,
  eventQuery, resourceId, resourcePath, stagedPath,
} from './request-parts.ts';
import type { HttpRequestView } from './types.ts';

function nonEmpty<T extends object>(map: T): T | null {
  return Object.keys(map).length === 0 ? null : map;
}

/** `requestContext.identity`: what Expeditor cannot know (Cognito, IAM keys) is null, as for an anonymous caller on AWS. */
function identity(req: HttpRequestView): Record<string, unknown> {
  return {
    accessKey: null,
    accountId: null,
    apiKey: req.identity?.apiKey ?? null,
    apiKeyId: null,
    caller: req.identity?.caller ?? null,
    cognitoAuthenticationProvider: null,
    cognitoAuthenticationType: null,
    cognitoIdentityId: null,
    cognitoIdentityPoolId: null,
    principalOrgId: null,
    sourceIp: req.sourceIp,
    user: req.identity?.user ?? null,
    userAgent: req.userAgent ?? null,
    userArn: null,
  };
}

/**
 * The 1.0 event. `binaryMediaTypes` decide whether the body is sent base64-encoded (by the request's Content-Type);
 * otherwise it is sent as UTF-8 text.
 */
export function eventV1(req: HttpRequestView, binaryMediaTypes: readonly string[]): Record<string, unknown> {
  const groups = groupHeaders(req.rawHeaders);
  const headers: Record<string, string> = {};
  const multiValueHeaders: Record<string, string[]> = {};
  for (const { name, values } of groups.values()) {
    headers[name] = values[values.length - 1]!;
    multiValueHeaders[name] = values;
  }
  const query: Record<string, string> = {};
  const multiQuery: Record<string, string[]> = {};
  for (const [key, values] of eventQuery(req.rawQuery)) {
    query[key] = values[values.length - 1]!;
    multiQuery[key] = values;
  }
  const resource = resourcePath(req.routePath);
  const base64 = mediaTypeMatches(lastValue(groups, 'content-type'), binaryMediaTypes);
  const body = bodyString(req.body, base64);
  const requestContext = {
    accountId: req.accountId ?? DEFAULT_ACCOUNT_ID,
    apiId: req.apiId ?? DEFAULT_API_ID,
    ...(req.authorizer !== undefined && { authorizer: req.authorizer }),
    domainName: req.domainName,
    domainPrefix: domainPrefix(req.domainName),
    extendedRequestId: req.requestId,
    httpMethod: req.method,
    identity: identity(req),
    path: stagedPath(req.stage, req.rawPath),
    protocol: req.protocol,
    requestId: req.requestId,
    requestTime: awsRequestTime(req.requestTimeEpoch),
    requestTimeEpoch: req.requestTimeEpoch,
    resourceId: resourceId(req.routeName),
    resourcePath: resource,
    stage: req.stage,
  };
  return {
    resource,
    path: req.rawPath,
    httpMethod: req.method,
    headers: nonEmpty(headers),
    multiValueHeaders: nonEmpty(multiValueHeaders),
    queryStringParameters: nonEmpty(query),
    multiValueQueryStringParameters: nonEmpty(multiQuery),
    pathParameters: eventPathParameters(req) ?? null,
    stageVariables: req.stageVariables === undefined ? null : nonEmpty(req.stageVariables),
    requestContext,
    body: body ?? null,
    isBase64Encoded: body !== undefined && base64,
  };
}
