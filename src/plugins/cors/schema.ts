import { Type, type Static } from '@sinclair/typebox';
import { Strict } from '../../config/schema/common.ts';
import { TOKEN_PATTERN } from '../shared/header-rules.ts';

const Token = (description: string) => Type.String({ pattern: TOKEN_PATTERN, description });

export const CorsOrigin = Type.Union([
  Type.String({
    minLength: 1,
    description: 'An exact origin, `scheme://host[:port]` as browsers send it (lower case, no default port, no path), or `"*"` for every origin.',
  }),
  Strict({
    regex: Type.String({
      minLength: 1,
      description: 'A regular expression that must match the whole origin (it is anchored for you), e.g. `https://[a-z0-9-]+\\.example\\.com`.',
    }),
  }, { description: 'Origins matching a regular expression.' }),
], { errorMessage: 'must be an origin such as "https://app.example.com", "*", or { regex: "…" }' });

export const CorsConfig = Strict({
  origins: Type.Array(CorsOrigin, {
    minItems: 1,
    default: ['*'],
    description: 'Origins allowed to read responses: exact origins, `{ regex }` patterns, or `["*"]` alone for every origin (not allowed with `credentials`).',
  }),
  methods: Type.Array(Token('An HTTP method, case-sensitive (`GET`).'), {
    minItems: 1,
    default: ['GET', 'HEAD', 'PUT', 'PATCH', 'POST', 'DELETE'],
    description: 'Methods a preflight may ask for (`Access-Control-Allow-Methods`). A preflight for another method is refused.',
  }),
  allowHeaders: Type.Optional(Type.Array(Token('A request header name.'), {
    description: 'Request headers the browser may send (`Access-Control-Allow-Headers`). Omit to allow the ones the preflight asks for (its `Access-Control-Request-Headers`).',
  })),
  exposeHeaders: Type.Array(Token('A response header name.'), {
    default: [],
    description: 'Response headers, beyond the CORS-safelisted ones, that scripts may read (`Access-Control-Expose-Headers`).',
  }),
  credentials: Type.Boolean({
    default: false,
    description: 'Allow requests with cookies or HTTP authentication (`Access-Control-Allow-Credentials: true`). Requires explicit origins, not `"*"`.',
  }),
  maxAge: Type.Integer({
    minimum: 0,
    default: 600,
    description: 'Seconds a browser may cache a preflight answer (`Access-Control-Max-Age`). Browsers cap it (Chromium at 7200).',
  }),
  preflightContinue: Type.Boolean({
    default: false,
    description: 'Pass preflights on to the backend instead of answering them, adding the CORS headers to its response. Only useful when the route lists `OPTIONS` and the backend answers preflights with a 2xx.',
  }),
}, { description: 'Cross-origin resource sharing: answers preflights and adds CORS headers to responses, following the Fetch standard.' });

export type CorsConfig = Static<typeof CorsConfig>;
