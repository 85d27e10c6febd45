import { test } from 'node:test';
import assert from 'node:assert/strict';
import { varyNames, varySignature } from '../../src/cache/vary.ts';

test('Vary names are lower-cased, deduplicated and sorted', () => {
  assert.deepEqual(varyNames({ vary: ['Accept-Encoding, accept', 'ACCEPT-encoding'] }), ['accept', 'accept-encoding']);
  assert.deepEqual(varyNames({}), []);
});

test('Vary: * among other names is *', () => {
  assert.equal(varyNames({ vary: 'accept, *' }), '*');
});

test('a missing request header selects a different variant than an empty one', () => {
  assert.notEqual(varySignature(['x-tenant'], {}), varySignature(['x-tenant'], { 'x-tenant': '' }));
});

test('the signature has one line per varying header, in the given order', () => {
  assert.equal(varySignature(['accept', 'x-tenant'], { accept: 'text/html', 'x-tenant': 'a' }), 'accept:text/html\nx-tenant:a');
});

test('whitespace in values is collapsed and trimmed', () => {
  assert.equal(varySignature(['user-agent'], { 'user-agent': '  Mozilla/5.0   (X11)  ' }), 'user-agent:Mozilla/5.0 (X11)');
});

test('Accept-Encoding is compared as an unordered, case-insensitive set', () => {
  const sig = (v: string | string[]) => varySignature(['accept-encoding'], { 'accept-encoding': v });
  assert.equal(sig('gzip, br'), sig('BR,gzip'));
  assert.equal(sig(['br', 'gzip ;q=0.5']), sig('gzip;q=0.5, br, br'));
  assert.notEqual(sig('gzip'), sig('gzip, br'));
});

test('Accept-Language is case-insensitive but keeps its order (it can express preference)', () => {
  const sig = (v: string) => varySignature(['accept-language'], { 'accept-language': v });
  assert.equal(sig('en-US, fr ; q=0.8'), sig('en-us,FR;q=0.8'));
  assert.notEqual(sig('en, fr'), sig('fr, en'));
});

test('Accept keeps the case of its members and only loses spacing', () => {
  const sig = (v: string) => varySignature(['accept'], { accept: v });
  assert.equal(sig('text/html; level=1, */*'), sig('text/html;level=1,*/*'));
  assert.notEqual(sig('text/html; charset=A'), sig('text/html; charset=a'));
});

test('other headers are case-sensitive', () => {
  assert.notEqual(varySignature(['x-tenant'], { 'x-tenant': 'Acme' }), varySignature(['x-tenant'], { 'x-tenant': 'acme' }));
});
