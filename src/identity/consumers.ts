import type { Config } from '../config/schema/index.ts';
import type { CredentialConfigT, CredentialType } from '../config/schema/consumer.ts';
import type { Consumer } from './types.ts';
import { headerSafe } from './header-safe.ts';

export interface CredentialEntry<T extends CredentialType> {
  readonly consumer: Consumer;
  readonly credential: Extract<CredentialConfigT, { type: T }>;
  /** Position in the consumer's `credentials` list. */
  readonly index: number;
}

/**
 * The consumers of one config, compiled once per build. Authentication plugins build their own lookup tables from
 * `credentials(type)` at create time (a hash map per plugin), so per request they do O(1) work.
 */
export class ConsumerDirectory {
  readonly #byName = new Map<string, Consumer>();
  readonly #byId = new Map<string, Consumer>();
  readonly #credentials = new Map<CredentialType, CredentialEntry<CredentialType>[]>();

  constructor(config: Pick<Config, 'consumers'>) {
    for (const [name, c] of Object.entries(config.consumers ?? {})) {
      const groups = Object.freeze([...(c.groups ?? [])]);
      const consumer: Consumer = Object.freeze({
        name,
        id: c.id ?? name,
        groups,
        groupSet: new Set(groups),
        metadata: Object.freeze({ ...(c.metadata ?? {}) }),
        idHeader: headerSafe(c.id ?? name),
        groupsHeader: headerSafe(groups.join(',')),
      });
      this.#byName.set(name, consumer);
      this.#byId.set(consumer.id, consumer);
      (c.credentials ?? []).forEach((credential, index) => {
        let list = this.#credentials.get(credential.type);
        if (list === undefined) this.#credentials.set(credential.type, (list = []));
        list.push({ consumer, credential, index });
      });
    }
  }

  get size(): number {
    return this.#byName.size;
  }

  byName(name: string): Consumer | undefined {
    return this.#byName.get(name);
  }

  byId(id: string): Consumer | undefined {
    return this.#byId.get(id);
  }

  all(): IterableIterator<Consumer> {
    return this.#byName.values();
  }

  /** Every credential of one type, with its consumer, in config order. */
  credentials<T extends CredentialType>(type: T): readonly CredentialEntry<T>[] {
    return (this.#credentials.get(type) ?? []) as unknown as CredentialEntry<T>[];
  }
}
