import FindMyWay from 'find-my-way';
import type { CompiledRoute } from '../core/route.ts';

/** What the route table needs to know of a request beyond its path. */
export interface MatchInput {
  readonly method: string;
  readonly host: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** Raw query string, parsed only when some route matches on query values. */
  readonly query: string;
}

export type ValueMatcher = (value: string | undefined) => boolean;

/** One route as the table indexes it. Built by the runtime from a validated config. */
export interface TableRoute {
  readonly route: CompiledRoute;
  readonly paths: readonly string[];
  /** Lower-case host names; `*.example.com` matches any name ending in `.example.com`. Empty: any host. */
  readonly hosts: readonly string[];
  readonly methods: readonly string[] | undefined;
  readonly headers: ReadonlyArray<readonly [string, ValueMatcher]>;
  readonly query: ReadonlyArray<readonly [string, ValueMatcher]>;
  readonly priority: number;
  /** Position in the config file: the earlier of two otherwise equal routes wins. */
  readonly index: number;
}

/** Two routes that no request could tell apart (same host, path and no distinguishing condition). */
export class RouteConflictError extends Error {
  /** Config index of the later route, and of the earlier one it duplicates. */
  readonly index: number;
  readonly other: number;
  readonly path: string;
  constructor(index: number, other: number, path: string) {
    super(`route ${index} matches the same requests as route ${other} (path "${path}")`);
    this.index = index;
    this.other = other;
    this.path = path;
  }
}

export type LookupResult =
  | { kind: 'route'; route: CompiledRoute; params: Record<string, string | undefined> }
  | { kind: 'method'; allow: string[] }
  | { kind: 'none' };

type Gate = (input: GateInput) => boolean;

/** Per-lookup view of the request handed to the gate constraint. */
class GateInput {
  readonly method: string;
  readonly headers: MatchInput['headers'];
  readonly rawQuery: string;
  #query: URLSearchParams | undefined;
  constructor(method: string, input: MatchInput) {
    this.method = method;
    this.headers = input.headers;
    this.rawQuery = input.query;
  }
  get query(): URLSearchParams {
    return (this.#query ??= new URLSearchParams(this.rawQuery));
  }
}

/**
 * find-my-way does the path matching (radix tree: static beats parametric beats wildcard, with backtracking).
 * Method, header and query conditions ride on a custom constraint, "gate", whose store evaluates each route's
 * predicate: when a route's predicate fails, find-my-way backtracks to the next most specific path, exactly as it
 * does for a path mismatch. Among routes on the same path pattern the handler inserted last wins, so they are
 * inserted from least to most specific.
 */
const gateStrategy = {
  name: 'gate',
  mustMatchWhenDerived: false,
  storage() {
    const entries: Array<[Gate, number]> = [];
    return {
      get(value: Gate | GateInput): number | null {
        if (typeof value === 'function') return entries.find((e) => e[0] === value)?.[1] ?? null;
        let mask = 0;
        for (let i = 0; i < entries.length; i++) if (entries[i]![0](value)) mask |= entries[i]![1];
        return mask;
      },
      set(gate: Gate, mask: number) {
        const e = entries.find((x) => x[0] === gate);
        if (e) e[1] = mask;
        else entries.push([gate, mask]);
      },
    };
  },
  deriveConstraint(): undefined {
    return undefined;
  },
};

function newRouter() {
  return FindMyWay({
    caseSensitive: true,
    ignoreTrailingSlash: false,
    ignoreDuplicateSlashes: false,
    maxParamLength: 1000,
    constraints: { gate: gateStrategy },
  } as unknown as FindMyWay.Config<FindMyWay.HTTPVersion.V1>);
}

type Router = ReturnType<typeof newRouter>;

/** One host tier of one priority band. */
interface Band {
  priority: number;
  exact: Map<string, Router>;
  wildcard: Map<string, Router>;
  any: Router | undefined;
}

const SENTINEL = '\u0001';

/** Matching pseudo-method: every route lives in one tree; the real method is checked by the gate. */
const TREE = 'GET';

export class RouteTable {
  readonly #bands: Band[];
  readonly #methods: string[];
  readonly size: number;

  constructor(routes: readonly TableRoute[]) {
    const bands = new Map<number, Band>();
    const methods = new Set<string>(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
    // Least specific first: find-my-way prefers the handler inserted last among those whose gate passes.
    const ordered = [...routes].sort((a, b) => specificity(a) - specificity(b) || b.index - a.index);
    // Routes without conditions on the same priority, host and path can't be told apart: refuse the later one.
    const plain = new Map<string, TableRoute>();
    for (const r of routes) {
      if (specificity(r) > 0) continue;
      for (const h of r.hosts.length > 0 ? r.hosts : ['']) {
        for (const p of r.paths) {
          const key = `${r.priority}\0${h}\0${p}`;
          const other = plain.get(key);
          if (other !== undefined) throw new RouteConflictError(Math.max(r.index, other.index), Math.min(r.index, other.index), p);
          plain.set(key, r);
        }
      }
    }
    for (const r of ordered) {
      r.methods?.forEach((m) => methods.add(m));
      let band = bands.get(r.priority);
      if (!band) bands.set(r.priority, (band = { priority: r.priority, exact: new Map(), wildcard: new Map(), any: undefined }));
      const gate = makeGate(r);
      const targets: Router[] = [];
      if (r.hosts.length === 0) targets.push((band.any ??= newRouter()));
      for (const h of r.hosts) {
        const map = h.startsWith('*.') ? band.wildcard : band.exact;
        const key = h.startsWith('*.') ? h.slice(2) : h;
        let router = map.get(key);
        if (!router) map.set(key, (router = newRouter()));
        targets.push(router);
      }
      for (const router of targets) {
        for (const p of r.paths) {
          // The gate travels as the constraint value; find-my-way's types only know string values.
          router.on(TREE, p.replaceAll('%', SENTINEL), gate ? { constraints: { gate: gate as unknown as string } } : {}, noop, r.route);
        }
      }
    }
    this.#bands = [...bands.values()].sort((a, b) => b.priority - a.priority);
    this.#methods = [...methods];
    this.size = routes.length;
  }

  /**
   * `path` must already be normalised. O(path length) per host tier tried, whatever the number of routes.
   * Params are returned as they appear in the normalised path: reserved characters stay percent-encoded, so a
   * `%2F` in a parameter can never turn into a separator when the parameter is put into a rewritten path.
   */
  lookup(path: string, input: MatchInput): LookupResult {
    const escaped = path.includes('%');
    // find-my-way percent-decodes parameters when the path holds a '%': hide escapes from it behind a byte the
    // normaliser never lets through, and restore them in the params.
    if (escaped) path = path.replaceAll('%', SENTINEL);
    const found = this.#find(path, input, input.method);
    if (found !== null) {
      let params = found.params as Record<string, string | undefined>;
      if (escaped) {
        for (const k of Object.keys(params)) params[k] = params[k]?.replaceAll(SENTINEL, '%');
      }
      return { kind: 'route', route: found.store as CompiledRoute, params };
    }
    const allow: string[] = [];
    for (const m of this.#methods) {
      if (m !== input.method && this.#find(path, input, m) !== null) allow.push(m);
    }
    if (allow.length > 0 && allow.includes('GET') && !allow.includes('HEAD')) allow.push('HEAD');
    return allow.length > 0 ? { kind: 'method', allow } : { kind: 'none' };
  }

  #find(path: string, input: MatchInput, method: string) {
    const constraints = { gate: new GateInput(method, input) };
    const host = input.host;
    for (const band of this.#bands) {
      const exact = band.exact.size > 0 ? band.exact.get(host) : undefined;
      if (exact !== undefined) {
        const r = exact.find(TREE, path, constraints as never);
        if (r !== null) return r;
      }
      if (band.wildcard.size > 0) {
        // Longest suffix first: a.b.example.com tries *.b.example.com, then *.example.com, then *.com.
        for (let dot = host.indexOf('.'); dot !== -1; dot = host.indexOf('.', dot + 1)) {
          const router = band.wildcard.get(host.slice(dot + 1));
          if (router !== undefined) {
            const r = router.find(TREE, path, constraints as never);
            if (r !== null) return r;
          }
        }
      }
      if (band.any !== undefined) {
        const r = band.any.find(TREE, path, constraints as never);
        if (r !== null) return r;
      }
    }
    return null;
  }
}

function noop() {}

function specificity(r: TableRoute): number {
  return (r.methods ? 1 : 0) + r.headers.length + r.query.length;
}

function makeGate(r: TableRoute): Gate | undefined {
  const methods = r.methods;
  const headers = r.headers;
  const query = r.query;
  if (!methods && headers.length === 0 && query.length === 0) return undefined;
  return (input: GateInput) => {
    if (methods !== undefined && !methods.includes(input.method) && !(input.method === 'HEAD' && methods.includes('GET'))) {
      return false;
    }
    for (let i = 0; i < headers.length; i++) {
      const [name, match] = headers[i]!;
      const v = input.headers[name];
      if (!match(Array.isArray(v) ? v.join(', ') : v)) return false;
    }
    for (let i = 0; i < query.length; i++) {
      const [name, match] = query[i]!;
      if (!match(input.query.get(name) ?? undefined)) return false;
    }
    return true;
  };
}

/** Normalises a Host / :authority value for matching: lower case, no port, no trailing dot. */
export function normalizeHost(raw: string | undefined): string {
  if (raw === undefined || raw === '') return '';
  let h = raw;
  if (h.charCodeAt(0) === 91 /* [ */) {
    const end = h.indexOf(']');
    h = end === -1 ? h : h.slice(0, end + 1);
  } else {
    const colon = h.indexOf(':');
    if (colon !== -1) h = h.slice(0, colon);
  }
  if (h.endsWith('.')) h = h.slice(0, -1);
  return h.toLowerCase();
}
