import type { CacheopsDatamodel, ModelInfo, ScalarFieldInfo } from '../datamodel/types.js'
import { encodeConjValue } from './values.js'

/**
 * A conjunction of exact-equality terms on one model's own scalar fields:
 * field name → canonical value (see values.ts). An empty conjunction matches every row.
 */
export type Conjunction = ReadonlyMap<string, string>
/** Disjunctive normal form: OR of conjunctions. `[]` is FALSE, `[empty]` is TRUE. */
export type Dnf = readonly Conjunction[]

export const TRUE: Dnf = [new Map()]
export const FALSE: Dnf = []

export interface DnfOptions {
  /** `in` lists longer than this become "unknown" instead of an OR of equalities. */
  readonly maxInValues: number
  /** A DNF that grows past this many conjunctions collapses to TRUE (model-wide). */
  readonly maxConjunctions: number
}

export const DEFAULT_DNF_OPTIONS: DnfOptions = { maxInValues: 8, maxConjunctions: 64 }

/** Context shared by a walk over one query: which other models it reads through relations. */
export interface WalkContext {
  readonly datamodel: CacheopsDatamodel
  readonly options: DnfOptions
  readonly relatedModels: Set<string>
  /**
   * When set, models reached only by including/selecting/counting a relation go here
   * instead: their dependencies can be taken from the result (resultDependencies.ts).
   */
  readonly selectedModels?: Set<string>
}

export function and(a: Dnf, b: Dnf, options: DnfOptions): Dnf {
  const out: Conjunction[] = []
  for (const x of a) {
    for (const y of b) {
      const merged = mergeConjunctions(x, y)
      if (merged) out.push(merged)
      if (out.length > options.maxConjunctions) return TRUE
    }
  }
  return out
}

export function or(a: Dnf, b: Dnf, options: DnfOptions): Dnf {
  // TRUE absorbs: a disjunction holding an empty conjunction is TRUE itself.
  if (a.some((c) => c.size === 0) || b.some((c) => c.size === 0)) return TRUE
  const out = [...a, ...b]
  return out.length > options.maxConjunctions ? TRUE : out
}

/** Null when the two conjunctions demand different values for one field (impossible). */
function mergeConjunctions(x: Conjunction, y: Conjunction): Conjunction | null {
  if (x.size === 0) return y
  if (y.size === 0) return x
  const m = new Map(x)
  for (const [f, v] of y) {
    const prev = m.get(f)
    if (prev !== undefined && prev !== v) return null
    m.set(f, v)
  }
  return m
}

/**
 * Where clause of `model` → DNF over its own scalar fields. Terms we cannot express as
 * equality (ranges, `not`, string filters, insensitive mode, Json, relations, NOT) become
 * TRUE, i.e. they drop out of their conjunction: the query then depends on more rows
 * than it reads, never fewer. Models reached through relation filters are recorded in
 * `ctx.relatedModels`.
 */
export function dnfOfWhere(model: ModelInfo, where: unknown, ctx: WalkContext): Dnf {
  if (!isPlainObject(where)) return TRUE
  let acc: Dnf = TRUE
  // No early exit on FALSE: later keys may still name related models, and which
  // models get recorded must not depend on key order.
  for (const [key, value] of Object.entries(where)) {
    if (value === undefined) continue
    acc = and(acc, dnfOfTerm(model, key, value, ctx), ctx.options)
  }
  return acc
}

function dnfOfTerm(model: ModelInfo, key: string, value: unknown, ctx: WalkContext): Dnf {
  const { options } = ctx
  if (key === 'AND') {
    let acc: Dnf = TRUE
    for (const w of asArray(value)) acc = and(acc, dnfOfWhere(model, w, ctx), options)
    return acc
  }
  if (key === 'OR') {
    let acc: Dnf = FALSE
    for (const w of asArray(value)) acc = or(acc, dnfOfWhere(model, w, ctx), options)
    return acc
  }
  if (key === 'NOT') {
    // A negation is unknown, but relations inside it are still read.
    for (const w of asArray(value)) dnfOfWhere(model, w, ctx)
    return TRUE
  }
  const field = model.fields[key]
  if (field?.kind === 'relation') {
    ctx.relatedModels.add(field.type)
    walkRelationFilter(field.type, value, ctx)
    return TRUE
  }
  if (field) return dnfOfScalarFilter(key, field, value, options)
  const compound = model.compoundUniques.find((u) => u.name === key)
  if (compound && isPlainObject(value)) {
    let acc: Dnf = TRUE
    for (const name of compound.fields) {
      const f = model.fields[name]
      if (f && f.kind !== 'relation' && name in value) acc = and(acc, dnfOfScalarFilter(name, f, value[name], options), options)
    }
    return acc
  }
  return TRUE
}

function dnfOfScalarFilter(name: string, field: ScalarFieldInfo, value: unknown, options: DnfOptions): Dnf {
  // Prisma sets @updatedAt fields on every update without their value in the data.
  if (value === undefined || field.isUpdatedAt) return TRUE
  if (isScalarValue(value)) return equality(name, field, value)
  if (!isPlainObject(value)) return TRUE
  // `mode: 'insensitive'` changes what equals/in mean: unknown.
  if (value.mode === 'insensitive') return TRUE
  let acc: Dnf = TRUE
  if ('equals' in value && value.equals !== undefined) {
    acc = and(acc, isScalarValue(value.equals) ? equality(name, field, value.equals) : TRUE, options)
  }
  if ('in' in value && value.in !== undefined) {
    const list = value.in
    if (Array.isArray(list) && list.every(isScalarValue)) {
      if (list.length <= options.maxInValues) {
        let alts: Dnf = FALSE
        for (const v of list) alts = or(alts, equality(name, field, v), options)
        acc = and(acc, alts, options)
      }
    }
  }
  return acc
}

function equality(name: string, field: ScalarFieldInfo, value: unknown): Dnf {
  const encoded = encodeConjValue(field, value)
  return encoded === undefined ? TRUE : [new Map([[name, encoded]])]
}

const RELATION_FILTER_KEYS = new Set(['is', 'isNot', 'some', 'every', 'none'])

/** Walks a relation filter only to record further related models. */
export function walkRelationFilter(modelName: string, value: unknown, ctx: WalkContext): void {
  const target = ctx.datamodel.models[modelName]
  if (!target || !isPlainObject(value)) return
  const keys = Object.keys(value)
  if (keys.length > 0 && keys.every((k) => RELATION_FILTER_KEYS.has(k))) {
    for (const k of keys) dnfOfWhere(target, value[k], ctx)
  } else dnfOfWhere(target, value, ctx)
}

export function isScalarValue(v: unknown): boolean {
  if (v === null) return true
  const t = typeof v
  if (t === 'string' || t === 'number' || t === 'boolean' || t === 'bigint') return true
  if (v instanceof Date || v instanceof Uint8Array) return true
  return isDecimalLike(v)
}

function isDecimalLike(v: unknown): boolean {
  return typeof v === 'object' && v !== null && 'd' in v && 'e' in v && 's' in v && typeof (v as { toFixed?: unknown }).toFixed === 'function'
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false
  const proto = Object.getPrototypeOf(v)
  return proto === Object.prototype || proto === null
}

function asArray(v: unknown): unknown[] {
  return Array.isArray(v) ? v : v === undefined ? [] : [v]
}
