import { DefaultErrorFunction, ValueErrorType, type ErrorFunctionParameter } from '@sinclair/typebox/errors';

/**
 * Schema errors in the words of the config file rather than of JSON Schema: `must be an integer, not "abc"` instead
 * of `Expected integer`. A schema may say it better itself with `errorMessage` (durations, sizes, unions of shapes),
 * which editors show too (VS Code reads the same keyword).
 */
export function schemaMessage(param: ErrorFunctionParameter): string {
  const s = param.schema as Record<string, unknown>;
  if (typeof s.errorMessage === 'string') return s.errorMessage;
  const not = `, not ${shown(param.value)}`;
  switch (param.errorType) {
    case ValueErrorType.String: return `must be a string${not}`;
    case ValueErrorType.Integer: return `must be an integer${not}`;
    case ValueErrorType.Number: return `must be a number${not}`;
    case ValueErrorType.Boolean: return `must be true or false${not}`;
    case ValueErrorType.Array: return `must be a list${not}`;
    case ValueErrorType.Object: return `must be an object (key: value)${not}`;
    case ValueErrorType.Literal: return `must be ${JSON.stringify(s.const)}${not}`;
    case ValueErrorType.ArrayMinItems: return `must have at least ${plural(Number(s.minItems), 'item')}`;
    case ValueErrorType.ArrayMaxItems: return `must have at most ${plural(Number(s.maxItems), 'item')}`;
    case ValueErrorType.ArrayUniqueItems: return 'must not repeat an item';
    case ValueErrorType.IntegerMinimum: case ValueErrorType.NumberMinimum: return `must be at least ${String(s.minimum)}${not}`;
    case ValueErrorType.IntegerMaximum: case ValueErrorType.NumberMaximum: return `must be at most ${String(s.maximum)}${not}`;
    case ValueErrorType.StringMinLength: return `must be at least ${plural(Number(s.minLength), 'character')} long`;
    case ValueErrorType.StringMaxLength: return `must be at most ${plural(Number(s.maxLength), 'character')} long`;
    case ValueErrorType.StringPattern: return `must match the pattern ${String(s.pattern)}${not}`;
    case ValueErrorType.StringFormat: case ValueErrorType.StringFormatUnknown: return `is not a valid ${String(s.format)}`;
    case ValueErrorType.ObjectAdditionalProperties: return 'unknown key';
    case ValueErrorType.ObjectRequiredProperty: return 'is required';
    case ValueErrorType.Union: {
      const options = Array.isArray(s.anyOf) ? (s.anyOf as Array<Record<string, unknown>>) : [];
      if (options.length > 0 && options.every((o) => 'const' in o)) {
        return `must be one of ${options.map((o) => JSON.stringify(o.const)).join(', ')}${not}`;
      }
      return `does not have any of the allowed forms${not}`;
    }
    default: return DefaultErrorFunction(param);
  }
}

function shown(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'missing';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 37)}...` : v);
  return String(v);
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
