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

/** JSON pointer (`/routes/3/upstream`) to path segments, numbers for array indexes. */
export function pointerToSegments(pointer: string): (string | number)[] {
  if (pointer === '') return [];
  return pointer.slice(1).split('/').map((s) => {
    const k = s.replace(/~1/g, '/').replace(/~0/g, '~');
    return /^(0|[1-9]\d*)$/.test(k) ? Number(k) : k;
  });
}
