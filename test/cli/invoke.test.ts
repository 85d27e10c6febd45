import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { runCli, tempDir } from './run.ts';

describe('expeditor invoke', () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let config: string;
  before(async () => {
    tmp = await tempDir();
    await tmp.write('greet.mjs', `
export const handler = async (event, context) => { console.log('greeting', event.name); return { hello: event.name, fn: context.functionName }; };
export const fails = async () => { throw new RangeError('too many'); };
`);
    config = await tmp.write('expeditor.yaml', `functions:
  greet: { handler: greet.handler }
  fails: { handler: greet.fails }
routes: []
`);
  });
  after(() => tmp.remove());

  it('prints the result of one invocation, with the event from a file', async () => {
    const event = await tmp.write('event.json', '{"name":"Ada"}');
    const r = await runCli(['invoke', 'greet', '-c', config, '--event', event, '--tail']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { hello: 'Ada', fn: 'greet' });
    assert.match(r.stderr, /greeting Ada/, 'the log tail');
  });

  it('a function error: its error JSON on stdout, exit 1', async () => {
    const r = await runCli(['invoke', 'fails', '-c', config]);
    assert.equal(r.code, 1);
    const err = JSON.parse(r.stdout) as { errorType: string; errorMessage: string };
    assert.equal(err.errorType, 'RangeError');
    assert.equal(err.errorMessage, 'too many');
  });

  it('refuses an unknown function (with a suggestion) and an event that is not JSON: exit 2', async () => {
    const unknown = await runCli(['invoke', 'gret', '-c', config]);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /no function "gret" \(did you mean "greet"\?\)/);
    const bad = await tmp.write('bad.json', '{nope');
    const notJson = await runCli(['invoke', 'greet', '-c', config, '--event', bad]);
    assert.equal(notJson.code, 2);
    assert.match(notJson.stderr, /not JSON/);
  });
});
