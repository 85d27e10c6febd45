import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ipRestriction } from '../../src/plugins/ip-restriction/plugin.ts';
import { compileBlockList, isAddressAllowed, parseCidr } from '../../src/plugins/ip-restriction/cidr.ts';
import { PluginConfigError } from '../../src/core/plugin.ts';
import { assertConfigError, context, create, schemaRefuses } from './support.ts';

const lists = (allow: string[], deny: string[] = []) => ({
  allow: allow.length === 0 ? undefined : compileBlockList('allow', allow),
  deny: deny.length === 0 ? undefined : compileBlockList('deny', deny),
});
const allowed = (ip: string, allow: string[], deny: string[] = []) => {
  const l = lists(allow, deny);
  return isAddressAllowed(ip, l.allow, l.deny);
};

describe('ip-restriction: parsing', () => {
  it('parses addresses and CIDRs of both families', () => {
    assert.deepEqual(parseCidr('x', '10.0.0.0/8'), { address: '10.0.0.0', prefix: 8, family: 'ipv4' });
    assert.deepEqual(parseCidr('x', '192.0.2.7'), { address: '192.0.2.7', prefix: 32, family: 'ipv4' });
    assert.deepEqual(parseCidr('x', '2001:db8::/32'), { address: '2001:db8::', prefix: 32, family: 'ipv6' });
    assert.deepEqual(parseCidr('x', '::1'), { address: '::1', prefix: 128, family: 'ipv6' });
    assert.deepEqual(parseCidr('x', '::ffff:10.0.0.0/104'), { address: '::ffff:10.0.0.0', prefix: 104, family: 'ipv6' });
    assert.deepEqual(parseCidr('x', '0.0.0.0/0'), { address: '0.0.0.0', prefix: 0, family: 'ipv4' });
  });

  it('refuses prefixes out of range, bad addresses and zone ids', () => {
    assert.throws(() => parseCidr('allow[0]', '10.0.0.0/33'), /prefix must be 0 to 32/);
    assert.throws(() => parseCidr('allow[0]', '2001:db8::/129'), /prefix must be 0 to 128/);
    assert.throws(() => parseCidr('allow[0]', '10.0.0.0/'), /prefix/);
    assert.throws(() => parseCidr('allow[0]', '300.1.1.1'), /invalid IP address "300.1.1.1"/);
    assert.throws(() => parseCidr('allow[0]', '10.0.0/8'), /invalid IP address/);
    assert.throws(() => parseCidr('allow[0]', 'fe80::1%eth0'), /invalid IP address/);
  });

  it('refuses a CIDR with host bits set, naming the network it probably meant', () => {
    assert.throws(() => parseCidr('p', '10.1.2.3/8'), /did you mean "10\.0\.0\.0\/8"/);
    assert.throws(() => parseCidr('p', '192.168.1.77/24'), /did you mean "192\.168\.1\.0\/24"/);
    assert.throws(() => parseCidr('p', '2001:db8::1/32'), /did you mean "2001:db8::\/32"/);
    assert.throws(() => parseCidr('p', '2001:db8:0:0:1:0:0:1/64'), /did you mean "2001:db8::\/64"/);
    assert.throws(() => parseCidr('p', 'fe80::1:2/112'), /did you mean "fe80::1:0\/112"/);
    assert.throws(() => parseCidr('p', '::ffff:10.1.2.3/104'), /did you mean "::ffff:a00:0\/104"/);
  });

  it('reports the failing entry by its index in the list', () => {
    assert.throws(() => compileBlockList('deny', ['10.0.0.0/8', '::1', '1.2.3.4/40']), (e: unknown) => e instanceof PluginConfigError && e.path === 'deny[2]');
  });
});

describe('ip-restriction: matching', () => {
  it('allows only listed addresses when there is an allow list', () => {
    assert.equal(allowed('10.20.30.40', ['10.0.0.0/8']), true);
    assert.equal(allowed('11.0.0.1', ['10.0.0.0/8']), false);
    assert.equal(allowed('192.0.2.7', ['192.0.2.7']), true);
    assert.equal(allowed('192.0.2.8', ['192.0.2.7']), false);
  });

  it('lets deny win over allow', () => {
    assert.equal(allowed('10.1.2.3', ['10.0.0.0/8'], ['10.1.0.0/16']), false);
    assert.equal(allowed('10.2.0.1', ['10.0.0.0/8'], ['10.1.0.0/16']), true);
  });

  it('with a deny list only, allows everything else', () => {
    assert.equal(allowed('203.0.113.9', [], ['198.51.100.0/24']), true);
    assert.equal(allowed('198.51.100.1', [], ['198.51.100.0/24']), false);
  });

  it('matches IPv4-mapped IPv6 addresses against IPv4 rules and the other way round', () => {
    assert.equal(allowed('::ffff:10.1.2.3', ['10.0.0.0/8']), true);
    assert.equal(allowed('::ffff:11.1.2.3', ['10.0.0.0/8']), false);
    assert.equal(allowed('::ffff:127.0.0.1', [], ['127.0.0.0/8']), false);
    assert.equal(allowed('10.1.2.3', ['::ffff:10.0.0.0/104']), true);
  });

  it('matches IPv6 rules, and never matches an IPv6 client against an IPv4 rule', () => {
    assert.equal(allowed('2001:db8:1::5', ['2001:db8::/32']), true);
    assert.equal(allowed('2001:db9::5', ['2001:db8::/32']), false);
    assert.equal(allowed('::1', ['127.0.0.0/8']), false);
    assert.equal(allowed('::1', ['0.0.0.0/0']), false);
  });

  it('denies a client address that is not an IP (fails closed)', () => {
    assert.equal(allowed('', [], ['192.0.2.1']), false);
    assert.equal(allowed('not-an-ip', [], ['192.0.2.1']), false);
  });
});

describe('ip-restriction: config and handler', () => {
  it('needs at least one address', () => {
    assertConfigError(ipRestriction, {}, 'allow', /allow, deny, or both/);
    assertConfigError(ipRestriction, { allow: [], deny: [] }, 'allow', /allow, deny, or both/);
  });

  it('reports a bad CIDR at its path', () => {
    assertConfigError(ipRestriction, { allow: ['10.0.0.0/8', '::1', '10.0.0.0/33'] }, 'allow[2]', /invalid CIDR "10\.0\.0\.0\/33"/);
    assertConfigError(ipRestriction, { deny: ['1.2.3.4/24'] }, 'deny[0]', /host bits/);
  });

  it('refuses a status outside 400-599 and unknown keys in the schema', () => {
    assert.ok(schemaRefuses(ipRestriction, { allow: ['::1'], status: 302 }));
    assert.ok(schemaRefuses(ipRestriction, { allow: ['::1'], whitelist: ['::1'] }));
    assert.ok(schemaRefuses(ipRestriction, { allow: ['example.com'] }));
  });

  it('answers a denied client with a forbidden problem, and lets an allowed one through', () => {
    const h = create(ipRestriction, { allow: ['10.0.0.0/8'] });
    assert.equal(h.authenticate!(context({ clientIp: '10.9.9.9' })), undefined);
    const reply = h.authenticate!(context({ clientIp: '127.0.0.1' }));
    assert.deepEqual({ ...reply }, { status: 403, code: 'forbidden', detail: 'client address not allowed', headers: undefined });
  });

  it('uses the configured status and message, keeping the code', () => {
    const h = create(ipRestriction, { deny: ['127.0.0.1'], status: 404, message: 'nothing here' });
    const reply = h.authenticate!(context({ clientIp: '::ffff:127.0.0.1' }));
    assert.deepEqual({ ...reply }, { status: 404, code: 'forbidden', detail: 'nothing here', headers: undefined });
  });
});
