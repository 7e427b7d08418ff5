/**
 * Copies of cached results that a caller may mutate without touching the near cache or
 * other callers. `cloneResult` is the specification: plain objects and arrays copied deeply,
 * Dates and byte arrays copied, everything else (Decimal, which is immutable; primitives)
 * shared. `compileClone` is the fast variant the near cache uses: for one given value it
 * builds (once per shape) a function copying that value's shape with object literals and
 * loops, several times faster than the recursive walk for lists of rows. A property test
 * (test/clone.test.ts) proves the two agree on every value.
 */
export function cloneResult<T>(value: T): T {
  if (value === null || typeof value !== 'object') return value
  if (Array.isArray(value)) return value.map(cloneResult) as T
  if (value instanceof Date) return new Date(value.getTime()) as T
  if (value instanceof Uint8Array) return Uint8Array.prototype.slice.call(value) as T // a copy, of the same class
  const proto = Object.getPrototypeOf(value)
  if (proto !== Object.prototype && proto !== null) return value
  const out: Record<string, unknown> = {}
  for (const k of Object.keys(value)) {
    const v = cloneResult((value as Record<string, unknown>)[k])
    // An own "__proto__" key (JSON data may hold one) stays a key, not a prototype.
    if (k === '__proto__') Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true })
    else out[k] = v
  }
  return out as T
}

/** A value's shape, as far as copying it is concerned. */
type Shape =
  | { readonly kind: 'none' } // no value seen yet (the elements of an empty array)
  | { readonly kind: 'null' } // null or undefined
  | { readonly kind: 'shared' } // other primitives, Decimal, other class instances
  | { readonly kind: 'date' | 'bytes'; readonly nullable: boolean }
  | { readonly kind: 'object'; readonly nullable: boolean; readonly keys: readonly string[]; readonly fields: readonly Shape[] }
  | { readonly kind: 'array'; readonly nullable: boolean; readonly element: Shape }
  | { readonly kind: 'generic' } // values of different shapes in one place: cloneResult copies them

const NONE: Shape = { kind: 'none' }
const NULL: Shape = { kind: 'null' }
const SHARED: Shape = { kind: 'shared' }
const GENERIC: Shape = { kind: 'generic' }
/** A result whose shape has more nodes than this is copied by cloneResult. */
const MAX_SHAPE_NODES = 200

function shapeOf(value: unknown, budget: { nodes: number }): Shape {
  if (--budget.nodes < 0) return GENERIC
  if (value === null || value === undefined) return NULL
  if (typeof value !== 'object') return SHARED
  if (value instanceof Date) return { kind: 'date', nullable: false }
  if (value instanceof Uint8Array) return { kind: 'bytes', nullable: false }
  if (Array.isArray(value)) {
    let element = NONE
    for (const v of value) {
      element = merge(element, shapeOf(v, budget))
      if (element.kind === 'generic') return GENERIC
    }
    return { kind: 'array', nullable: false, element }
  }
  const proto = Object.getPrototypeOf(value)
  if (proto !== Object.prototype && proto !== null) return SHARED
  const keys = Object.keys(value)
  if (keys.includes('__proto__')) return GENERIC
  const fields: Shape[] = []
  for (const k of keys) {
    const f = shapeOf((value as Record<string, unknown>)[k], budget)
    if (f.kind === 'generic' && budget.nodes < 0) return GENERIC
    fields.push(f)
  }
  return { kind: 'object', nullable: false, keys, fields }
}

/** One shape covering two values found in the same place (two rows' same field). */
function merge(a: Shape, b: Shape): Shape {
  if (a.kind === 'none') return b
  if (b.kind === 'none') return a
  if (a.kind === 'generic' || b.kind === 'generic') return GENERIC
  if (a.kind === 'null') return b.kind === 'null' || b.kind === 'shared' ? b : { ...b, nullable: true }
  if (b.kind === 'null') return a.kind === 'shared' ? a : { ...a, nullable: true }
  if (a.kind === 'shared' || b.kind === 'shared') return a.kind === b.kind ? a : GENERIC
  if (a.kind !== b.kind) return GENERIC
  const nullable = a.nullable || b.nullable
  if (a.kind === 'array' && b.kind === 'array') {
    const element = merge(a.element, b.element)
    return element.kind === 'generic' ? GENERIC : { kind: 'array', nullable, element }
  }
  if (a.kind === 'object' && b.kind === 'object') {
    if (a.keys.length !== b.keys.length || a.keys.some((k, i) => b.keys[i] !== k)) return GENERIC
    return { kind: 'object', nullable, keys: a.keys, fields: a.fields.map((f, i) => merge(f, b.fields[i]!)) }
  }
  return { kind: a.kind, nullable } as Shape
}

function countNodes(s: Shape): number {
  if (s.kind === 'object') return 1 + s.fields.reduce((n, f) => n + countNodes(f), 0)
  if (s.kind === 'array') return 1 + countNodes(s.element)
  return 1
}

export type Cloner = <T>(value: T) => T

/** Compiled cloners by the code they run: results of one query share one. */
const compiled = new Map<string, Cloner>()
const MAX_COMPILED = 500

/**
 * A function copying `value` exactly as cloneResult would (and any value of the same shape;
 * the near cache calls it only on the value it was compiled for). Compiled once per shape.
 */
export function compileClone(value: unknown): Cloner {
  // The walk is linear in the value (as one copy is); the budget only stops pathological ones.
  const shape = shapeOf(value, { nodes: 10_000_000 })
  if (shape.kind === 'null' || shape.kind === 'shared' || shape.kind === 'none') return identity
  if (shape.kind === 'generic' || countNodes(shape) > MAX_SHAPE_NODES) return cloneResult
  const code = emitCloner(shape)
  let fn = compiled.get(code)
  if (!fn) {
    if (compiled.size >= MAX_COMPILED) compiled.clear()
    try {
      // Key names enter the code only through JSON.stringify.
      fn = new Function('cloneResult', code)(cloneResult) as Cloner
    } catch {
      return cloneResult // code generation disallowed (--disallow-code-generation-from-strings)
    }
    compiled.set(code, fn)
  }
  return fn
}
const identity: Cloner = (v) => v

/**
 * The source of a cloner: one function per object and array shape, an object literal per
 * object (keys in the order cloneResult copies them: Object.keys order), a loop per array.
 */
function emitCloner(root: Shape): string {
  const fns: string[] = []
  const copy = (s: Shape, x: string): string => {
    switch (s.kind) {
      case 'none':
      case 'null':
      case 'shared':
        return x
      case 'generic':
        return `cloneResult(${x})`
      case 'date':
        return nullable(s.nullable, x, `new Date(${x}.getTime())`)
      case 'bytes':
        return nullable(s.nullable, x, `Uint8Array.prototype.slice.call(${x})`)
      case 'object': {
        const name = `o${fns.length}`
        fns.push('')
        const at = fns.length - 1
        const body = s.keys.map((k, i) => `${JSON.stringify(k)}: ${copy(s.fields[i]!, `v[${JSON.stringify(k)}]`)}`).join(',\n')
        fns[at] = `function ${name}(v) { return {\n${body}\n} }`
        return nullable(s.nullable, x, `${name}(${x})`)
      }
      case 'array': {
        const name = `a${fns.length}`
        fns.push('')
        const at = fns.length - 1
        fns[at] = `function ${name}(v) { const n = v.length, out = new Array(n); for (let i = 0; i < n; i++) out[i] = ${copy(s.element, 'v[i]')}; return out }`
        return nullable(s.nullable, x, `${name}(${x})`)
      }
    }
  }
  const top = copy(root, 'value')
  return `${fns.join('\n')}\nreturn function clone(value) { return ${top} }`
}

function nullable(isNullable: boolean, x: string, copied: string): string {
  return isNullable ? `(${x} == null ? ${x} : ${copied})` : copied
}
