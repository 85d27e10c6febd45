import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { HttpAnswer, HttpRequestView, Mapped } from '../../../src/functions/events/index.ts';

/** A GET /items/42 on route '/items/:id', with every optional part absent; `overrides` replace fields. */
export function view(overrides: Partial<HttpRequestView> = {}): HttpRequestView {
  return {
    method: 'GET',
    rawPath: '/items/42',
    rawQuery: '',
    rawHeaders: ['Host', 'api.example.com:8080', 'User-Agent', 'curl/8.5.0'],
    body: undefined,
    sourceIp: '203.0.113.9',
    userAgent: 'curl/8.5.0',
    routePath: '/items/:id',
    routeName: 'items',
    pathParameters: { id: '42' },
    stage: '$default',
    requestId: 'c6af9ac6-7b61-11e6-9a41-93e8deadbeef',
    requestTimeEpoch: Date.UTC(2015, 3, 9, 12, 34, 56),
    domainName: 'api.example.com',
    protocol: 'HTTP/1.1',
    ...overrides,
  };
}

export function fixture(name: string): Record<string, any> {
  return JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8'));
}

/** The object without the named keys (a shallow copy). */
export function without(obj: Record<string, unknown>, ...keys: string[]): Record<string, unknown> {
  const copy = { ...obj };
  for (const k of keys) delete copy[k];
  return copy;
}

/** [name, value, …] from a map of header lists, in order (to rebuild a sample's raw headers). */
export function rawFrom(multi: Record<string, string[]>): string[] {
  const raw: string[] = [];
  for (const [name, values] of Object.entries(multi)) for (const v of values) raw.push(name, v);
  return raw;
}

export function json(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value), 'utf8');
}

/** The answer of a mapping that must succeed. */
export function ok(m: Mapped): HttpAnswer {
  assert.ok(m.ok, m.ok ? '' : m.reason);
  return m.answer;
}

/** Why a mapping that must fail failed. */
export function reason(m: Mapped): string {
  assert.equal(m.ok, false);
  return m.ok ? '' : m.reason;
}
