import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { normalizeTarget, type DuplicateSlashes, type EscapedSlashes, type NormalizeOptions, type Normalized } from '../../src/router/normalize.ts';

const MERGE: NormalizeOptions = { duplicateSlashes: 'merge', escapedSlashes: 'keep' };
const KEEP: NormalizeOptions = { duplicateSlashes: 'keep', escapedSlashes: 'keep' };
const REJECT: NormalizeOptions = { duplicateSlashes: 'reject', escapedSlashes: 'reject' };

function ok(target: string, options: NormalizeOptions = MERGE): { path: string; query: string } {
  const r = normalizeTarget(target, options);
  if (!r.ok) assert.fail(`expected ${JSON.stringify(target)} to normalise, got error: ${r.reason}`);
  return { path: r.path, query: r.query };
}

function path(target: string, options: NormalizeOptions = MERGE): string {
  return ok(target, options).path;
}

function err(target: string, options: NormalizeOptions = MERGE): string {
  const r = normalizeTarget(target, options);
  if (r.ok) assert.fail(`expected ${JSON.stringify(target)} to be rejected, got ${JSON.stringify(r)}`);
  return r.reason;
}

describe('normalizeTarget: request-target form (rule 1)', () => {
  it('splits at the first "?" and keeps the query raw', () => {
    assert.deepEqual(ok('/a/b?x=1&y=2'), { path: '/a/b', query: 'x=1&y=2' });
    assert.deepEqual(ok('/a?b?c=?'), { path: '/a', query: 'b?c=?' });
    assert.deepEqual(ok('/?q'), { path: '/', query: 'q' });
  });

  it('keeps %2f, dot-segments, backslashes and bad escapes inside the query untouched', () => {
    assert.deepEqual(ok('/a?p=..%2f..%2fetc/./x&q=%2e%2e'), { path: '/a', query: 'p=..%2f..%2fetc/./x&q=%2e%2e' });
    assert.deepEqual(ok('/a/../b?//x/../y'), { path: '/b', query: '//x/../y' });
    assert.deepEqual(ok('/a?%zz%\\'), { path: '/a', query: '%zz%\\' });
    assert.deepEqual(ok('/%61?%61'), { path: '/a', query: '%61' });
  });

  it('gives query "" for both "/a?" and "/a" (documented: no flag for a bare "?")', () => {
    assert.deepEqual(ok('/a?'), { path: '/a', query: '' });
    assert.deepEqual(ok('/a'), { path: '/a', query: '' });
    assert.deepEqual(ok('/a/./?'), { path: '/a/', query: '' });
  });

  it('rejects targets that are not origin-form', () => {
    for (const t of ['', '*', 'http://x/', 'https://example.com/admin', 'example.com:443', 'a/b', '?x', '%2Fadmin', ' /a']) {
      assert.match(err(t), /origin-form/, t);
    }
  });

  it('rejects "#" in the path and in the query', () => {
    assert.match(err('/a#b'), /"#"/);
    assert.match(err('/a?x#y'), /"#"/);
    assert.match(err('/a%2e#b'), /"#"/); // also on the slow path
  });

  it('rejects control bytes, space, DEL and non-ASCII anywhere', () => {
    const bad = ['\0', '\t', '\r', '\n', '\x1b', '\x1f', ' ', '\x7f', '\x80', 'é', '\u2028', '\uFEFF', '\uD83D\uDE00'];
    for (const b of bad) {
      for (const t of [`/a${b}b`, `/a?x${b}`, `/%2e${b}`, `/a/../${b}`]) {
        assert.match(err(t), /control character|non-ASCII/, JSON.stringify(t));
      }
    }
  });

  it('accepts every other printable ASCII byte in the path as is', () => {
    const printable = "!$&'()*+,-:;=@_~\"<>[]^`{|}ABZabz09";
    assert.equal(path(`/${printable}`), `/${printable}`);
  });
});

describe('normalizeTarget: percent-decoding (rules 2 and 6)', () => {
  it('decodes unreserved characters only', () => {
    assert.equal(path('/%41%5A%61%7A%30%39%2D%2E%5F%7E'), '/AZaz09-._~');
    assert.equal(path('/%41%5a%61%7a%30%39%2d%2e%5f%7e'), '/AZaz09-._~');
    assert.equal(path('/a%62c'), '/abc');
  });

  it('keeps reserved and other escapes, upper-casing their hex digits', () => {
    assert.equal(path('/%2f%3f%23%25%20%3b%40%00%7f'), '/%2F%3F%23%25%20%3B%40%00%7F');
    assert.equal(path('/%2F%3F'), '/%2F%3F');
    assert.equal(path('/a%3Bb%3dc'), '/a%3Bb%3Dc');
  });

  it('does not decode twice (%25 stays, so %252e is not a dot)', () => {
    assert.equal(path('/%252e%252e/admin'), '/%252e%252e/admin');
    assert.equal(path('/a/%25%32%65%25%32%65/b'), '/a/%252e%252e/b');
  });

  it('keeps non-ASCII octets encoded, upper-cased', () => {
    assert.equal(path('/caf%c3%a9'), '/caf%C3%A9');
    assert.equal(path('/%E2%82%AC/%f0%9f%98%80'), '/%E2%82%AC/%F0%9F%98%80');
    assert.equal(path('/%ff'), '/%FF');
  });

  it('rejects malformed escapes', () => {
    for (const t of ['/%', '/a%', '/%4', '/a%4/b', '/%G1', '/%1G', '/%%41', '/%4?x', '/%?x', '/%/a', '/%-1', '/% 1', '/%\u0661\u0662']) {
      assert.match(err(t), /malformed percent-escape|control character|non-ASCII/, t);
    }
    assert.match(err('/%4'), /malformed/);
    assert.match(err('/%G1'), /malformed/);
  });
});

describe('normalizeTarget: slashes (rules 3 and 5)', () => {
  it('never decodes %2F or %5C into separators', () => {
    assert.equal(path('/a%2fb'), '/a%2Fb');
    assert.equal(path('/a%5cb'), '/a%5Cb');
    assert.equal(path('/a%2F..%2Fb'), '/a%2F..%2Fb');
  });

  it('rejects %2F and %5C under escapedSlashes: reject', () => {
    const opts: NormalizeOptions = { duplicateSlashes: 'merge', escapedSlashes: 'reject' };
    for (const t of ['/a%2fb', '/a%2Fb', '/a%5cb', '/a%5C', '/..%2fadmin']) assert.match(err(t, opts), /encoded slash/, t);
    assert.equal(path('/a%2eb?x=%2f', opts), '/a.b');
  });

  it('rejects a raw backslash under every option', () => {
    for (const dup of ['merge', 'reject', 'keep'] as const) {
      for (const esc of ['keep', 'reject'] as const) {
        for (const t of ['/a\\b', '/\\admin', '/a/..\\admin', '/%2e%2e\\x', '/a//\\']) {
          const reason = err(t, { duplicateSlashes: dup, escapedSlashes: esc });
          if (!(dup === 'reject' && t === '/a//\\')) assert.match(reason, /backslash/, `${t} ${dup} ${esc}`);
        }
      }
    }
  });

  it('merge collapses runs of slashes', () => {
    assert.equal(path('//admin'), '/admin');
    assert.equal(path('/a//b///c'), '/a/b/c');
    assert.equal(path('/a//'), '/a/');
    assert.equal(path('//'), '/');
    assert.equal(path('////'), '/');
  });

  it('merge happens before dot-segment removal', () => {
    assert.equal(path('//..//x'), '/x');
    assert.equal(path('/a//..//x'), '/x'); // as `/a/../x`, not `/a/x`
    assert.equal(path('/a/b//../../c'), '/c');
  });

  it('reject refuses any "//"', () => {
    const opts: NormalizeOptions = { duplicateSlashes: 'reject', escapedSlashes: 'keep' };
    for (const t of ['//admin', '/a//b', '/a//', '/a/.//b', '/%2e//x', '//']) assert.match(err(t, opts), /"\/\/"/, t);
    assert.equal(path('/a/b/', opts), '/a/b/');
    assert.equal(path('/a/%2f/b', opts), '/a/%2F/b');
    assert.equal(path('/a?x=//y', opts), '/a');
  });

  it('keep leaves "//" but still removes dot-segments', () => {
    assert.equal(path('//admin', KEEP), '//admin');
    assert.equal(path('/a//b', KEEP), '/a//b');
    assert.equal(path('/a//./b', KEEP), '/a//b');
    assert.equal(path('/a//../b', KEEP), '/a/b'); // `..` removes the empty segment, per RFC 3986 §5.2.4
    assert.equal(path('/.//x', KEEP), '//x');
    assert.equal(path('//..', KEEP), '/');
  });
});

describe('normalizeTarget: dot-segments (rule 4)', () => {
  it('removes "." and ".." segments', () => {
    assert.equal(path('/./x'), '/x');
    assert.equal(path('/a/./b/../c'), '/a/c');
    assert.equal(path('/a/b/c/../../d'), '/a/d');
  });

  it('never climbs above the root', () => {
    assert.equal(path('/..'), '/');
    assert.equal(path('/../a'), '/a');
    assert.equal(path('/../../../../etc/passwd'), '/etc/passwd');
    assert.equal(path('/a/../../b'), '/b');
  });

  it('leaves a trailing slash after a final "." or ".."', () => {
    assert.equal(path('/x/.'), '/x/');
    assert.equal(path('/a/b/..'), '/a/');
    assert.equal(path('/a/..'), '/');
    assert.equal(path('/.'), '/');
    assert.equal(path('/a/.?q'), '/a/');
  });

  it('counts encoded dots (%2e, %2E, mixed) as dot-segments', () => {
    assert.equal(path('/%2e/x'), '/x');
    assert.equal(path('/a/%2e%2e/admin'), '/admin');
    assert.equal(path('/a/%2E%2e/admin'), '/admin');
    assert.equal(path('/a/.%2e/admin'), '/admin');
    assert.equal(path('/a/%2e./admin'), '/admin');
    assert.equal(path('/a/b/%2e%2e'), '/a/');
  });

  it('leaves segments that merely contain dots alone', () => {
    assert.equal(path('/.well-known/x'), '/.well-known/x');
    assert.equal(path('/.../x'), '/.../x');
    assert.equal(path('/..a/b..'), '/..a/b..');
    assert.equal(path('/a/.b/c.'), '/a/.b/c.');
    assert.equal(path('/%2e%2e%2e'), '/...');
  });
});

describe('normalizeTarget: attacks', () => {
  it('/public/..%2fadmin stays one segment', () => {
    assert.equal(path('/public/..%2fadmin'), '/public/..%2Fadmin');
    assert.equal(path('/public/..%2fadmin', KEEP), '/public/..%2Fadmin');
  });

  it('/a/%2E%2E%2fadmin stays under /a', () => {
    assert.equal(path('/a/%2E%2E%2fadmin'), '/a/..%2Fadmin');
  });

  it('/..;/admin is not /admin (";" is not special here)', () => {
    const p = path('/..;/admin');
    assert.equal(p, '/..;/admin');
    assert.notEqual(p, '/admin');
    assert.equal(path('/public/..;/admin'), '/public/..;/admin');
  });

  it('//admin is /admin under merge', () => {
    assert.equal(path('//admin'), '/admin');
    assert.equal(path('///admin/'), '/admin/');
  });

  it('backslash and encoded-backslash variants cannot traverse', () => {
    assert.match(err('/public/..\\admin'), /backslash/);
    assert.equal(path('/public/..%5cadmin'), '/public/..%5Cadmin');
  });

  it('overlong / double encodings stay encoded', () => {
    assert.equal(path('/%c0%ae%c0%ae/admin'), '/%C0%AE%C0%AE/admin');
    assert.equal(path('/%25%32%66admin'), '/%252fadmin');
  });
});

describe('normalizeTarget: fast path and long input', () => {
  it('returns the input string itself when there is nothing to do', () => {
    // String identity is not observable from JS; this pins the value, the benchmark pins the speed.
    for (const t of ['/', '/a', '/a/b/c/', '/api/v1/users/123', '/.well-known/acme', '/a.b/c..d/...', "/~user/it's;v=1,2"]) {
      const r = normalizeTarget(t, MERGE);
      assert.ok(r.ok);
      assert.equal(r.path, t);
      assert.equal(r.query, '');
    }
  });

  it('handles an 8000-character path on both paths', () => {
    const seg = 'abcdefg/';
    const plain = '/' + seg.repeat(1000).slice(0, 7999);
    assert.equal(plain.length, 8000);
    assert.equal(path(plain), plain);

    const climbing = '/' + 'a/'.repeat(1000) + '../'.repeat(2000) + 'x';
    assert.ok(climbing.length >= 8000);
    assert.equal(path(climbing), '/x');

    const encoded = '/' + '%2e%2E/'.repeat(1143) + 'x';
    assert.ok(encoded.length >= 8000);
    assert.equal(path(encoded), '/x');

    const escapes = '/' + '%c3%a9'.repeat(1333) + '?' + 'q'.repeat(100);
    assert.deepEqual(ok(escapes), { path: '/' + '%C3%A9'.repeat(1333), query: 'q'.repeat(100) });
  });
});

// [target, options, expected path | Error(reason pattern), expected query]
type Row = [string, NormalizeOptions, string | RegExp, string?];
const TABLE: Row[] = [
  ['/', MERGE, '/'],
  ['/a/b', MERGE, '/a/b'],
  ['/a/b/', MERGE, '/a/b/'],
  ['/a/b?x', MERGE, '/a/b', 'x'],
  ['/a?', MERGE, '/a', ''],
  ['/a??', MERGE, '/a', '?'],
  ['/a?x=%2f..', MERGE, '/a', 'x=%2f..'],
  ['/./a', MERGE, '/a'],
  ['/a/./b', MERGE, '/a/b'],
  ['/a/../b', MERGE, '/b'],
  ['/a/b/..', MERGE, '/a/'],
  ['/a/b/.', MERGE, '/a/b/'],
  ['/../a', MERGE, '/a'],
  ['/..', MERGE, '/'],
  ['/%2e%2e/%2E%2E/a', MERGE, '/a'],
  ['/a/%2e%2e/admin', MERGE, '/admin'],
  ['/public/..%2fadmin', MERGE, '/public/..%2Fadmin'],
  ['/a/%2E%2E%2fadmin', MERGE, '/a/..%2Fadmin'],
  ['/..;/admin', MERGE, '/..;/admin'],
  ['//admin', MERGE, '/admin'],
  ['//admin', KEEP, '//admin'],
  ['//admin', REJECT, /"\/\/"/],
  ['//..//x', MERGE, '/x'],
  ['//..//x', KEEP, '//x'],
  ['/%7euser', MERGE, '/~user'],
  ['/%c3%a9', MERGE, '/%C3%A9'],
  ['/a%2fb', MERGE, '/a%2Fb'],
  ['/a%2fb', REJECT, /encoded slash/],
  ['/a%5Cb', REJECT, /encoded slash/],
  ['/a\\b', MERGE, /backslash/],
  ['/a\\b', KEEP, /backslash/],
  ['/a#frag', MERGE, /"#"/],
  ['/a\0', MERGE, /control/],
  ['/a b', MERGE, /control/],
  ['/a\x7f', MERGE, /control/],
  ['/%', MERGE, /malformed/],
  ['/%G1', MERGE, /malformed/],
  ['/%4', MERGE, /malformed/],
  ['http://x/', MERGE, /origin-form/],
  ['*', MERGE, /origin-form/],
  ['', MERGE, /origin-form/],
  ['/a//b/../c', KEEP, '/a//c'],
  ['/a//b/../c', MERGE, '/a/c'],
];

describe('normalizeTarget: table', () => {
  for (const [target, options, expected, query] of TABLE) {
    const label = `${JSON.stringify(target)} ${options.duplicateSlashes}/${options.escapedSlashes}`;
    it(label, () => {
      if (expected instanceof RegExp) {
        assert.match(err(target, options), expected);
      } else {
        assert.deepEqual(ok(target, options), { path: expected, query: query ?? '' });
      }
    });
  }
});

// A deliberately naive reference: regexes and the literal RFC 3986 §5.2.4 buffer algorithm.
function reference(target: string, options: NormalizeOptions): Normalized {
  if (!target.startsWith('/')) return { ok: false, reason: 'origin-form' };
  if (/[\x00-\x20\x7f-\uffff]/.test(target)) return { ok: false, reason: 'byte' };
  if (target.includes('#')) return { ok: false, reason: '#' };
  const q = target.indexOf('?');
  let p = q < 0 ? target : target.slice(0, q);
  const query = q < 0 ? '' : target.slice(q + 1);
  if (p.includes('\\')) return { ok: false, reason: 'backslash' };
  if (/%(?![0-9a-fA-F]{2})/.test(p)) return { ok: false, reason: 'escape' };
  if (options.escapedSlashes === 'reject' && /%(2f|5c)/i.test(p)) return { ok: false, reason: 'escaped slash' };
  if (options.duplicateSlashes === 'reject' && p.includes('//')) return { ok: false, reason: '//' };
  p = p.replace(/%([0-9a-fA-F]{2})/g, (_, hex: string) => {
    const ch = String.fromCharCode(parseInt(hex, 16));
    return /[A-Za-z0-9\-._~]/.test(ch) ? ch : '%' + hex.toUpperCase();
  });
  if (options.duplicateSlashes === 'merge') p = p.replace(/\/+/g, '/');
  return { ok: true, path: removeDotSegments(p), query };
}

function removeDotSegments(input: string): string {
  let out = '';
  while (input.length > 0) {
    if (input.startsWith('../')) input = input.slice(3);
    else if (input.startsWith('./')) input = input.slice(2);
    else if (input.startsWith('/./')) input = input.slice(2);
    else if (input === '/.') input = '/';
    else if (input.startsWith('/../') || input === '/..') {
      input = '/' + input.slice(input === '/..' ? 3 : 4);
      out = out.slice(0, Math.max(0, out.lastIndexOf('/')));
    } else if (input === '.' || input === '..') input = '';
    else {
      const next = input.indexOf('/', 1);
      const end = next < 0 ? input.length : next;
      out += input.slice(0, end);
      input = input.slice(end);
    }
  }
  return out;
}

function mulberry32(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('normalizeTarget: properties', () => {
  const PIECES = ['/', '/', '/', '//', '.', '..', '...', 'a', 'b', '%2e', '%2E', '%2f', '%5C', '%41', '%c3', '%25', '%',
    '%4', ';', '?', '\\', '#', ' ', '-', '~', '=', '&', 'x.y'];
  const OPTIONS: NormalizeOptions[] = [];
  for (const duplicateSlashes of ['merge', 'reject', 'keep'] as DuplicateSlashes[]) {
    for (const escapedSlashes of ['keep', 'reject'] as EscapedSlashes[]) OPTIONS.push({ duplicateSlashes, escapedSlashes });
  }
  const random = mulberry32(0x5eed);
  const targets: string[] = [];
  for (let n = 0; n < 4000; n++) {
    let t = '/';
    const count = 1 + Math.floor(random() * 10);
    for (let k = 0; k < count; k++) t += PIECES[Math.floor(random() * PIECES.length)];
    targets.push(t);
  }

  it('agrees with a naive reference implementation', () => {
    for (const options of OPTIONS) {
      for (const t of targets) {
        const got = normalizeTarget(t, options);
        const want = reference(t, options);
        const label = `${JSON.stringify(t)} ${options.duplicateSlashes}/${options.escapedSlashes}`;
        assert.equal(got.ok, want.ok, `${label}: ${JSON.stringify(got)} vs ${JSON.stringify(want)}`);
        if (got.ok && want.ok) assert.deepEqual(got, want, label);
      }
    }
  });

  it('is idempotent and never outputs dot-segments, backslashes or a climb', () => {
    for (const options of OPTIONS) {
      for (const t of targets) {
        const r = normalizeTarget(t, options);
        if (!r.ok) continue;
        const label = `${JSON.stringify(t)} ${options.duplicateSlashes}/${options.escapedSlashes}`;
        assert.ok(r.path.startsWith('/'), label);
        assert.ok(!r.path.includes('\\'), label);
        assert.ok(!/(^|\/)\.\.?(\/|$)/.test(r.path), label);
        if (options.duplicateSlashes !== 'keep') assert.ok(!r.path.includes('//'), label);
        const again = normalizeTarget(r.path, options);
        assert.ok(again.ok, label);
        assert.equal(again.path, r.path, label);
      }
    }
  });
});
