import { TypeCompiler } from '@sinclair/typebox/compiler';
import { DefaultErrorFunction, SetErrorFunction, ValueErrorType } from '@sinclair/typebox/errors';
import { Value } from '@sinclair/typebox/value';
import { isIP } from 'node:net';
import { ConfigSchema, type Config } from './schema/index.ts';
import { UpstreamConfig } from './schema/upstream.ts';
import { Name } from './schema/common.ts';
import { ConfigError, formatPath, pointerToSegments, type ConfigIssue } from './errors.ts';
import type { LoadedConfig } from './load.ts';

// Schemas may carry a friendlier `errorMessage` (durations, sizes, unions): say that instead of "Expected union value".
SetErrorFunction((param) => {
  const custom = (param.schema as { errorMessage?: unknown }).errorMessage;
  if (typeof custom === 'string') return custom;
  if (param.errorType === ValueErrorType.ObjectAdditionalProperties) return 'unknown key';
  return DefaultErrorFunction(param);
});

const checker = TypeCompiler.Compile(ConfigSchema);
const NAME_RE = new RegExp(Name.pattern!);

/**
 * Validates a parsed config: schema (types, unknown keys, formats), then meaning (references, duplicate names,
 * required combinations). Returns the config with defaults applied, never mutating the input. Throws ConfigError
 * listing every issue with its path.
 */
export function validateConfig(input: unknown, lineOf?: LoadedConfig['lineOf']): Config {
  const issues: ConfigIssue[] = [];
  const at = (segments: (string | number)[], message: string) =>
    issues.push({ path: formatPath(segments), message, line: lineOf?.(segments) });

  // Defaults first, on a copy: a field with a default is never "required", and the caller's object is never touched.
  const candidate = Value.Default(ConfigSchema, structuredClone(input ?? {})) as Record<string, unknown>;
  // TypeBox does not descend into records whose value schema has no default of its own.
  const ups = candidate?.upstreams;
  if (ups !== null && typeof ups === 'object') {
    for (const [k, v] of Object.entries(ups)) (ups as Record<string, unknown>)[k] = Value.Default(UpstreamConfig, v);
  }
  if (!checker.Check(candidate)) {
    const seen = new Set<string>();
    for (const e of checker.Errors(candidate)) {
      const segments = pointerToSegments(e.path);
      if (e.type === ValueErrorType.ObjectAdditionalProperties) {
        pushOnce(seen, issues, segments, `unknown key "${segments.at(-1)}"`, lineOf);
        continue;
      }
      if (e.type === ValueErrorType.ObjectRequiredProperty) {
        pushOnce(seen, issues, segments, 'is required', lineOf);
        continue;
      }
      // A union reports its own message and every member's; the union's (custom) message is the useful one.
      if (seen.has(formatPath(segments))) continue;
      if (segments.length > 0 && [...seen].some((p) => formatPath(segments).startsWith(p + '.') || formatPath(segments).startsWith(p + '['))) continue;
      pushOnce(seen, issues, segments, e.message, lineOf);
    }
  }
  const schemaFailed = issues.length > 0;
  const config = candidate as Config;
  try {
    checkMeaning(config, at);
  } catch (err) {
    // A shape the schema already refused can trip the meaning checks; those issues are reported already.
    if (!schemaFailed) throw err;
  }
  if (issues.length > 0) throw new ConfigError(issues);
  return config;
}

type At = (segments: (string | number)[], message: string) => void;

/** Checks the schema cannot express: references, duplicates, combinations. */
function checkMeaning(config: Config, at: At): void {

  const upstreams = config.upstreams ?? {};
  for (const name of Object.keys(upstreams)) {
    if (!NAME_RE.test(name)) at(['upstreams', name], `invalid upstream name "${name}": use letters, digits, "_", "." and "-"`);
  }
  const names = new Map<string, number>();
  (config.routes ?? []).forEach((route, i) => {
    const prev = names.get(route.name);
    if (prev !== undefined) at(['routes', i, 'name'], `duplicate route name "${route.name}" (also routes[${prev}])`);
    else names.set(route.name, i);
    if (route.upstream !== undefined && !Object.hasOwn(upstreams, route.upstream)) {
      at(['routes', i, 'upstream'], `unknown upstream "${route.upstream}"`);
    }
    if (route.upstream === undefined && (route.plugins as Record<string, unknown> | undefined)?.mock === undefined) {
      at(['routes', i], 'needs an "upstream" or a "mock" plugin to answer its requests');
    }
    const hosts = route.match.host === undefined ? [] : Array.isArray(route.match.host) ? route.match.host : [route.match.host];
    hosts.forEach((h, j) => {
      if (!/^(\*\.)?([a-z0-9]([a-z0-9-]*[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]*[a-z0-9])?$/i.test(h)) {
        at(['routes', i, 'match', 'host', ...(Array.isArray(route.match.host) ? [j] : [])], `invalid host pattern "${h}"`);
      }
    });
    for (const field of ['headers', 'query'] as const) {
      for (const [k, v] of Object.entries(route.match[field] ?? {})) {
        if (typeof v === 'object' && 'regex' in v) checkRegex(v.regex, ['routes', i, 'match', field, k, 'regex'], at);
      }
    }
    if (route.rewrite?.regex) checkRegex(route.rewrite.regex.pattern, ['routes', i, 'rewrite', 'regex', 'pattern'], at);
  });

  (config.server?.trustedProxies ?? []).forEach((cidr, i) => {
    if (!validCidr(cidr)) at(['server', 'trustedProxies', i], `invalid address or CIDR "${cidr}"`);
  });

  const admin = config.admin;
  if (admin && admin.enabled !== false && !isLoopback(admin.host ?? '127.0.0.1') && admin.token === undefined) {
    at(['admin', 'token'], `is required when the admin API listens on a non-loopback address ("${admin.host}")`);
  }
}

function pushOnce(
  seen: Set<string>, issues: ConfigIssue[], segments: (string | number)[], message: string, lineOf?: LoadedConfig['lineOf'],
) {
  const path = formatPath(segments);
  const key = `${path}\0${message}`;
  if (seen.has(key)) return;
  seen.add(key);
  seen.add(path);
  issues.push({ path, message, line: lineOf?.(segments) });
}

function checkRegex(source: string, path: (string | number)[], at: At) {
  try {
    new RegExp(source);
  } catch (err) {
    at(path, `invalid regular expression: ${(err as Error).message}`);
  }
}

export function validCidr(value: string): boolean {
  const [addr, bits, ...rest] = value.split('/');
  if (rest.length > 0 || addr === undefined) return false;
  const family = isIP(addr);
  if (family === 0) return false;
  if (bits === undefined) return true;
  const n = Number(bits);
  return /^\d{1,3}$/.test(bits) && n <= (family === 4 ? 32 : 128);
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}
