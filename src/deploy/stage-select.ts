/**
 * Which stage a request is for: by host (`api.example.com` → prod) or by the first path segment (`/prod/…`, stripped
 * before routing), as a stage's config says. Hosts win over path prefixes; a request that names no stage goes to
 * the default stage when one is set. Pure, so it is table-tested; compiled once per stage set.
 */
export interface StageSelection {
  /** Host name (lower case, no port) → stage. */
  hosts: Readonly<Record<string, string>>;
  /** Stages reached by a path prefix `/<stage>/…`. */
  pathStages: readonly string[];
  /** The stage for requests that name none (undefined: they are not served: 404). */
  defaultStage?: string;
}

export interface Selected {
  stage: string;
  /** The path routing sees: without the `/<stage>` prefix when the prefix chose the stage. */
  path: string;
}

export class StageSelector {
  readonly #hosts: ReadonlyMap<string, string>;
  readonly #paths: ReadonlySet<string>;
  readonly #default: string | undefined;

  constructor(selection: StageSelection) {
    this.#hosts = new Map(Object.entries(selection.hosts).map(([h, s]) => [h.toLowerCase(), s]));
    this.#paths = new Set(selection.pathStages);
    this.#default = selection.defaultStage;
  }

  /** The stage for a request (its normalised host and path), or undefined when none serves it. */
  select(host: string, path: string): Selected | undefined {
    const byHost = this.#hosts.get(host);
    if (byHost !== undefined) return { stage: byHost, path };
    if (this.#paths.size > 0 && path.length > 1) {
      const end = path.indexOf('/', 1);
      const first = end === -1 ? path.slice(1) : path.slice(1, end);
      if (this.#paths.has(first)) return { stage: first, path: end === -1 ? '/' : path.slice(end) };
    }
    return this.#default === undefined ? undefined : { stage: this.#default, path };
  }
}
