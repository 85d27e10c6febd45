/** Lambda's `$LATEST`: the only version a local function has. */
export const LATEST = '$LATEST';

export interface FunctionTarget {
  readonly name: string;
  /** The qualifier from the name or the `Qualifier` query parameter; undefined when neither names one. */
  readonly qualifier: string | undefined;
}

/**
 * The function an Invoke request names, in any of the forms Lambda takes: `name`, `name:qualifier`,
 * `ACCOUNT:function:name[:qualifier]` and `arn:PARTITION:lambda:REGION:ACCOUNT:function:name[:qualifier]`
 * (the region and account are not checked: this gateway is its own account). A qualifier in the name and one in
 * the query must agree. Returns a message for a malformed name.
 */
export function functionTarget(functionName: string, queryQualifier: string | undefined): FunctionTarget | string {
  const parts = functionName.split(':');
  let rest: string[];
  if (parts[0] === 'arn') {
    if (parts.length < 7 || parts[2] !== 'lambda' || parts[5] !== 'function') return 'malformed function ARN';
    rest = parts.slice(6);
  } else if (parts.length >= 3 && parts[1] === 'function') {
    rest = parts.slice(2);
  } else {
    rest = parts;
  }
  if (rest.length > 2 || rest[0] === '' || rest[1] === '') return 'malformed function name';
  const fromName = rest[1];
  if (fromName !== undefined && queryQualifier !== undefined && fromName !== queryQualifier) {
    return 'The derived qualifier from the function name does not match the specified qualifier.';
  }
  return { name: rest[0]!, qualifier: fromName ?? queryQualifier };
}
