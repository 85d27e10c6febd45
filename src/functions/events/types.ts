/**
 * The inputs and outputs of the event mapping (src/functions/events/): what the gateway knows about an HTTP request,
 * decoupled from its internals, and the HTTP answer a function's result maps to. Everything here is plain data so
 * the mapping functions stay pure (no I/O, no RequestContext).
 */

/** What the gateway knows about the HTTP request, decoupled from its internals. */
export interface HttpRequestView {
  method: string;
  /**
   * As sent by the client, still percent-encoded, without the query. When stages get a path prefix, the caller strips
   * it: payload 1.0 `requestContext.path` and payload 2.0 `rawPath` put `/{stage}` back for a stage other than `$default`.
   */
  rawPath: string;
  /** Without '?', '' when none. */
  rawQuery: string;
  /** [name, value, name, value…] in client casing and order (Node's req.rawHeaders); HTTP/2 pseudo-headers are ignored. */
  rawHeaders: readonly string[];
  /** undefined: no body. An empty body is treated as none (`null` in 1.0, left out in 2.0), as API Gateway does. */
  body: Buffer | undefined;
  sourceIp: string;
  userAgent?: string;
  /** The Expeditor route's path pattern: '/items/:id', '/static/*', '/menu'. */
  routePath: string;
  routeName: string;
  /** The route's method for the 2.0 `routeKey` ('ANY' for a route that takes every method); default: `method`. */
  routeMethod?: string;
  /** Decoded values keyed by the pattern's names; the trailing wildcard is '*'. */
  pathParameters: Record<string, string | undefined>;
  /** '$default' until stages exist. */
  stage: string;
  stageVariables?: Record<string, string>;
  requestId: string;
  /** ms since epoch. */
  requestTimeEpoch: number;
  /** Host without port. */
  domainName: string;
  /** 'HTTP/1.1', 'HTTP/2.0'. */
  protocol: string;
  /**
   * What an authorizer/authentication produced, in the payload 1.0 shape (`requestContext.authorizer` as is):
   * `{principalId, ...context}` for a Lambda authorizer, `{claims, scopes}` for JWT, the IAM identity for IAM.
   */
  authorizer?: Record<string, unknown>;
  /** Which kind produced `authorizer`, for payload 2.0's `{lambda}` / `{jwt: {claims, scopes}}` / `{iam}` wrapping. Default: 'lambda'. */
  authorizerKind?: 'lambda' | 'jwt' | 'iam';
  identity?: { apiKey?: string; user?: string; caller?: string };
  /** `requestContext.accountId`; default '123456789012' (the placeholder AWS's own samples and SAM use). */
  accountId?: string;
  /** `requestContext.apiId`; default 'expeditor'. */
  apiId?: string;
}

/** The HTTP answer to send: headers in order, Set-Cookie values each on their own line, Content-Length computed here. */
export interface HttpAnswer { status: number; headers: Array<[string, string]>; body: Buffer }

/** `reason`: why the function's result is malformed (for logs and problem details; never sent with `errors: aws`). */
export type Mapped = { ok: true; answer: HttpAnswer } | { ok: false; reason: string };
