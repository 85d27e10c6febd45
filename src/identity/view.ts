import type { ConsumerConfigT } from '../config/schema/index.ts';
import type { CredentialConfigT } from '../config/schema/consumer.ts';
import { credentialActive, credentialLabel } from './types.ts';

/** Fields of a credential that identify it without being a secret; hashes and secrets are never shown. */
const PUBLIC_FIELDS = ['username', 'accessKeyId', 'issuer', 'subject', 'san', 'fingerprint256', 'expiresAt'] as const;

export interface CredentialView {
  type: CredentialConfigT['type'];
  id: string;
  active: boolean;
  revoked: boolean;
  [field: string]: unknown;
}

/** A consumer as the admin API shows it: everything but secrets (key hashes, password hashes, signing secrets). */
export function consumerView(name: string, c: ConsumerConfigT, now = Date.now()) {
  return {
    name,
    id: c.id ?? name,
    groups: c.groups ?? [],
    metadata: c.metadata ?? {},
    plugins: Object.keys(c.plugins ?? {}),
    credentials: (c.credentials ?? []).map((cred, i): CredentialView => {
      const view: CredentialView = { type: cred.type, id: credentialLabel(cred, name, i), active: credentialActive(cred, now), revoked: cred.revoked === true };
      for (const f of PUBLIC_FIELDS) {
        const v = (cred as Record<string, unknown>)[f];
        if (v !== undefined) view[f] = v;
      }
      return view;
    }),
  };
}
