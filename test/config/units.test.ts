import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_DURATION_MS, parseDuration, parseSize } from '../../src/config/units.ts';

describe('parseDuration', () => {
  it('reads each unit', () => {
    assert.equal(parseDuration('250ms'), 250);
    assert.equal(parseDuration('30s'), 30_000);
    assert.equal(parseDuration('5m'), 300_000);
    assert.equal(parseDuration('1h'), 3_600_000);
  });

  it('takes decimals (rounded to the millisecond), spaces and any case', () => {
    assert.equal(parseDuration('1.5s'), 1500);
    assert.equal(parseDuration('0.0004s'), 0);
    assert.equal(parseDuration('0.0006s'), 1);
    assert.equal(parseDuration(' 2 m '), 120_000);
    assert.equal(parseDuration('10S'), 10_000);
    assert.equal(parseDuration('10MS'), 10);
  });

  it('a number is already milliseconds', () => {
    assert.equal(parseDuration(0), 0);
    assert.equal(parseDuration(1234), 1234);
  });

  it('"m" is minutes and "ms" milliseconds, whichever is tried first', () => {
    assert.equal(parseDuration('1m'), 60_000);
    assert.equal(parseDuration('1ms'), 1);
  });

  it('the longest duration a timer can hold is 596h and a bit', () => {
    assert.equal(MAX_DURATION_MS, 2_147_483_647);
    assert.ok(parseDuration('596h') <= MAX_DURATION_MS);
    assert.ok(parseDuration('597h') > MAX_DURATION_MS);
  });

  for (const bad of ['', '10', 'ms', '1d', '-1s', '1.s', '.5s', '1e3ms', '10 sec', '5s5']) {
    it(`throws for ${JSON.stringify(bad)}`, () => {
      assert.throws(() => parseDuration(bad), { name: 'TypeError', message: `invalid duration "${bad}"` });
    });
  }
});

describe('parseSize', () => {
  it('reads each unit, binary', () => {
    assert.equal(parseSize('512b'), 512);
    assert.equal(parseSize('16kb'), 16 * 1024);
    assert.equal(parseSize('10mb'), 10 * 1024 ** 2);
    assert.equal(parseSize('1gb'), 1024 ** 3);
    assert.equal(parseSize('2k'), 2048);
    assert.equal(parseSize('3m'), 3 * 1024 ** 2);
    assert.equal(parseSize('1g'), 1024 ** 3);
    assert.equal(parseSize('4kib'), 4096);
    assert.equal(parseSize('1mib'), 1024 ** 2);
    assert.equal(parseSize('1gib'), 1024 ** 3);
  });

  it('no unit is bytes; decimals round down; spaces and any case', () => {
    assert.equal(parseSize('1024'), 1024);
    assert.equal(parseSize('1.5kb'), 1536);
    assert.equal(parseSize('0.001kb'), 1);
    assert.equal(parseSize(' 8 KB '), 8192);
  });

  it('a number is already bytes', () => {
    assert.equal(parseSize(0), 0);
    assert.equal(parseSize(65536), 65536);
  });

  for (const bad of ['', 'kb', '1tb', '-1kb', '1.5.2mb', '10 megs', '1e3']) {
    it(`throws for ${JSON.stringify(bad)}`, () => {
      assert.throws(() => parseSize(bad), { name: 'TypeError', message: `invalid size "${bad}"` });
    });
  }
});
