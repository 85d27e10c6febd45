import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { composeAuthentication, type NamedAuthenticator } from '../../src/identity/authenticate.ts';
import { ConsumerDirectory } from '../../src/identity/consumers.ts';
import type { AuthResult, Authenticator } from '../../src/identity/types.ts';
import type { Reply } from '../../src/core/reply.ts';
import { silentLogger } from '../../src/core/logger.ts';
import { context, edits } from '../plugins/support.ts';

const directory = new ConsumerDirectory({
  consumers: {
    alice: { id: 'c-alice', groups: ['gold', 'beta'], metadata: {}, credentials: [] },
    bob: { groups: [], metadata: {}, credentials: [] },
    guest: { groups: ['anonymous'], metadata: {}, credentials: [] },
  },
});
const alice = directory.byName('alice')!;
const bob = directory.byName('bob')!;
const HEADERS = {
  consumerId: 'X-Consumer-Id', consumerUsername: 'X-Consumer-Username', consumerGroups: 'X-Consumer-Groups',
  scopes: 'X-Authenticated-Scopes', subject: 'X-Authenticated-Subject', anonymous: 'X-Consumer-Anonymous',
};

/** An authentication method with a fixed answer that counts its calls; `async` answers through a promise. */
function method(name: string, result: AuthResult, async = false): NamedAuthenticator & { calls: number } {
  const m = {
    name,
    calls: 0,
    authenticator: {
      challenge: `${name} realm="test"`,
      authenticate: () => {
        m.calls++;
        return async ? Promise.resolve(result) : result;
      },
    } satisfies Authenticator,
  };
  return m;
}

const ok = (consumer = alice, scopes: string[] = []): AuthResult => ({ outcome: 'success', identity: { method: 'm', consumer, subject: consumer.name, scopes } });
const bad: AuthResult = { outcome: 'invalid', reason: 'signature mismatch' };
const down: AuthResult = { outcome: 'unavailable', reason: 'jwks unreachable' };
const absent: AuthResult = { outcome: 'absent' };

async function run(methods: NamedAuthenticator[], opts: { mode?: 'any' | 'all'; anonymous?: string } = {}) {
  const phase = composeAuthentication(methods, {
    mode: opts.mode ?? 'any',
    anonymous: opts.anonymous === undefined ? undefined : directory.byName(opts.anonymous),
    headers: HEADERS,
    logger: silentLogger,
    route: 'r',
  });
  const ctx = context();
  const reply = (await phase(ctx)) as Reply | undefined;
  return { ctx, reply };
}

describe('composeAuthentication, mode any', () => {
  it('lets the first method that succeeds win and skips the rest', async () => {
    const later = method('later', ok(bob));
    const { ctx, reply } = await run([method('a', absent), method('b', ok(alice, ['read'])), later]);
    assert.equal(reply, undefined);
    assert.equal(ctx.consumer, alice);
    assert.equal(later.calls, 0);
    assert.deepEqual(edits(ctx, 'requestHeaders').set, {
      'x-consumer-id': 'c-alice', 'x-consumer-username': 'alice', 'x-consumer-groups': 'gold,beta',
      'x-authenticated-subject': 'alice', 'x-authenticated-scopes': 'read',
    });
  });

  it('percent-encodes identity values that are not printable ASCII, so they arrive intact and cannot split a header', async () => {
    const subject: AuthResult = { outcome: 'success', identity: { method: 'm', consumer: undefined, subject: 'zoë\r\nX-Evil: 1', scopes: [] } };
    const { ctx } = await run([method('a', subject)]);
    assert.equal(edits(ctx, 'requestHeaders').set['x-authenticated-subject'], 'zo%C3%AB%0D%0AX-Evil%3A%201');
  });

  it('tries the next method after a bad credential, and accepts a good one there', async () => {
    const { ctx, reply } = await run([method('a', bad), method('b', ok(bob), true)]);
    assert.equal(reply, undefined);
    assert.equal(ctx.consumer, bob);
  });

  it('answers 401 unauthorized with every challenge when no credentials are sent', async () => {
    const { reply } = await run([method('a', absent), method('b', absent, true)]);
    assert.equal(reply?.status, 401);
    assert.equal(reply?.code, 'unauthorized');
    assert.deepEqual(reply?.headers?.['www-authenticate'], ['a realm="test"', 'b realm="test"']);
  });

  it('answers 401 invalid_credentials, without the reason, when a credential is refused', async () => {
    const { ctx, reply } = await run([method('a', bad), method('b', absent)]);
    assert.equal(reply?.status, 401);
    assert.equal(reply?.code, 'invalid_credentials');
    assert.doesNotMatch(JSON.stringify(reply), /signature/);
    assert.deepEqual(ctx.vars.auth, { outcome: 'invalid', reasons: ['a: signature mismatch'] });
    assert.equal(ctx.identity, undefined);
  });

  it('prefers the method\'s own challenge on a refused credential (error="invalid_token")', async () => {
    const own = method('bearer', { outcome: 'invalid', reason: 'expired', challenge: 'Bearer realm="test", error="invalid_token"' });
    const { reply } = await run([own, method('b', absent)]);
    assert.deepEqual(reply?.headers?.['www-authenticate'], ['Bearer realm="test", error="invalid_token"', 'b realm="test"']);
  });

  it('answers 503 auth_unavailable when the only credential cannot be checked', async () => {
    const { reply } = await run([method('a', down), method('b', absent)]);
    assert.equal(reply?.status, 503);
    assert.equal(reply?.code, 'auth_unavailable');
    assert.equal(reply?.headers?.['retry-after'], '5');
  });

  it('lets a request without credentials in as the anonymous consumer', async () => {
    const { ctx, reply } = await run([method('a', absent)], { anonymous: 'guest' });
    assert.equal(reply, undefined);
    assert.equal(ctx.consumer?.name, 'guest');
    assert.equal(ctx.identity?.anonymous, true);
    assert.equal(edits(ctx, 'requestHeaders').set['x-consumer-anonymous'], 'true');
  });

  it('refuses bad credentials even when an anonymous consumer is configured', async () => {
    const { ctx, reply } = await run([method('a', bad)], { anonymous: 'guest' });
    assert.equal(reply?.code, 'invalid_credentials');
    assert.equal(ctx.consumer, undefined);
  });

  it('with no methods at all, lets everyone in as the anonymous consumer', async () => {
    const { ctx, reply } = await run([], { anonymous: 'guest' });
    assert.equal(reply, undefined);
    assert.equal(ctx.consumer?.name, 'guest');
  });
});

describe('composeAuthentication, mode all', () => {
  it('requires every method to succeed, merging scopes', async () => {
    const { ctx, reply } = await run([method('a', ok(alice, ['read'])), method('b', ok(alice, ['write']), true)], { mode: 'all' });
    assert.equal(reply, undefined);
    assert.equal(ctx.consumer, alice);
    assert.deepEqual(ctx.identity?.scopes, ['read', 'write']);
    assert.equal(ctx.identity?.method, 'm+m');
  });

  it('asks for the missing credential (401 unauthorized) when one method has none', async () => {
    const { reply } = await run([method('a', ok()), method('b', absent)], { mode: 'all' });
    assert.equal(reply?.code, 'unauthorized');
    assert.deepEqual(reply?.headers?.['www-authenticate'], ['a realm="test"', 'b realm="test"']);
  });

  it('refuses when the methods authenticate different consumers', async () => {
    const { ctx, reply } = await run([method('a', ok(alice)), method('b', ok(bob))], { mode: 'all' });
    assert.equal(reply?.code, 'invalid_credentials');
    assert.equal(ctx.consumer, undefined);
  });

  it('still lets a request without any credentials in as the anonymous consumer', async () => {
    const { ctx, reply } = await run([method('a', absent), method('b', absent)], { mode: 'all', anonymous: 'guest' });
    assert.equal(reply, undefined);
    assert.equal(ctx.consumer?.name, 'guest');
  });
});
