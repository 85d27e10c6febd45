import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ERRORS, GatewayError, PROBLEM_TYPE_BASE, problemBody, type ErrorCode } from '../../src/core/errors.ts';

const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
const codes = Object.keys(ERRORS) as ErrorCode[];

/** `## \`code\`: 404 Title` sections, each with its text up to the next section. */
const sections = new Map<string, { status: number; title: string; body: string }>();
for (const m of doc.matchAll(/^## `([^`]+)`: (\d{3}) (.+)\n([\s\S]*?)(?=^## |(?![\s\S]))/gm)) {
  sections.set(m[1]!, { status: Number(m[2]), title: m[3]!.trim(), body: m[4]! });
}
/** Rows of the summary table: | [`code`](#code) | 404 | Title | */
const rows = new Map<string, { status: number; title: string; anchor: string }>();
for (const m of doc.matchAll(/^\| \[`([^`]+)`\]\(#([^)]+)\) \| (\d{3}) \| (.+) \|$/gm)) {
  rows.set(m[1]!, { anchor: m[2]!, status: Number(m[3]), title: m[4]!.trim() });
}

describe('docs/errors.md and src/core/errors.ts', () => {
  it('documents every error code', () => {
    const missing = codes.filter((c) => !sections.has(c));
    assert.deepEqual(missing, [], `add a section "## \`code\`: status Title" to docs/errors.md for: ${missing.join(', ')}`);
    const unlisted = codes.filter((c) => !rows.has(c));
    assert.deepEqual(unlisted, [], `add a row to the table in docs/errors.md for: ${unlisted.join(', ')}`);
  });

  it('documents no code that does not exist', () => {
    const stale = [...new Set([...sections.keys(), ...rows.keys()])].filter((c) => !Object.hasOwn(ERRORS, c));
    assert.deepEqual(stale, [], `docs/errors.md documents codes that src/core/errors.ts does not have: ${stale.join(', ')}`);
  });

  it('gives each code the status and title the gateway sends', () => {
    for (const code of codes) {
      const { status, title } = ERRORS[code];
      assert.deepEqual({ status: sections.get(code)?.status, title: sections.get(code)?.title }, { status, title }, `section of ${code}`);
      assert.deepEqual({ status: rows.get(code)?.status, title: rows.get(code)?.title }, { status, title }, `table row of ${code}`);
    }
  });

  it('says, for each code, when it happens and what the client should do', () => {
    for (const code of codes) {
      const body = sections.get(code)?.body ?? '';
      assert.match(body, /\*\*When:\*\* \S/, `${code}: no "**When:**"`);
      assert.match(body, /\*\*What the client should do:\*\* \S/, `${code}: no "**What the client should do:**"`);
    }
  });

  it('links each table row to an anchor that exists', () => {
    for (const [code, row] of rows) {
      assert.equal(row.anchor, code);
      assert.ok(doc.includes(`<a id="${code}"></a>`), `no anchor for ${code}`);
    }
  });
});

describe('error codes', () => {
  it('are snake_case, with an HTTP error status and a title', () => {
    for (const code of codes) {
      assert.match(code, /^[a-z]+(_[a-z]+)*$/);
      assert.ok(ERRORS[code].status >= 400 && ERRORS[code].status <= 599, code);
      assert.ok(ERRORS[code].title.length > 0, code);
    }
  });

  it('become a problem+json body with a stable type URI', () => {
    assert.deepEqual(JSON.parse(problemBody('route_not_found', 'no route for /x', 'req-1')), {
      type: `${PROBLEM_TYPE_BASE}route_not_found`, title: 'No route matches this request', status: 404, code: 'route_not_found', detail: 'no route for /x', requestId: 'req-1',
    });
    assert.deepEqual(JSON.parse(problemBody('forbidden', undefined, undefined, 404)), {
      type: `${PROBLEM_TYPE_BASE}forbidden`, title: 'Forbidden', status: 404, code: 'forbidden',
    });
  });

  it('GatewayError carries its code, and the title as the default message', () => {
    const e = new GatewayError('upstream_timeout');
    assert.equal(e.code, 'upstream_timeout');
    assert.equal(e.message, 'Upstream timeout');
  });
});
