// Values the elaborator computes with. Every dim is a concrete integer once --set overrides are
// applied, so shapes are plain numbers; `poison` stands in after an error so one mistake is
// reported once, not again by every statement that uses its result.
export type Value =
  | { readonly k: 'int'; readonly v: number }
  | { readonly k: 'float'; readonly v: number }
  | { readonly k: 'bool'; readonly v: boolean }
  | { readonly k: 'str'; readonly v: string }
  | { readonly k: 'tuple'; readonly items: readonly Value[] }
  | { readonly k: 'tensor'; readonly id: number }
  | { readonly k: 'poison' };

export const POISON: Value = { k: 'poison' };
export const int = (v: number): Value => ({ k: 'int', v });

export function describe(v: Value): string {
  switch (v.k) {
    case 'int': return `the integer ${v.v}`;
    case 'float': return `the number ${v.v}`;
    case 'bool': return `the boolean ${v.v}`;
    case 'str': return `the string "${v.v}"`;
    case 'tuple': return `a tuple of ${v.items.length}`;
    case 'tensor': return 'a tensor';
    case 'poison': return 'an invalid value';
  }
}

export function isPoisoned(v: Value): boolean {
  return v.k === 'poison' || (v.k === 'tuple' && v.items.some(isPoisoned));
}

/** Lexically scoped name -> value map; a block body sees only globals and its own names. */
export class Env {
  private readonly vars = new Map<string, Value>();
  constructor(private readonly parent?: Env) {}

  lookup(name: string): Value | undefined {
    return this.vars.get(name) ?? this.parent?.lookup(name);
  }

  set(name: string, v: Value): void {
    this.vars.set(name, v);
  }

  hasOwn(name: string): boolean {
    return this.vars.has(name);
  }
}
