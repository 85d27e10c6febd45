import type { RequestContext } from '../core/context.ts';
import type { Static } from '@sinclair/typebox';
import type { RewriteConfig } from '../config/schema/route.ts';

type Rewrite = Static<typeof RewriteConfig>;
type Part = { literal: string } | { param: string };

/**
 * Compiles a route's path rewrite into one function, run per request. Steps apply in order: stripPrefix, replace,
 * regex, addPrefix. Inserted parameters are the normalised (still percent-encoded) values, so a client can't
 * smuggle a separator or dot-segment into the rewritten path through a parameter.
 */
export function compileRewrite(r: Rewrite | undefined): ((ctx: RequestContext) => string) | undefined {
  if (r === undefined) return undefined;
  const steps: Array<(path: string, ctx: RequestContext) => string> = [];
  if (r.stripPrefix !== undefined) {
    const prefix = r.stripPrefix.endsWith('/') && r.stripPrefix.length > 1 ? r.stripPrefix.slice(0, -1) : r.stripPrefix;
    steps.push((path) => {
      if (!path.startsWith(prefix)) return path;
      const rest = path.slice(prefix.length);
      if (rest === '') return '/';
      return rest.charCodeAt(0) === 47 ? rest : path;
    });
  }
  if (r.replace !== undefined) {
    const parts = parseTemplate(r.replace);
    steps.push((_path, ctx) => {
      let out = '';
      for (const p of parts) out += 'literal' in p ? p.literal : (ctx.params[p.param] ?? '');
      return out;
    });
  }
  if (r.regex !== undefined) {
    const re = new RegExp(r.regex.pattern);
    const replacement = r.regex.replacement;
    steps.push((path) => {
      const out = path.replace(re, replacement);
      return out.charCodeAt(0) === 47 ? out : `/${out}`;
    });
  }
  if (r.addPrefix !== undefined) {
    const prefix = r.addPrefix.endsWith('/') ? r.addPrefix.slice(0, -1) : r.addPrefix;
    steps.push((path) => (path === '/' && prefix !== '' ? prefix : prefix + path));
  }
  if (steps.length === 0) return undefined;
  return (ctx) => {
    let path = ctx.path;
    for (const step of steps) path = step(path, ctx);
    return path;
  };
}

/** `/v2/orders/:id/*` → literals and parameter names (`*` is the wildcard tail). */
export function parseTemplate(template: string): Part[] {
  const parts: Part[] = [];
  const re = /:([A-Za-z_][A-Za-z0-9_]*)|\*/g;
  let last = 0;
  for (let m = re.exec(template); m !== null; m = re.exec(template)) {
    if (m.index > last) parts.push({ literal: template.slice(last, m.index) });
    parts.push({ param: m[1] ?? '*' });
    last = m.index + m[0].length;
  }
  if (last < template.length) parts.push({ literal: template.slice(last) });
  return parts;
}
