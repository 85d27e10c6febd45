/** One problem in a config, located by the exact path of the field (`routes[3].upstream`). */
export interface ConfigIssue {
  path: string;
  message: string;
  /** 1-based line in the file, when the config came from a file. */
  line?: number;
}

/** A config that cannot be used. Carries every issue found, not just the first. */
export class ConfigError extends Error {
  readonly issues: readonly ConfigIssue[];
  constructor(issues: readonly ConfigIssue[]) {
    super(issues.map(formatIssue).join('\n'));
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

export function formatIssue(i: ConfigIssue): string {
  return `${i.path || '(root)'}: ${i.message}${i.line !== undefined ? ` (line ${i.line})` : ''}`;
}

/**
 * An issue as compilers print them, `file:line: path: message`, so editors and CI annotate the line:
 * `expeditor.yaml:12: routes[3].upstream: unknown upstream "orders"`. The path is left out for file-level issues.
 */
export function formatIssueIn(file: string, i: ConfigIssue): string {
  return `${file}${i.line !== undefined ? `:${i.line}` : ''}: ${i.path ? `${i.path}: ` : ''}${i.message}`;
}

/** Path segments to the display form: ['routes', 3, 'upstream'] → `routes[3].upstream`. */
export function formatPath(segments: readonly (string | number)[]): string {
  let out = '';
  for (const s of segments) {
    if (typeof s === 'number') out += `[${s}]`;
    else if (/^[A-Za-z_$][\w$-]*$/.test(s)) out += out === '' ? s : `.${s}`;
    else out += `[${JSON.stringify(s)}]`;
  }
  return out;
}

/** Issues with the line of their path filled in where `lineOf` knows it (issues raised after parsing carry none). */
export function withLines(
  issues: readonly ConfigIssue[], lineOf: ((segments: readonly (string | number)[]) => number | undefined) | undefined,
): ConfigIssue[] {
  return issues.map((i) => {
    if (i.line !== undefined || lineOf === undefined) return i;
    const line = lineOf(pathToSegments(i.path));
    return line === undefined ? i : { ...i, line };
  });
}

/** The display form back to segments: `routes[3].match.headers["x y"]` → ['routes', 3, 'match', 'headers', 'x y']. */
export function pathToSegments(path: string): (string | number)[] {
  const out: (string | number)[] = [];
  const re = /\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]|\.?([A-Za-z_$][\w$-]*)/y;
  let m: RegExpExecArray | null;
  while (re.lastIndex < path.length && (m = re.exec(path)) !== null) {
    out.push(m[1] !== undefined ? Number(m[1]) : m[2] !== undefined ? (JSON.parse(m[2]) as string) : m[3]!);
  }
  return out;
}

/** JSON pointer (`/routes/3/upstream`) to path segments, numbers for array indexes. */
export function pointerToSegments(pointer: string): (string | number)[] {
  if (pointer === '') return [];
  return pointer.slice(1).split('/').map((s) => {
    const k = s.replace(/~1/g, '/').replace(/~0/g, '~');
    return /^(0|[1-9]\d*)$/.test(k) ? Number(k) : k;
  });
}
