import { Type, type Static } from '@sinclair/typebox';
import { Duration, Strict } from './common.ts';

const RedisUrl = Type.String({
  pattern: '^rediss?://',
  description: 'redis://[user:password@]host:port[/db], or rediss:// for TLS. Write the password as `${env:NAME}`.',
  errorMessage: 'must be a redis:// or rediss:// URL',
});

export const RedisConfig = Strict({
  url: Type.Optional(RedisUrl),
  cluster: Type.Optional(Type.Array(RedisUrl, { minItems: 1, description: 'Seed nodes of a Redis Cluster (instead of `url`). Keys of one client share a hash tag, so one check is one slot.' })),
  keyPrefix: Type.String({ default: 'expeditor:', description: 'Prefix of every key the gateway writes.' }),
  timeout: Duration('Longest a command may take before the caller\'s failure policy applies (rate limits: `onStoreFailure`). Keep it short: a slow Redis must not slow every request.', '50ms'),
  connectTimeout: Duration('Timeout of one connection attempt; the client reconnects on its own, with back-off.', '2s'),
}, { description: 'The Redis shared by every gateway process and node (rate-limit counters and quotas; the response cache later). A reload that changes it opens new connections; counters live in Redis, so none are lost.' });

export type RedisConfigT = Static<typeof RedisConfig>;
