import { Type, type Static } from '@sinclair/typebox';
import { Duration, Size, Strict } from '../../config/schema/common.ts';
import { TOKEN_PATTERN } from '../shared/header-rules.ts';
import { DEFAULT_FIELDS, FIELD_NAMES } from './fields.ts';

const HeaderNames = (description: string) => Type.Array(
  Type.String({ pattern: TOKEN_PATTERN, errorMessage: 'must be a header name' }),
  { default: [], uniqueItems: true, description },
);

const Rotate = Strict({
  size: Type.Optional(Size('Start a new file once the current one reaches this size (`100mb`).')),
  interval: Type.Optional(Type.Union([
    Type.Literal('hourly'),
    Type.Literal('daily'),
    Duration('a duration'),
  ], { description: 'Start a new file every hour or day (`hourly`, `daily`, on the hour or at local midnight), or every given duration (`30m`).' })),
  keep: Type.Optional(Type.Integer({ minimum: 1, description: 'Rotated files to keep besides the current one; older ones are deleted. Omit to keep them all.' })),
}, { description: 'Rotation: by size, by time, or both (whichever comes first). Files are numbered: `access.log` is written as `access.1.log`, `access.2.log`…' });

export const FileDestination = Strict({
  file: Type.String({ minLength: 1, description: 'Path of the log file (relative to the working directory). Its directory is created if needed.' }),
  rotate: Type.Optional(Rotate),
}, { description: 'Append to a file, optionally rotated.' });

export const AccessLogConfig = Strict({
  enabled: Type.Boolean({
    default: true,
    description: 'Write access-log lines. `false` on a route turns the global access log off for that route.',
  }),
  destination: Type.Union([Type.Literal('stdout'), Type.Literal('stderr'), FileDestination], {
    default: 'stdout',
    description: 'Where lines go: `stdout`, `stderr`, or `{ file, rotate }`. Writes are asynchronous and buffered; they never hold a request up.',
  }),
  fields: Type.Array(Type.Union(FIELD_NAMES.map((f) => Type.Literal(f))), {
    default: [...DEFAULT_FIELDS],
    uniqueItems: true,
    description: `Fields each line carries (see docs/access-log.md). Default: ${DEFAULT_FIELDS.join(', ')}.`,
  }),
  sampling: Type.Number({
    minimum: 0,
    maximum: 1,
    default: 1,
    description: 'Fraction (0 to 1) of successful requests logged, chosen at random. Errors (status 400 and above, a gateway error code, no response, or a client that went away) are always logged.',
  }),
  headers: HeaderNames('Request headers to log, under `headers` (any case). Authorization, Proxy-Authorization, Cookie, Set-Cookie, API key headers, the route\'s secret headers and `redact.headers` are written `[REDACTED]`; a Referer has its secret query parameters redacted.'),
  redact: Strict({
    query: Type.Array(Type.String({ minLength: 1 }), {
      default: [],
      uniqueItems: true,
      description: 'Query parameters whose values are written `[REDACTED]` (any case), besides the built-in list and those the route\'s authentication plugins read.',
    }),
    headers: HeaderNames('Request headers written `[REDACTED]` when `headers` lists them, besides the built-in list and the route\'s secret headers.'),
  }, { default: {}, description: 'Secrets to redact beyond the built-in ones.' }),
}, { description: 'Writes one JSON line per request: who, what, where to, how long, and the outcome. Secrets are redacted; bodies are never logged.' });

export type AccessLogConfigT = Static<typeof AccessLogConfig>;
export type FileDestinationT = Static<typeof FileDestination>;
