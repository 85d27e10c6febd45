import { Type, type TSchema, type SchemaOptions } from '@sinclair/typebox';
import { DURATION_PATTERN, SIZE_PATTERN } from '../units.ts';

/** A duration: `"500ms"`, `"30s"`, `"5m"`, `"1h"`, or a number of milliseconds. */
export const Duration = (description: string, def?: string) =>
  Type.Union([Type.String({ pattern: DURATION_PATTERN }), Type.Integer({ minimum: 0 })], {
    description,
    default: def,
    errorMessage: 'must be a duration such as "500ms", "30s", "5m" or a number of milliseconds',
  });

/** A size: `"512b"`, `"16kb"`, `"10mb"`, or a number of bytes. */
export const Size = (description: string, def?: string) =>
  Type.Union([Type.String({ pattern: SIZE_PATTERN }), Type.Integer({ minimum: 0 })], {
    description,
    default: def,
    errorMessage: 'must be a size such as "16kb", "10mb" or a number of bytes',
  });

/** An object that refuses unknown keys: a typo in config is an error, never silently ignored. */
export const Strict = <T extends Record<string, TSchema>>(props: T, options: SchemaOptions = {}) =>
  Type.Object(props, { additionalProperties: false, ...options });

export const Cidr = Type.String({
  description: 'An IPv4 or IPv6 address or CIDR block, e.g. "10.0.0.0/8", "::1".',
  pattern: '^[0-9a-fA-F:.]+(/\\d{1,3})?$',
});

export const Name = Type.String({
  pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$',
  description: 'A name: letters, digits, "_", "." and "-", starting with a letter or digit.',
});

export const Port = (description: string, def: number) => Type.Integer({ minimum: 0, maximum: 65535, default: def, description });
