/**
 * Header edits a plugin asks for, applied once when the gateway builds the headers it sends (upstream, or to the
 * client). Names are stored lower-cased. Order of application: remove, then set (replaces every value), then add.
 * The edit object is only allocated when a plugin edits something.
 */
export class HeaderEdits {
  remove: Set<string> | undefined = undefined;
  set: Map<string, string | readonly string[]> | undefined = undefined;
  add: Array<[string, string]> | undefined = undefined;

  removeHeader(name: string): void {
    const n = name.toLowerCase();
    (this.remove ??= new Set()).add(n);
    this.set?.delete(n);
  }

  setHeader(name: string, value: string | readonly string[]): void {
    (this.set ??= new Map()).set(name.toLowerCase(), value);
  }

  addHeader(name: string, value: string): void {
    (this.add ??= []).push([name.toLowerCase(), value]);
  }

  /** True when a header of this name is removed or replaced: the original value must not be sent. */
  overrides(lowerName: string): boolean {
    return (this.remove !== undefined && this.remove.has(lowerName)) || (this.set !== undefined && this.set.has(lowerName));
  }

  /** Appends the set and added headers to a flat [name, value, …] list. */
  appendTo(out: string[]): void {
    if (this.set !== undefined) {
      for (const [name, value] of this.set) {
        if (typeof value === 'string') out.push(name, value);
        else for (const v of value) out.push(name, v);
      }
    }
    if (this.add !== undefined) for (const [name, value] of this.add) out.push(name, value);
  }

  get empty(): boolean {
    return this.remove === undefined && this.set === undefined && this.add === undefined;
  }
}
