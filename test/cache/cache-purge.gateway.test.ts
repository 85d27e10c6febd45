import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { TestGateway } from '../helpers/gateway.ts';
import { runCli } from '../cli/run.ts';
import { scrape } from '../observability/support.ts';
import { closeCacheStores } from '../../src/cache/stores.ts';
import { flushAccessLogs } from '../../src/plugins/access-log/plugin.ts';
import { mkdtempSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { until } from '../helpers/redis.ts';
import { cachedGateway, request, scriptedUpstream, type ScriptedUpstream } from './support.ts';

async function purge(gw: TestGateway, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${gw.adminUrl}/cache/purge`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, json: await res.json() as Record<string, unknown> };
}

const status = async (gw: TestGateway, path: string) => String((await request(gw.url, path)).headers['cache-status']);

describe('response cache: purging and visibility', () => {
  let up: ScriptedUpstream;
  let gw: TestGateway;
  before(async () => {
    up = await scriptedUpstream();
    gw = await cachedGateway(up.url);
    for (const [path, tags] of [['/menu/soup', 'menu soups'], ['/menu/salad', 'menu'], ['/drinks/tea', 'drinks'], ['/drinks/tea?size=l', 'drinks']] as const) {
      up.answer.set(path.split('?')[0]!, { headers: { 'cache-control': 'max-age=600', 'surrogate-key': tags } });
    }
  });
  after(async () => {
    await gw.close();
    await up.close();
    await closeCacheStores();
  });

  async function fill() {
    for (const p of ['/menu/soup', '/menu/salad', '/drinks/tea', '/drinks/tea?size=l']) await request(gw.url, p);
    for (const p of ['/menu/soup', '/menu/salad', '/drinks/tea', '/drinks/tea?size=l']) assert.match(await status(gw, p), /hit/, p);
  }

  it('purges by surrogate key', async () => {
    await fill();
    const r = await purge(gw, { tag: 'soups' });
    assert.equal(r.status, 200);
    assert.deepEqual(r.json.purged, { memory: 1 });
    assert.match(await status(gw, '/menu/soup'), /fwd=uri-miss/);
    assert.match(await status(gw, '/menu/salad'), /hit/);
  });

  it('purges by path prefix, every query variant included', async () => {
    await fill();
    const r = await purge(gw, { prefix: '/drinks/' });
    assert.deepEqual(r.json.purged, { memory: 2 });
    assert.match(await status(gw, '/drinks/tea'), /fwd=uri-miss/);
    assert.match(await status(gw, '/drinks/tea?size=l'), /fwd=uri-miss/);
    assert.match(await status(gw, '/menu/salad'), /hit/);
  });

  it('purges one exact key', async () => {
    await fill();
    const host = new URL(gw.url).hostname;
    const r = await purge(gw, { key: `/drinks/tea?size=l ${host} r:cached` });
    assert.deepEqual(r.json.purged, { memory: 1 });
    assert.match(await status(gw, '/drinks/tea?size=l'), /fwd=uri-miss/);
    assert.match(await status(gw, '/drinks/tea'), /hit/);
  });

  it('refuses a purge it cannot understand, with problem+json', async () => {
    for (const body of [{}, { tag: '' }, { tag: 'a', prefix: '/b' }, { prefix: 'no-slash' }, { everything: true }]) {
      const r = await purge(gw, body);
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.equal(r.json.code, 'bad_request');
    }
  });

  it('expeditor cache purge calls the admin API', async () => {
    await fill();
    const r = await runCli(['cache', 'purge', '--tag', 'menu', '--admin', gw.adminUrl!]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'purged 2 stored responses (memory 2)\n');
    assert.match(await status(gw, '/menu/salad'), /fwd=uri-miss/);
    const bad = await runCli(['cache', 'purge', '--admin', gw.adminUrl!]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /exactly one of --key, --prefix, --tag/);
  });

  it('GET /cache shows what the memory store holds; /metrics counts outcomes by route', async () => {
    const stats = await (await fetch(`${gw.adminUrl}/cache`)).json() as { memory: { entries: number; bytes: number; maxBytes: number } };
    assert.ok(stats.memory.entries > 0);
    assert.ok(stats.memory.bytes > 0 && stats.memory.bytes <= stats.memory.maxBytes);
    assert.equal(stats.memory.maxBytes, 128 * 1024 * 1024);
    const m = await scrape(gw.adminUrl!);
    assert.ok(m.value('expeditor_cache_requests_total', { route: 'cached', outcome: 'hit' })! >= 10);
    assert.ok(m.value('expeditor_cache_requests_total', { route: 'cached', outcome: 'stored' })! >= 4);
    assert.equal(m.types.get('expeditor_cache_memory_bytes'), 'gauge');
    assert.equal(m.value('expeditor_cache_memory_entries', { store: 'memory' }), stats.memory.entries);
  });

  it('the access log says what the cache did for each request', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'expeditor-cache-log-'));
    const file = join(dir, 'access.log');
    const own = await cachedGateway(up.url, {}, { plugins: { 'access-log': { destination: { file } } } });
    try {
      up.answer.set('/logged', { headers: { 'cache-control': 'max-age=60' } });
      await request(own.url, '/logged');
      await request(own.url, '/logged');
      await request(own.url, '/logged', { 'cache-control': 'no-cache' });
      let lines: Array<{ path: string; cache?: string }> = [];
      await until(async () => {
        await flushAccessLogs();
        lines = existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l)) : [];
        return lines.length >= 3;
      }, 5000, 'three access-log lines');
      assert.deepEqual(lines.map((l) => l.cache), ['miss', 'hit', 'miss']);
    } finally {
      await own.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
