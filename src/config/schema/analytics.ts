import { Type, type Static } from '@sinclair/typebox';
import { Duration, Strict } from './common.ts';

export const AnalyticsShareConfig = Strict({
  enabled: Type.Boolean({
    default: false,
    description: 'Write this node\'s rollups to the root `redis` (required then) so that `GET /analytics?scope=cluster` on any node merges every node\'s. A Redis outage never affects requests: the cluster view then holds this node only, and says so.',
  }),
  interval: Duration('How often the node writes its rollups (the current minute and those it has not written since they changed). The cluster view of other nodes lags by up to this much.', '10s'),
  nodeId: Type.Optional(Type.String({
    minLength: 1,
    maxLength: 200,
    description: 'This node\'s name in the cluster view. Default: `<hostname>:<pid>` (with `:<n>` for a second gateway in the same process); must differ between the nodes sharing the Redis.',
  })),
}, { description: 'Sharing rollups between nodes through Redis: every node writes its minutes, keyed per minute with the node as field, kept 24 hours.' });

export const AnalyticsConfig = Strict({
  enabled: Type.Boolean({
    default: true,
    description: 'Keep per-minute rollups of the last 24 hours in the process (requests, errors by class, latency percentiles, top routes, consumers and statuses), served by the admin API at `GET /analytics`. `false`: no per-request work, the rollups are dropped, and `GET /analytics` answers 404.',
  }),
  maxCellsPerMinute: Type.Integer({
    minimum: 1,
    maximum: 100000,
    default: 200,
    description: 'Most route × consumer × stage combinations one minute keeps apart; the requests of any further combination in that minute are counted in one `(other)` cell (in the totals, in no route). Bounds memory: a cell of a closed minute takes about 0.4 KB, plus 8 bytes per distinct latency bin (bins are 2% wide), about 1 KB for a busy one; a day at this cap, 1,440 × the cap cells.',
  }),
  topN: Type.Integer({
    minimum: 1,
    maximum: 1000,
    default: 10,
    description: 'How many routes, consumers and status codes `GET /analytics` lists under `top` when the request does not say (`?top=`).',
  }),
  share: Type.Optional(AnalyticsShareConfig),
}, {
  description: 'Built-in analytics: per-minute rollups for the last 24 hours, queried with `GET /analytics` on the admin API (see docs/observability.md). Reloads live; turning it off drops the rollups.',
});

export type AnalyticsConfigT = Static<typeof AnalyticsConfig>;
