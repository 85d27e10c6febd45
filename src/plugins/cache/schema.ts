import { Type, type Static } from '@sinclair/typebox';
import { Duration, Size, Strict } from '../../config/schema/common.ts';
import { TOKEN_PATTERN } from '../shared/header-rules.ts';

const HeaderName = Type.String({ pattern: TOKEN_PATTERN, description: 'A header name (any case).', errorMessage: 'must be a header name' });
const Names = (description: string) => Type.Array(Type.String({ minLength: 1 }), { default: [], description });

export const CacheKeyConfig = Strict({
  query: Type.Union([
    Type.Literal('all'),
    Type.Literal('none'),
    Type.Array(Type.String({ minLength: 1 }), { description: 'Allow-list of parameter names.' }),
  ], {
    default: 'all',
    description: '`all`: every query parameter is in the key, sorted by name (so `?b=1&a=2` and `?a=2&b=1` share an entry). A list: only these parameters are in the key, and the others are not forwarded upstream either (they could change the answer without changing the key). `none`: no query in the key, and none forwarded.',
  }),
  headers: Type.Array(HeaderName, { default: [], description: 'Request headers whose values join the key (besides the Vary the upstream sends), e.g. `accept-language`.' }),
  host: Type.Boolean({ default: true, description: 'The request\'s host is in the key. Turn off only when every host of the route serves the same content.' }),
  consumer: Type.Boolean({ default: false, description: 'The authenticated consumer is in the key: each consumer has its own entries, so responses to authenticated requests can be stored without `public`.' }),
}, { description: 'What the cache key is made of. The normalised path is always in it.' });

export const CacheConfig = Strict({
  store: Type.Union([Type.Literal('memory'), Type.Literal('redis'), Type.Literal('tiered')], {
    default: 'memory',
    description: '`memory`: in this process (an LRU bounded by `cache.memorySize`). `redis`: shared by every gateway node through the root `redis`. `tiered`: a small in-process tier in front of Redis.',
  }),
  key: Type.Optional(CacheKeyConfig),
  defaultTtl: Duration('Freshness for responses with no explicit lifetime (no `Cache-Control: max-age`/`s-maxage`, no `Expires`) that are not heuristically fresh. 0 (the default): such responses are not stored.', '0s'),
  maxObjectSize: Size('Largest body stored; a larger response streams through to the client unstored.', '1mb'),
  statuses: Type.Optional(Type.Array(Type.Integer({ minimum: 200, maximum: 599 }), {
    minItems: 1,
    description: 'Only responses with these statuses are stored (default: any status RFC 9111 allows — the heuristically cacheable ones, and others when the response says so explicitly).',
  })),
  bypass: Type.Optional(Strict({
    headers: Names('The cache is skipped (no lookup, no store) when the request carries any of these headers.'),
    cookies: Names('… or any of these cookies (a session cookie, say).'),
    query: Names('… or any of these query parameters.'),
  }, { description: 'Requests that skip the cache entirely: they go upstream and their responses are not stored.' })),
  honourNoCache: Type.Boolean({
    default: true,
    description: 'A client\'s `Cache-Control: no-cache` (or `max-age=0`, or `Pragma: no-cache`) makes the cache revalidate with the upstream, as RFC 9111 says. `false`: such requests are served from the cache like any other, protecting the upstream from clients that always send them.',
  }),
  storeSetCookie: Type.Boolean({ default: false, description: 'Store responses that carry `Set-Cookie` (and replay the cookie to every client). Off by default: a cookie is usually meant for one client.' }),
  coalesce: Type.Boolean({ default: true, description: 'Concurrent misses for one key send one request upstream; the others wait for its response (at most `coalesceTimeout`) and are served from the cache.' }),
  coalesceTimeout: Duration('Longest a request waits for another\'s response to the same key before going upstream itself.', '5s'),
  surrogateKeyHeaders: Type.Array(HeaderName, {
    default: ['surrogate-key', 'cache-tag'],
    description: 'Response headers that carry surrogate keys (space- or comma-separated tags) to purge by. They are removed before the response reaches the client.',
  }),
  cacheStatus: Type.Boolean({ default: true, description: 'Add the `Cache-Status` header (RFC 9211) to responses: hit, forward reason, whether it was stored or why not.' }),
}, { description: 'A shared HTTP cache (RFC 9111) in front of the upstream: GET responses are stored and served again while fresh, revalidated with conditional requests, served stale when allowed (RFC 5861), and purged by key, path prefix or surrogate key. See docs/caching.md.' });

export type CacheConfigT = Static<typeof CacheConfig>;
