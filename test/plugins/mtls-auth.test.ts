import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { RequestContext } from '../../src/core/context.ts';
import type { AuthResult } from '../../src/identity/types.ts';
import { mtlsAuth } from '../../src/plugins/mtls-auth/plugin.ts';
import { parseSubjectAltNames, sanKey } from '../../src/plugins/mtls-auth/certificate.ts';
import { create, schemaRefuses, scope } from './support.ts';

const FP = (byte: string) => Array.from({ length: 32 }, () => byte).join(':');

interface FakeCert {
  cn?: string | string[];
  san?: string;
  fingerprint256?: string;
  authorized?: boolean;
  error?: string;
  validTo?: Date;
}

/** A request on a stand-in TLS socket that reports the given peer certificate (counting how often it is read). */
function tlsRequest(cert: FakeCert | undefined, socket: Record<string, unknown> = {}): { ctx: RequestContext; reads: () => number } {
  let reads = 0;
  Object.assign(socket, {
    authorized: cert?.authorized ?? cert !== undefined,
    authorizationError: cert?.error ?? null,
    getPeerCertificate: () => {
      reads++;
      if (cert === undefined) return {};
      return {
        subject: cert.cn === undefined ? {} : { CN: cert.cn },
        subjectaltname: cert.san,
        fingerprint256: cert.fingerprint256 ?? FP('AA'),
        valid_to: (cert.validTo ?? new Date(Date.now() + 86_400_000)).toUTCString(),
      };
    },
  });
  const req = { httpVersionMajor: 1, headers: {}, socket } as unknown as IncomingMessage;
  return { ctx: new RequestContext(req, 'GET', 'h', '/', '', 'https', '127.0.0.1', 0), reads: () => reads };
}

const consumers = {
  alice: { credentials: [{ type: 'mtls', subject: 'alice' }] },
  bob: { credentials: [{ type: 'mtls', san: 'dns:Bob.Example.com' }, { type: 'mtls', id: 'bob-uri', san: 'URI:spiffe://example.com/bob' }] },
  carol: { credentials: [{ type: 'mtls', fingerprint256: FP('cc') }] },
  eve: { credentials: [{ type: 'mtls', subject: 'eve' }, { type: 'mtls', fingerprint256: FP('EE'), revoked: true }] },
  twin1: { credentials: [{ type: 'mtls', subject: 'twin' }] },
  twin2: { credentials: [{ type: 'mtls', subject: 'twin' }] },
};

function outcome(r: AuthResult | Promise<AuthResult>): string {
  const x = r as AuthResult;
  if (x.outcome === 'invalid') return `invalid: ${x.reason}`;
  if (x.outcome === 'success') return `${x.identity.consumer?.name ?? '-'} as ${x.identity.subject}${x.identity.credentialId ? ` (${x.identity.credentialId})` : ''}`;
  return x.outcome;
}

describe('mtls-auth: subject alternative names', () => {
  it('parses Node\'s subjectaltname, quoted entries included, so that one crafted name cannot pose as two', () => {
    assert.deepEqual(parseSubjectAltNames('DNS:A.example.com, email:a@example.com, URI:spiffe://x/y, IP Address:10.0.0.1'),
      ['DNS:a.example.com', 'email:a@example.com', 'URI:spiffe://x/y', 'IP Address:10.0.0.1']);
    assert.deepEqual(parseSubjectAltNames('DNS:"evil.com, DNS:good.com", DNS:b.example'), ['DNS:evil.com, dns:good.com', 'DNS:b.example']);
    assert.deepEqual(parseSubjectAltNames('othername:<unsupported>, DNS:c.example'), ['DNS:c.example']);
  });

  it('normalises config values the same way (type spelling, DNS case)', () => {
    assert.equal(sanKey('dns:Api.Example.COM'), 'DNS:api.example.com');
    assert.equal(sanKey('IP:10.0.0.1'), 'IP Address:10.0.0.1');
    assert.equal(sanKey('email:Alice@Example.com'), 'email:Alice@Example.com');
    assert.equal(sanKey('x400:whatever'), undefined);
  });
});

describe('mtls-auth: mapping a verified certificate', () => {
  const plugin = () => create(mtlsAuth, {}, scope({ consumers })).authenticator!;

  it('by fingerprint, SAN or CN, in consumerBy order; the identity subject is the CN', () => {
    const a = plugin();
    assert.equal(outcome(a.authenticate(tlsRequest({ cn: 'alice' }).ctx)), 'alice as alice (alice/mtls/0)');
    assert.equal(outcome(a.authenticate(tlsRequest({ cn: 'laptop', san: 'DNS:bob.example.COM' }).ctx)), 'bob as laptop (bob/mtls/0)');
    assert.equal(outcome(a.authenticate(tlsRequest({ cn: 'x', san: 'URI:spiffe://example.com/bob' }).ctx)), 'bob as x (bob-uri)');
    assert.equal(outcome(a.authenticate(tlsRequest({ cn: 'alice', fingerprint256: FP('CC') }).ctx)), 'carol as alice (carol/mtls/0)');
    const bySubject = create(mtlsAuth, { consumerBy: ['subject', 'fingerprint256'] }, scope({ consumers })).authenticator!;
    assert.equal(outcome(bySubject.authenticate(tlsRequest({ cn: 'alice', fingerprint256: FP('CC') }).ctx)), 'alice as alice (alice/mtls/0)');
    const byFingerprint = create(mtlsAuth, { consumerBy: ['fingerprint256'] }, scope({ consumers })).authenticator!;
    assert.equal(outcome(byFingerprint.authenticate(tlsRequest({ cn: 'alice' }).ctx)), 'invalid: certificate maps to no consumer');
  });

  it('gives each refusal its own reason', () => {
    const a = plugin();
    assert.equal(outcome(a.authenticate(tlsRequest({ cn: 'alice', authorized: false, error: 'SELF_SIGNED_CERT_IN_CHAIN' }).ctx)), 'invalid: certificate not verified (SELF_SIGNED_CERT_IN_CHAIN)');
    assert.equal(outcome(a.authenticate(tlsRequest({ cn: 'nobody' }).ctx)), 'invalid: certificate maps to no consumer');
    assert.equal(outcome(a.authenticate(tlsRequest({ cn: ['alice', 'eve'] }).ctx)), 'invalid: certificate subject has several CNs');
    assert.equal(outcome(a.authenticate(tlsRequest({ cn: 'twin' }).ctx)), 'invalid: certificate maps to several consumers');
    // eve's CN still maps, but this certificate's pinned fingerprint is revoked: revocation wins.
    assert.equal(outcome(a.authenticate(tlsRequest({ cn: 'eve', fingerprint256: FP('EE') }).ctx)), 'invalid: certificate credential revoked');
    assert.equal(outcome(a.authenticate(tlsRequest({ cn: 'eve', fingerprint256: FP('EF') }).ctx)), 'eve as eve (eve/mtls/0)');
  });

  it('no certificate, or no TLS at all, is absent (another method may accept the request)', () => {
    const a = plugin();
    assert.equal(outcome(a.authenticate(tlsRequest(undefined).ctx)), 'absent');
    const plain = new RequestContext({ httpVersionMajor: 1, headers: {}, socket: {} } as unknown as IncomingMessage, 'GET', 'h', '/', '', 'http', '127.0.0.1', 0);
    assert.equal(outcome(a.authenticate(plain)), 'absent');
  });

  it('requireConsumer: false admits an unmapped verified certificate, without consumer, never an unverified one', () => {
    const a = create(mtlsAuth, { requireConsumer: false }, scope({ consumers })).authenticator!;
    assert.equal(outcome(a.authenticate(tlsRequest({ cn: 'service-7' }).ctx)), '- as service-7');
    assert.equal(outcome(a.authenticate(tlsRequest({ san: 'DNS:svc.example' }).ctx)), '- as DNS:svc.example');
    assert.equal(outcome(a.authenticate(tlsRequest({ cn: 'service-7', authorized: false, error: 'CERT_HAS_EXPIRED' }).ctx)), 'invalid: certificate not verified (CERT_HAS_EXPIRED)');
  });

  it('reads the certificate once per connection, and refuses it once it expires on a long-lived one', (t) => {
    const a = plugin();
    const socket = {};
    const first = tlsRequest({ cn: 'alice', validTo: new Date(Date.now() + 60_000) }, socket);
    assert.equal(outcome(a.authenticate(first.ctx)), 'alice as alice (alice/mtls/0)');
    const again = tlsRequest({ cn: 'alice', validTo: new Date(Date.now() + 60_000) }, socket);
    assert.equal(outcome(a.authenticate(again.ctx)), 'alice as alice (alice/mtls/0)');
    assert.equal(first.reads() + again.reads(), 1);
    t.mock.timers.enable({ apis: ['Date'], now: Date.now() + 120_000 });
    assert.equal(outcome(a.authenticate(again.ctx)), 'invalid: certificate expired');
  });
});

describe('mtls-auth config', () => {
  it('refuses an empty or repeated consumerBy, and unknown ways to map', () => {
    assert.ok(schemaRefuses(mtlsAuth, { consumerBy: [] }));
    assert.ok(schemaRefuses(mtlsAuth, { consumerBy: ['san', 'san'] }));
    assert.ok(schemaRefuses(mtlsAuth, { consumerBy: ['issuer'] }));
  });

  it('challenges with the realm', () => {
    assert.equal(create(mtlsAuth, {}, scope({ auth: { realm: 'shop' } })).authenticator!.challenge, 'ClientCertificate realm="shop"');
  });
});
