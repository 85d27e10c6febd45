/**
 * Payload format 2.0: the event of an API Gateway HTTP API Lambda integration. Header names are lower-cased and
 * repeats joined with ','; Cookie headers become `cookies`; absent or empty parts are left out (never null).
 */
import { isTextMediaType } from './media-types.ts';
import {
  awsRequestTime, bodyString, DEFAULT_ACCOUNT_ID, DEFAULT_API_ID, domainPrefix, eventPathParameters, groupHeaders, lastValue,
  eventQuery, resourcePath, stagedPath,
} from './request-parts.ts';
import type { HttpRequestView } from './types.ts';

/** `requestContext.authorizer` of 2.0: the 1.0-shaped authorizer output wrapped by its kind. */
function authorizerV2(req: HttpRequestView): Record<string, unknown> | undefined {
  const a = req.authorizer;
  if (a === undefined) return undefined;
  switch (req.authorizerKind ?? 'lambda') {
    case 'jwt': return { jwt: { claims: a.claims ?? {}, scopes: a.scopes ?? null } };
    case 'iam': return { iam: a };
    default: return { lambda: a };
  }
}

/** Every cookie of every Cookie header, split on ';' and trimmed. */
function splitCookies(values: readonly string[]): string[] {
  const cookies: string[] = [];
  for (const value of values) {
    for (const part of value.split(';')) {
      const cookie = part.trim();
      if (cookie !== '') cookies.push(cookie);
    }
  }
  return cookies;
}

/** The 2.0 event. The body is sent as text for text types (isTextMediaType), base64-encoded otherwise. */
export function eventV2(req: HttpRequestView): Record<string, unknown> {
  const groups = groupHeaders(req.rawHeaders);
  const headers: Record<string, string> = {};
  let cookies: string[] | undefined;
  for (const [lower, { values }] of groups) {
    if (lower === 'cookie') cookies = splitCookies(values);
    else headers[lower] = values.join(',');
  }
  let query: Record<string, string> | undefined;
  for (const [key, values] of eventQuery(req.rawQuery)) (query ??= {})[key] = values.join(',');
  const resource = resourcePath(req.routePath);
  const routeKey = `${req.routeMethod ?? req.method} ${resource}`;
  const path = stagedPath(req.stage, req.rawPath);
  const base64 = !isTextMediaType(lastValue(groups, 'content-type'));
  const body = bodyString(req.body, base64);
  const authorizer = authorizerV2(req);
  const requestContext = {
    accountId: req.accountId ?? DEFAULT_ACCOUNT_ID,
    apiId: req.apiId ?? DEFAULT_API_ID,
    ...(authorizer !== undefined && { authorizer }),
    domainName: req.domainName,
    domainPrefix: domainPrefix(req.domainName),
    http: { method: req.method, path, protocol: req.protocol, sourceIp: req.sourceIp, userAgent: req.userAgent ?? '' },
    requestId: req.requestId,
    routeKey,
    stage: req.stage,
    time: awsRequestTime(req.requestTimeEpoch),
    timeEpoch: req.requestTimeEpoch,
  };
  const event: Record<string, unknown> = { version: '2.0', routeKey, rawPath: path, rawQueryString: req.rawQuery };
  if (cookies !== undefined && cookies.length > 0) event.cookies = cookies;
  if (Object.keys(headers).length > 0) event.headers = headers;
  if (query !== undefined) event.queryStringParameters = query;
  const pathParameters = eventPathParameters(req);
  if (pathParameters !== undefined) event.pathParameters = pathParameters;
  event.requestContext = requestContext;
  if (req.stageVariables !== undefined && Object.keys(req.stageVariables).length > 0) event.stageVariables = req.stageVariables;
  if (body !== undefined) event.body = body;
  event.isBase64Encoded = body !== undefined && base64;
  return event;
}
