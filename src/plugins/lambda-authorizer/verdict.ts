/**
 * What an authorizer function answered, checked and compiled once (then cached): the IAM policy of payload 1.0 (and
 * 2.0 without simple responses), or a 2.0 simple response. A policy is evaluated per request against its method ARN,
 * as API Gateway evaluates a cached policy: an explicit Deny wins, then an Allow, and anything else is denied.
 */
export interface Verdict {
  readonly principalId: string | undefined;
  readonly context: Readonly<Record<string, unknown>> | undefined;
  allows(methodArn: string): boolean;
}

/** `Unauthorized`: the function said the caller has no valid credential (401). `malformed`: not an authorizer answer. */
export type ParsedAnswer = { readonly ok: true; readonly verdict: Verdict } | { readonly ok: false; readonly reason: string };

interface CompiledStatement {
  readonly allow: boolean;
  readonly resources: readonly RegExp[];
}

/** An IAM wildcard pattern (`*` any run of characters, `?` one) as an anchored regular expression. */
export function wildcard(pattern: string, flags = ''): RegExp {
  const body = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${body}$`, flags);
}

const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : v === undefined ? [] : [v]);

function compileStatement(s: unknown): CompiledStatement | string {
  if (typeof s !== 'object' || s === null) return 'a Statement is not an object';
  const st = s as Record<string, unknown>;
  const effect = st.Effect;
  if (effect !== 'Allow' && effect !== 'Deny') return 'a Statement\'s Effect is neither Allow nor Deny';
  const actions = list(st.Action);
  const resources = list(st.Resource);
  if (!actions.every((a) => typeof a === 'string') || !resources.every((r) => typeof r === 'string')) return 'Action and Resource must be strings';
  // Only statements about invoking apply (`execute-api:Invoke`, `execute-api:*`, `*`); action names are case-insensitive.
  const invokes = (actions as string[]).some((a) => wildcard(a, 'i').test('execute-api:Invoke'));
  return { allow: effect === 'Allow', resources: invokes ? (resources as string[]).map((r) => wildcard(r)) : [] };
}

/** `context` values: strings, numbers and booleans (payload 1.0, as API Gateway requires); 2.0 also takes JSON. */
function checkContext(v: unknown, format: '1.0' | '2.0'): Record<string, unknown> | undefined | string {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v)) return 'context is not an object';
  if (format === '1.0') {
    for (const [k, x] of Object.entries(v)) {
      if (typeof x !== 'string' && typeof x !== 'number' && typeof x !== 'boolean') return `context.${k} is not a string, number or boolean`;
    }
  }
  return { ...(v as Record<string, unknown>) };
}

/** A policy response: `{principalId, policyDocument: {Version, Statement}, context?}`. */
export function parsePolicyAnswer(answer: unknown, format: '1.0' | '2.0'): ParsedAnswer {
  if (typeof answer !== 'object' || answer === null) return { ok: false, reason: 'the answer is not an object' };
  const a = answer as Record<string, unknown>;
  const principalId = a.principalId;
  if (principalId !== undefined && typeof principalId !== 'string') return { ok: false, reason: 'principalId is not a string' };
  if (format === '1.0' && principalId === undefined) return { ok: false, reason: 'no principalId' };
  const doc = a.policyDocument;
  if (typeof doc !== 'object' || doc === null) return { ok: false, reason: 'no policyDocument' };
  const statements: CompiledStatement[] = [];
  for (const s of list((doc as Record<string, unknown>).Statement)) {
    const c = compileStatement(s);
    if (typeof c === 'string') return { ok: false, reason: c };
    statements.push(c);
  }
  const context = checkContext(a.context, format);
  if (typeof context === 'string') return { ok: false, reason: context };
  const matches = (allow: boolean, arn: string) => statements.some((s) => s.allow === allow && s.resources.some((re) => re.test(arn)));
  return {
    ok: true,
    verdict: { principalId, context, allows: (arn) => !matches(false, arn) && matches(true, arn) },
  };
}

/** A 2.0 simple response: `{isAuthorized, context?}`. */
export function parseSimpleAnswer(answer: unknown): ParsedAnswer {
  if (typeof answer !== 'object' || answer === null) return { ok: false, reason: 'the answer is not an object' };
  const a = answer as Record<string, unknown>;
  if (typeof a.isAuthorized !== 'boolean') return { ok: false, reason: 'isAuthorized is not a boolean' };
  const context = checkContext(a.context, '2.0');
  if (typeof context === 'string') return { ok: false, reason: context };
  const allowed = a.isAuthorized;
  return { ok: true, verdict: { principalId: undefined, context, allows: () => allowed } };
}
