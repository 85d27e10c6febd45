import { Type, type Static } from '@sinclair/typebox';
import { Duration, Strict } from './common.ts';

export const DEFAULT_STORE_URL = 'sqlite:./data/expeditor.db';

export const StoreConfig = Strict({
  url: Type.String({
    pattern: '^(sqlite:.+|postgres(ql)?://.+)$',
    default: DEFAULT_STORE_URL,
    description: 'Where deployments, stages, the audit log and admin-created entities live. `sqlite:PATH` is an embedded SQLite file (a relative path is from the config file\'s directory; its directory is created); `postgres://user:password@host:5432/db` is a PostgreSQL database, for several gateway nodes. Write the password as `${env:NAME}`. The environment variable `EXPEDITOR_STORE_URL`, when set, replaces this (a relative SQLite path in it is from the working directory). See docs/deployments.md.',
    errorMessage: 'must be a sqlite:PATH or postgres:// URL',
  }),
  busyTimeout: Duration('SQLite: how long a write waits for another process that is writing the same file before it fails.', '5s'),
  poolSize: Type.Integer({ minimum: 1, maximum: 100, default: 10, description: 'PostgreSQL: most connections this process opens.' }),
  connectTimeout: Duration('PostgreSQL: timeout of one connection attempt.', '5s'),
}, { description: 'The state store (read at start; a change needs a restart). SQLite by default; PostgreSQL when several nodes share state.' });

export type StoreConfigT = Static<typeof StoreConfig>;
