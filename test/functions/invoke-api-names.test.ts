import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { functionTarget } from '../../src/functions/invoke-api/function-name.ts';

describe('Invoke API function names', () => {
  it('takes names, partial and full ARNs, with qualifiers that must agree', () => {
    assert.deepEqual(functionTarget('f', undefined), { name: 'f', qualifier: undefined });
    assert.deepEqual(functionTarget('f:prod', undefined), { name: 'f', qualifier: 'prod' });
    assert.deepEqual(functionTarget('123456789012:function:f', '$LATEST'), { name: 'f', qualifier: '$LATEST' });
    assert.deepEqual(functionTarget('arn:aws:lambda:us-east-1:123456789012:function:f:$LATEST', undefined), { name: 'f', qualifier: '$LATEST' });
    assert.equal(typeof functionTarget('f:a', 'b'), 'string');
    assert.equal(typeof functionTarget('arn:aws:s3:::bucket', undefined), 'string');
    assert.equal(typeof functionTarget('a:b:c', undefined), 'string');
  });
});
