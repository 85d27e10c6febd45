import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parsePolicyAnswer, parseSimpleAnswer, wildcard } from '../../src/plugins/lambda-authorizer/verdict.ts';

const API = 'arn:aws:execute-api:us-east-1:123456789012:abc123';
const answer = (statements: unknown, extra: Record<string, unknown> = {}) => ({ principalId: 'me', policyDocument: { Version: '2012-10-17', Statement: statements }, ...extra });
const verdict = (a: unknown, format: '1.0' | '2.0' = '1.0') => {
  const p = parsePolicyAnswer(a, format);
  assert.ok(p.ok, p.ok ? '' : p.reason);
  return p.verdict;
};

describe('lambda-authorizer IAM policy evaluation', () => {
  it('allows what an Allow statement covers, with * and ? wildcards', () => {
    const v = verdict(answer([{ Effect: 'Allow', Action: 'execute-api:Invoke', Resource: [`${API}/prod/GET/pets/*`, `${API}/*/POST/p?ts`] }]));
    assert.equal(v.allows(`${API}/prod/GET/pets/1`), true);
    assert.equal(v.allows(`${API}/prod/GET/pets/1/toys`), true);
    assert.equal(v.allows(`${API}/prod/GET/owners/1`), false);
    assert.equal(v.allows(`${API}/test/POST/pets`), true);
    assert.equal(v.allows(`${API}/test/POST/pots`), true);
    assert.equal(v.allows(`${API}/test/POST/peets`), false);
  });

  it('an explicit Deny wins over any Allow; no statement is an implicit deny', () => {
    const v = verdict(answer([
      { Effect: 'Allow', Action: 'execute-api:*', Resource: `${API}/*` },
      { Effect: 'Deny', Action: ['execute-api:Invoke'], Resource: `${API}/*/DELETE/*` },
    ]));
    assert.equal(v.allows(`${API}/prod/GET/pets`), true);
    assert.equal(v.allows(`${API}/prod/DELETE/pets/1`), false);
    assert.equal(verdict(answer([])).allows(`${API}/prod/GET/pets`), false);
  });

  it('takes a single Statement object, and ignores statements about other actions', () => {
    const one = verdict(answer({ Effect: 'Allow', Action: '*', Resource: '*' }));
    assert.equal(one.allows(`${API}/prod/GET/x`), true);
    const other = verdict(answer([{ Effect: 'Allow', Action: 'execute-api:ManageConnections', Resource: '*' }]));
    assert.equal(other.allows(`${API}/prod/GET/x`), false);
  });

  it('treats regular-expression characters in a Resource literally', () => {
    const v = verdict(answer([{ Effect: 'Allow', Action: 'execute-api:Invoke', Resource: `${API}/$default/GET/a.b` }]));
    assert.equal(v.allows(`${API}/$default/GET/a.b`), true);
    assert.equal(v.allows(`${API}/$default/GET/axb`), false);
    assert.equal(wildcard('a+(b)').test('a+(b)'), true);
  });

  it('keeps principalId and context; 1.0 context values must be strings, numbers or booleans', () => {
    const v = verdict(answer([], { context: { a: 'x', n: 1, b: true } }));
    assert.equal(v.principalId, 'me');
    assert.deepEqual(v.context, { a: 'x', n: 1, b: true });
    assert.equal(parsePolicyAnswer(answer([], { context: { o: { nested: 1 } } }), '1.0').ok, false);
    assert.equal(parsePolicyAnswer(answer([], { context: { o: { nested: 1 } } }), '2.0').ok, true);
  });

  it('refuses answers that are not policies', () => {
    for (const bad of [null, 'Allow', {}, { principalId: 'x' }, { principalId: 7, policyDocument: { Statement: [] } }, answer([{ Effect: 'Maybe', Action: '*', Resource: '*' }])]) {
      assert.equal(parsePolicyAnswer(bad, '1.0').ok, false, JSON.stringify(bad));
    }
  });

  it('simple responses: isAuthorized must be a boolean', () => {
    const yes = parseSimpleAnswer({ isAuthorized: true, context: { k: 'v' } });
    assert.ok(yes.ok && yes.verdict.allows('any') && yes.verdict.context?.k === 'v');
    const no = parseSimpleAnswer({ isAuthorized: false });
    assert.ok(no.ok && !no.verdict.allows('any'));
    assert.equal(parseSimpleAnswer({ isAuthorized: 'true' }).ok, false);
  });
});
