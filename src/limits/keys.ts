import { createHash } from 'node:crypto';
import type { RequestContext } from '../core/context.ts';
import type { ByT, WhenMissingT } from './schema.ts';

/**
 * Policy keys: which requests share a budget (`by`), and what happens to requests without a value for it
 * (`whenMissing`). A key is compiled once per policy into a function that reads the request; the client key it
 * returns goes, as is, into the storage key `rl:{<policy>:<client key>}:<limit>`.
 */

/** What a request's key came to: the client key (part of the storage key) and its class (for metrics). */
export interface ClientKey {
  readonly value: string;
  readonly cls: string;
}

/** Turns a request into its client key, or undefined when the policy does not apply to it (`whenMissing: skip`). */
export type KeyFunction = (ctx: RequestContext) => ClientKey | undefined;

const SAFE_VALUE = /^[A-Za-z0-9._:@/-]{1,64}$/;

/**
 * A value as it goes into a storage key: as is when short and plain, else a digest. Keys stay bounded whatever a
 * client sends (a 8 KB header value is not an 8 KB Redis key), and cannot contain the braces of the hash tag.
 */
export function keyValue(v: string): string {
  return SAFE_VALUE.test(v) ? v : `#${createHash('sha256').update(v).digest('base64url').slice(0, 22)}`;
}

type PartReader = (ctx: RequestContext) => string | undefined;

/**
 * Compiles `by` and `whenMissing`. `groupOrder` lists the groups the policy has overrides for: a consumer's group
 * for `group` is the first of those it is in, else its first group.
 */
export function compileKey(by: ByT, whenMissing: WhenMissingT, groupOrder: readonly string[] = []): KeyFunction {
  const parts = [...new Set(typeof by === 'string' ? [by] : by)].filter((p) => p !== 'global');
  const cls = parts.length === 0 ? 'global' : parts.join('+');
  if (parts.length === 0) {
    const all: ClientKey = { value: '*', cls };
    return () => all;
  }
  const readers: Array<{ tag: string; read: PartReader }> = parts.map((p) => ({ tag: tagOf(p), read: reader(p, groupOrder) }));
  const fallbackCls = whenMissing === 'ip' ? 'fallback-ip' : 'shared';
  return (ctx) => {
    let value = '';
    let missing = false;
    for (let i = 0; i < readers.length; i++) {
      const r = readers[i]!;
      const v = r.read(ctx);
      if (v === undefined) {
        if (whenMissing === 'skip') return undefined;
        missing = true;
        value += whenMissing === 'ip' ? `${i === 0 ? '' : '|'}${r.tag}~ip=${keyValue(ctx.clientIp)}` : `${i === 0 ? '' : '|'}${r.tag}~`;
      } else {
        value += `${i === 0 ? '' : '|'}${r.tag}=${keyValue(v)}`;
      }
    }
    return { value, cls: missing ? fallbackCls : cls };
  };
}

function tagOf(part: string): string {
  switch (part) {
    case 'route': return 'r';
    case 'consumer': return 'c';
    case 'group': return 'g';
    case 'credential': return 'k';
    case 'ip': return 'i';
    default: return `h.${part.slice('header:'.length).toLowerCase()}`;
  }
}

function reader(part: string, groupOrder: readonly string[]): PartReader {
  switch (part) {
    case 'route': return (ctx) => ctx.route?.name;
    case 'consumer': return (ctx) => ctx.consumer?.id;
    case 'group': return (ctx) => {
      const c = ctx.consumer;
      if (c === undefined) return undefined;
      for (const g of groupOrder) if (c.groupSet.has(g)) return g;
      return c.groups[0];
    };
    // Labels are unique within a consumer, not across consumers: the consumer id makes them so.
    case 'credential': return (ctx) => {
      const id = ctx.identity;
      if (id?.credentialId === undefined) return undefined;
      return id.consumer === undefined ? id.credentialId : `${id.consumer.id}/${id.credentialId}`;
    };
    case 'ip': return (ctx) => ctx.clientIp;
    default: {
      const name = part.slice('header:'.length).toLowerCase();
      return (ctx) => {
        const v = ctx.header(name);
        return v === undefined || v === '' ? undefined : v;
      };
    }
  }
}

/** The client key a consumer has under a policy keyed by `consumer` alone (usage plans; the admin usage report). */
export function consumerKey(consumerId: string): string {
  return `c=${keyValue(consumerId)}`;
}
