import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RetryBudget, RetryPolicy, backoffDelay, isIdempotent, type RetryConfigT } from '../../src/upstream/retry.ts';

describe('RetryBudget', () => {
  it('always allows minInFlight retries, even with no request counted', () => {
    const budget = new RetryBudget(20, 3);
    assert.equal(budget.tryStartRetry(), true);
    assert.equal(budget.tryStartRetry(), true);
    assert.equal(budget.tryStartRetry(), true);
    assert.equal(budget.tryStartRetry(), false);
    budget.retryFinished();
    assert.equal(budget.tryStartRetry(), true, 'a finished retry gives its place back');
    assert.equal(budget.retriesInFlight, 3);
  });

  it('allows at most percent% of the requests in flight beyond the minimum', () => {
    const budget = new RetryBudget(20, 3);
    for (let i = 0; i < 50; i++) budget.requestStarted();
    let granted = 0;
    while (budget.tryStartRetry()) granted++;
    assert.equal(granted, 10, '20% of 50');
    // Fractions count: 20% of 52 is 10.4, so an 11th retry fits (10 < 10.4), a 12th does not.
    budget.requestStarted();
    budget.requestStarted();
    assert.equal(budget.tryStartRetry(), true);
    assert.equal(budget.tryStartRetry(), false);
    // Fewer requests in flight shrink the budget: no new retry until retries fall below 20% of them.
    for (let i = 0; i < 42; i++) budget.requestFinished();
    assert.equal(budget.tryStartRetry(), false);
    for (let i = 0; i < 11; i++) budget.retryFinished();
    assert.equal(budget.tryStartRetry(), true);
  });

  it('allows no retry with a zero budget and zero minimum', () => {
    const budget = new RetryBudget(0, 0);
    for (let i = 0; i < 100; i++) budget.requestStarted();
    assert.equal(budget.tryStartRetry(), false);
  });

  it('throws on a finish without a start', () => {
    const budget = new RetryBudget(20, 3);
    assert.throws(() => budget.requestFinished(), /without requestStarted/);
    assert.throws(() => budget.retryFinished(), /without tryStartRetry/);
  });
});

describe('backoffDelay', () => {
  it('doubles the jitter window each retry up to the cap', () => {
    const top = () => 0.999_999_9;
    assert.deepEqual([1, 2, 3, 4, 5, 6, 50, 1e6].map((n) => backoffDelay(n, 25, 250, top)), [25, 50, 100, 200, 250, 250, 250, 250]);
    assert.deepEqual([1, 2, 5, 50].map((n) => backoffDelay(n, 25, 250, () => 0)), [0, 0, 0, 0]);
    assert.equal(backoffDelay(3, 0, 250, top), 0);
    assert.equal(backoffDelay(40, 0, 250, top), 0);
  });

  it('spreads samples over the whole window: never above the cap, mean near half of it', () => {
    for (const [n, cap] of [[1, 25], [3, 100], [8, 250]] as const) {
      const samples = 20_000;
      let sum = 0;
      let low = 0;
      let high = 0;
      for (let i = 0; i < samples; i++) {
        const d = backoffDelay(n, 25, 250);
        assert.ok(Number.isInteger(d) && d >= 0 && d <= cap, `retry ${n}: ${d} outside [0, ${cap}]`);
        sum += d;
        if (d < cap * 0.1) low++;
        if (d > cap * 0.9) high++;
      }
      const mean = sum / samples;
      // Standard error of the mean is cap / √12 / √20000 ≈ 0.2% of cap: ±3% of cap is far outside chance.
      assert.ok(Math.abs(mean - cap / 2) <= cap * 0.03, `retry ${n}: mean ${mean.toFixed(2)}, expected ≈ ${cap / 2}`);
      assert.ok(low > samples * 0.05 && high > samples * 0.05, `retry ${n}: jitter does not cover the window`);
    }
  });
});

describe('isIdempotent', () => {
  const table: [string, boolean][] = [
    ['GET', true], ['HEAD', true], ['OPTIONS', true], ['TRACE', true], ['PUT', true], ['DELETE', true],
    ['POST', false], ['PATCH', false], ['CONNECT', false], ['PROPFIND', false], ['get', false], ['', false],
  ];
  for (const [method, expected] of table) {
    it(`${JSON.stringify(method)} → ${expected}`, () => assert.equal(isIdempotent(method), expected));
  }
});

describe('RetryPolicy', () => {
  const config: RetryConfigT = {
    attempts: 3,
    on: ['connect-failure', 'timeout'],
    statuses: [502, 503],
    nonIdempotent: false,
    backoff: { base: '10ms', max: '1s' },
    budgetPercent: 25,
    minRetriesInFlight: 2,
    maxBufferedBody: '64kb',
  };

  it('compiles durations, sizes and lists from the config', () => {
    const policy = new RetryPolicy(config);
    assert.equal(policy.attempts, 3);
    assert.equal(policy.backoffBase, 10);
    assert.equal(policy.backoffMax, 1000);
    assert.equal(policy.maxBufferedBody, 65536);
    assert.equal(policy.delay(3, () => 0.999_999_9), 40);
    assert.equal(policy.retryableStatus(502), true);
    assert.equal(policy.retryableStatus(503), true);
    assert.equal(policy.retryableStatus(504), false);
    assert.equal(policy.retryableStatus(500), false);
    assert.equal(policy.retryableError('connect-failure'), true);
    assert.equal(policy.retryableError('timeout'), true);
    assert.equal(policy.retryableError('reset'), false);
  });

  it('retries non-idempotent methods only when the config says so', () => {
    const strict = new RetryPolicy(config);
    assert.equal(strict.mayRetryMethod('GET'), true);
    assert.equal(strict.mayRetryMethod('POST'), false);
    const lax = new RetryPolicy({ ...config, nonIdempotent: true });
    assert.equal(lax.mayRetryMethod('POST'), true);
    assert.equal(lax.mayRetryMethod('PATCH'), true);
  });

  it('creates a budget sized by the config', () => {
    const budget = new RetryPolicy(config).createBudget();
    for (let i = 0; i < 12; i++) budget.requestStarted();
    let granted = 0;
    while (budget.tryStartRetry()) granted++;
    assert.equal(granted, 3, '25% of 12, above the minimum of 2');
  });

  describe('failureKind', () => {
    const table: [string | undefined, string | undefined][] = [
      ['ECONNREFUSED', 'connect-failure'],
      ['EHOSTUNREACH', 'connect-failure'],
      ['ENETUNREACH', 'connect-failure'],
      ['ENOTFOUND', 'connect-failure'],
      ['EAI_AGAIN', 'connect-failure'],
      ['UND_ERR_CONNECT_TIMEOUT', 'connect-failure'],
      ['ECONNRESET', 'reset'],
      ['EPIPE', 'reset'],
      ['UND_ERR_SOCKET', 'reset'],
      ['UND_ERR_CLOSED', 'reset'],
      ['UND_ERR_HEADERS_TIMEOUT', 'timeout'],
      ['upstream_timeout', 'timeout'],
      ['UND_ERR_BODY_TIMEOUT', undefined],
      ['UND_ERR_ABORTED', undefined],
      ['UND_ERR_RES_CONTENT_LENGTH_MISMATCH', undefined],
      ['upstream_error', undefined],
      ['econnrefused', undefined],
      [undefined, undefined],
    ];
    for (const [code, expected] of table) {
      it(`${code ?? 'no code'} → ${expected ?? 'not retryable'}`, () => assert.equal(RetryPolicy.failureKind(code), expected));
    }

    it('classifies an error object by its code', () => {
      const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
      const gatewayTimeout = Object.assign(new Error('response timeout'), { code: 'upstream_timeout' });
      assert.equal(RetryPolicy.classify(refused), 'connect-failure');
      assert.equal(RetryPolicy.classify(gatewayTimeout), 'timeout');
      assert.equal(RetryPolicy.classify(new Error('no code')), undefined);
      assert.equal(RetryPolicy.classify(Object.assign(new Error('odd'), { code: 42 })), undefined);
      assert.equal(RetryPolicy.classify(null), undefined);
      assert.equal(RetryPolicy.classify('ECONNRESET'), undefined);
    });
  });
});
