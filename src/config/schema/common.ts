import { FormatRegistry, Type, type TSchema, type SchemaOptions } from '@sinclair/typebox';
import { DURATION_PATTERN, MAX_DURATION_MS, SIZE_PATTERN, parseDuration } from '../units.ts';

// The pattern says what a duration looks like (editors check it too); the format adds what a pattern cannot: that
// it fits in a timer. Unknown formats are ignored by other JSON Schema tools, so the committed schema stays usable.
FormatRegistry.Set('duration', (v) => parseDuration(v) <= MAX_DURATION_MS);

/** A duration: `"500ms"`, `"30s"`, `"5m"`, `"1h"`, or a number of milliseconds. */
export const Duration = (description: string, def?: string) =>
  Type.Union([
    Type.String({ pattern: DURATION_PATTERN, format: 'duration' }),
    Type.Integer({ minimum: 0, maximum: MAX_DURATION_MS }),
  ], {
    description,
    ...(def === undefined ? {} : { default: def }),
    errorMessage: 'must be a duration such as "500ms", "30s", "5m", "1h" or a number of milliseconds (at most 596h)',
  });

/** A size: `"512b"`, `"16kb"`, `"10mb"`, or a number of bytes. */
export const Size = (description: string, def?: string) =>
  Type.Union([Type.String({ pattern: SIZE_PATTERN }), Type.Integer({ minimum: 0 })], {
    description,
    ...(def === undefined ? {} : { default: def }),
    errorMessage: 'must be a size such as "512b", "16kb", "10mb" or a number of bytes',
  });

/** An object that refuses unknown keys: a typo in config is an error, never silently ignored. */
export const Strict = <T extends Record<string, TSchema>>(props: T, options: SchemaOptions = {}) =>
  Type.Object(props, { additionalProperties: false, ...options });

export const Cidr = Type.String({
  description: 'An IPv4 or IPv6 address or CIDR block, e.g. "10.0.0.0/8", "::1".',
  pattern: '^[0-9a-fA-F:.]+(/\\d{1,3})?$',
  errorMessage: 'must be an IP address or CIDR block such as "10.0.0.0/8" or "::1"',
});

export const NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$';
export const NAME_RULE = 'letters, digits, "_", "." and "-", starting with a letter or digit, at most 128 characters';

/** The name of an entity (route, upstream…), as logs, metrics and the admin API show it. */
export const Name = (description: string) => Type.String({
  pattern: NAME_PATTERN,
  description: `${description} ${NAME_RULE[0]!.toUpperCase()}${NAME_RULE.slice(1)}.`,
  errorMessage: `must be a name of ${NAME_RULE}`,
});

export const Port = (description: string, def: number) => Type.Integer({ minimum: 0, maximum: 65535, default: def, description });

/** A path: must start with "/". */
export const PathString = (options: SchemaOptions = {}) =>
  Type.String({ pattern: '^/', errorMessage: 'must start with "/"', ...options });
