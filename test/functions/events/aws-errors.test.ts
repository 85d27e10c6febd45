import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { awsErrorAnswer, type AwsFailure } from '../../../src/functions/events/index.ts';

function answer(format: '1.0' | '2.0', failure: AwsFailure): [number, string] {
  const a = awsErrorAnswer(format, failure);
  assert.deepEqual(a.headers, [['content-type', 'application/json'], ['content-length', String(a.body.length)]]);
  return [a.status, a.body.toString()];
}

describe('API Gateway\'s own error answers', () => {
  it('REST APIs (1.0): 502 when the function failed, 500 when Lambda refused the invocation, 504 on the integration timeout', () => {
    const internal = '{"message":"Internal server error"}';
    assert.deepEqual(answer('1.0', 'function_error'), [502, internal]);
    assert.deepEqual(answer('1.0', 'malformed'), [502, internal]);
    assert.deepEqual(answer('1.0', 'timeout'), [502, internal]);
    assert.deepEqual(answer('1.0', 'throttled'), [500, internal]);
    assert.deepEqual(answer('1.0', 'unavailable'), [500, internal]);
    assert.deepEqual(answer('1.0', 'integration_timeout'), [504, '{"message":"Endpoint request timed out"}']);
  });

  it('HTTP APIs (2.0): 500 for every Lambda failure, 503 on the integration timeout', () => {
    const internal = '{"message":"Internal Server Error"}';
    for (const failure of ['function_error', 'malformed', 'timeout', 'throttled', 'unavailable'] as const) {
      assert.deepEqual(answer('2.0', failure), [500, internal], failure);
    }
    assert.deepEqual(answer('2.0', 'integration_timeout'), [503, '{"message":"Service Unavailable"}']);
  });
});
