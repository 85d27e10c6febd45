import { isAbsolute, resolve } from 'node:path';
import { DEFAULT_STORE_URL, type StoreConfigT } from '../config/schema/store.ts';
import { parseDuration } from '../config/units.ts';
import { StoreError } from './errors.ts';

/** Where a store is and how to reach it, resolved from the `store` settings and the environment. */
export type StoreTarget =
  | { engine: 'sqlite'; file: string; busyTimeoutMs: number }
  | { engine: 'postgres'; url: string; poolSize: number; connectTimeoutMs: number };

export interface StoreOpenOptions {
  /** Directory a relative SQLite path in the config is resolved from: the config file's. Default: the working directory. */
  baseDir?: string;
  /** Where `EXPEDITOR_STORE_URL` is read from. Default: process.env. */
  env?: NodeJS.ProcessEnv;
}

export const STORE_URL_ENV = 'EXPEDITOR_STORE_URL';

/**
 * The target of these settings. `EXPEDITOR_STORE_URL`, when set and not empty, replaces `url`; a relative SQLite
 * path in it is resolved from the working directory (where the command was typed), one in the config file from
 * `baseDir`. Throws `invalid` for a URL of neither form (the variable is not checked by config validation).
 */
export function resolveStoreTarget(settings: Partial<StoreConfigT> | undefined, options: StoreOpenOptions = {}): StoreTarget {
  const fromEnv = (options.env ?? process.env)[STORE_URL_ENV];
  const overridden = fromEnv !== undefined && fromEnv !== '';
  const url = overridden ? fromEnv : (settings?.url ?? DEFAULT_STORE_URL);
  const base = overridden ? process.cwd() : (options.baseDir ?? process.cwd());
  const source = overridden ? STORE_URL_ENV : 'store.url';
  if (url.startsWith('sqlite:')) {
    // sqlite:PATH, or sqlite://PATH as some tools write it (so sqlite:///abs/file.db is absolute).
    const path = url.slice('sqlite:'.length).replace(/^\/\//, '');
    if (path === '') throw new StoreError('invalid', `${source}: "${url}" names no file`);
    return {
      engine: 'sqlite',
      file: isAbsolute(path) ? path : resolve(base, path),
      busyTimeoutMs: parseDuration(settings?.busyTimeout ?? '5s'),
    };
  }
  if (/^postgres(ql)?:\/\/./.test(url)) {
    return {
      engine: 'postgres',
      url,
      poolSize: settings?.poolSize ?? 10,
      connectTimeoutMs: parseDuration(settings?.connectTimeout ?? '5s'),
    };
  }
  throw new StoreError('invalid', `${source}: "${redact(url)}" is neither a sqlite:PATH nor a postgres:// URL`);
}

/** The URL without its password, for messages and logs. */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password === '') return url;
    u.password = '';
    return u.toString();
  } catch {
    return url.replace(/\/\/([^:/@]*):[^@]*@/, '//$1@');
  }
}
