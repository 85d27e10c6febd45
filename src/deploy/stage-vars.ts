import type { ConfigIssue } from '../config/errors.ts';
import { formatPath } from '../config/errors.ts';

/**
 * Stage variables in a deployment's config: `${stage.vars.NAME}` in any string value (an upstream URL, a function
 * name or alias, a header value) is replaced by the stage's (or its canary's) value when the stage serves the
 * deployment. A placeholder naming a variable the stage does not define is an issue at its path: the stage does not
 * switch to that deployment. `${env:…}` placeholders are left for the node to resolve.
 */
const STAGE_VAR = /\$\{stage\.vars\.([A-Za-z_][A-Za-z0-9_]*)\}/g;

export function resolveStageVariables(config: unknown, vars: Readonly<Record<string, string>>): { config: unknown; issues: ConfigIssue[] } {
  const issues: ConfigIssue[] = [];
  const walk = (value: unknown, path: Array<string | number>): unknown => {
    if (typeof value === 'string') {
      if (!value.includes('${stage.vars.')) return value;
      return value.replace(STAGE_VAR, (whole, name: string) => {
        const v = vars[name];
        if (v !== undefined) return v;
        issues.push({ path: formatPath(path), message: `stage variable "${name}" is not defined on this stage` });
        return whole;
      });
    }
    if (Array.isArray(value)) return value.map((v, i) => walk(v, [...path, i]));
    if (value !== null && typeof value === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) out[k] = walk(v, [...path, k]);
      return out;
    }
    return value;
  };
  return { config: walk(config, []), issues };
}

/** The stage variables a config refers to, for `expeditor diff` and the admin API to list what a stage must define. */
export function referencedStageVariables(config: unknown): string[] {
  const names = new Set<string>();
  const walk = (value: unknown): void => {
    if (typeof value === 'string') for (const m of value.matchAll(STAGE_VAR)) names.add(m[1]!);
    else if (Array.isArray(value)) value.forEach(walk);
    else if (value !== null && typeof value === 'object') Object.values(value).forEach(walk);
  };
  walk(config);
  return [...names].sort();
}
