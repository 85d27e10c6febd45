import { type Static } from '@sinclair/typebox';
import { Duration, Size, Strict } from './common.ts';

export const CacheSettings = Strict({
  memorySize: Size('Budget of the in-process response cache (`store: memory`), shared by every route; least recently used responses go first when it is full. A reload that changes it resizes the cache without emptying it.', '128mb'),
  tierMemorySize: Size('Budget of the in-process tier in front of Redis (`store: tiered`).', '32mb'),
  tierMemoryHold: Duration('Longest a response stays in the in-process tier of `store: tiered`. Purges and invalidations on any node reach every memory tier at once over Redis pub/sub; this bounds how long a copy can outlive one whose message was lost (Redis down at the time).', '10s'),
  redisTimeout: Duration('Longest a cache command to Redis may take; a lookup that takes longer is a miss, a store is dropped.', '250ms'),
}, { description: 'Response cache storage shared by every route\'s `cache` plugin (see docs/caching.md). Redis stores use the root `redis` settings.' });

export type CacheSettingsT = Static<typeof CacheSettings>;
