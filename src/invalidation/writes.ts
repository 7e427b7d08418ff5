import { identityOf } from '../datamodel/identity.js'
import type { CacheopsDatamodel, ModelInfo } from '../datamodel/types.js'
import { fieldsOfScheme } from '../query/dependencies.js'
import { encodeConjValue, storesAsGiven } from '../query/values.js'
import type { RowValues } from '../store/types.js'
import { modelsChangedByKeyUpdate } from './cascades.js'

export const WRITE_OPS = new Set([
  'create', 'createMany', 'createManyAndReturn',
  'update', 'updateMany', 'updateManyAndReturn',
  'upsert', 'delete', 'deleteMany',
])

/** How one write becomes invalidations. */
export interface WritePlan {
  /** Read the row by this unique where before writing: its old image must be invalidated. */
  readonly preImageWhere?: unknown
  /** Mass write: read the rows matching this where first, their old images must go. */
  readonly massPreImageWhere?: unknown
  /** The returned row is an image to invalidate (the new row, or the deleted one). */
  readonly resultIsImage: boolean
  /** Models invalidated as a whole: mass writes, referential actions. */
  readonly modelWide: ReadonlySet<string>
  /** The data objects that may hold nested writes (see nested.ts). */
  readonly nestedData?: readonly unknown[]
  /** createMany: the rows written, to read back by a unique key they provide. */
  readonly readBack?: readonly unknown[]
  /** delete/deleteMany: the rows' where; what the database cascades from them is ours too. */
  readonly deletes?: unknown
  /** update/upsert: fields the data sets; a referenced key among them re-keys children. */
  readonly changedFields?: readonly string[]
  /** updateMany: its data, applied to every image of the model while it runs. */
  readonly updateData?: unknown
}

/**
 * Pure: which rows and models a write touches. Single-row writes are granular (their
 * before and after images); nested writes are planned by nested.ts; mass writes other
 * than deleteMany and the database's referential actions are invalidated model-wide.
 */
export function planWrite(dm: CacheopsDatamodel, model: string, operation: string, args: unknown): WritePlan {
  const a = (typeof args === 'object' && args !== null ? args : {}) as Record<string, unknown>
  const modelWide = new Set<string>()
  const addAll = (s: Iterable<string>) => { for (const m of s) modelWide.add(m) }
  // The fields data sets: its scalar keys, and the foreign keys its relation operations
  // re-point (`org: { connect }` sets orgId), which other rows may reference.
  const info = dm.models[model]
  const dataFields = (data: unknown) => {
    if (typeof data !== 'object' || data === null) return []
    const keys = Object.keys(data)
    const out = new Set(keys)
    for (const k of keys) {
      const f = info?.fields[k]
      if (f?.kind === 'relation') for (const from of f.fromFields) out.add(from)
    }
    return [...out]
  }
  switch (operation) {
    case 'create':
      return { resultIsImage: true, modelWide, nestedData: [a.data] }
    case 'update':
      return { preImageWhere: a.where, resultIsImage: true, modelWide, nestedData: [a.data], changedFields: dataFields(a.data) }
    case 'upsert':
      return { preImageWhere: a.where, resultIsImage: true, modelWide, nestedData: [a.create, a.update], changedFields: dataFields(a.update) }
    case 'delete':
      return { resultIsImage: true, modelWide, deletes: a.where }
    case 'createMany':
      // No rows come back: read them back by a unique key the data provides, if any.
      return { readBack: asArray(a.data), resultIsImage: false, modelWide }
    case 'createManyAndReturn':
      return { resultIsImage: true, modelWide }
    case 'updateMany':
      // Post-images are the pre-images with the data applied, in Lua (update transforms).
      addAll(modelsChangedByKeyUpdate(dm, model, dataFields(a.data)))
      return { massPreImageWhere: a.where ?? {}, resultIsImage: false, modelWide, updateData: a.data }
    case 'updateManyAndReturn':
      addAll(modelsChangedByKeyUpdate(dm, model, dataFields(a.data)))
      return { massPreImageWhere: a.where ?? {}, resultIsImage: true, modelWide }
    case 'deleteMany':
      return { massPreImageWhere: a.where ?? {}, resultIsImage: false, modelWide, deletes: a.where ?? {} }
    default:
      throw new Error(`prisma-cacheops: ${operation} is not a write`)
  }
}

/**
 * The fields an update changes, for field-scoped schemes (invalidate_rows.lua): its data's
 * scalar fields and every `@updatedAt` field (Prisma sets those behind the data's back).
 * Undefined — every field — for anything that may create or delete rows (upsert too) or
 * whose data reaches a relation.
 */
export function changedFieldsOf(model: ModelInfo, operation: string, args: Record<string, unknown>): string[] | undefined {
  if (operation !== 'update' && operation !== 'updateMany' && operation !== 'updateManyAndReturn') return undefined
  const data = args.data
  if (!isObject(data)) return undefined
  const changed = new Set<string>()
  for (const [name, value] of Object.entries(data)) {
    if (value === undefined) continue
    const f = model.fields[name]
    if (!f || f.kind === 'relation') return undefined
    changed.add(name)
  }
  for (const name of updatedAtFieldsOf(model)) changed.add(name)
  return [...changed].sort()
}

/** `@updatedAt` fields: every update asks, so worked out once per model. */
function updatedAtFieldsOf(model: ModelInfo): readonly string[] {
  let fields = updatedAtByModel.get(model)
  if (!fields) {
    fields = Object.entries(model.fields).filter(([, f]) => f.kind !== 'relation' && f.isUpdatedAt).map(([name]) => name)
    updatedAtByModel.set(model, fields)
  }
  return fields
}
const updatedAtByModel = new WeakMap<ModelInfo, readonly string[]>()

/**
 * Scalar fields whose values can appear in a conjunction: not Json or lists, and not
 * `@updatedAt` fields, which Prisma sets behind the data's back (see updateTransformOf).
 */
export function conjFieldsOf(model: ModelInfo): readonly string[] {
  let fields = conjFieldsByModel.get(model)
  if (!fields) {
    fields = Object.entries(model.fields)
      .filter(([, f]) => f.kind !== 'relation' && !f.isList && f.type !== 'Json' && f.type !== 'Unsupported' && !f.isUpdatedAt)
      .map(([name]) => name)
    conjFieldsByModel.set(model, fields)
  }
  return fields
}
/** Every write asks (several times): worked out once per model. */
const conjFieldsByModel = new WeakMap<ModelInfo, readonly string[]>()

/**
 * An updateMany's data as canonical values of conjunction fields, so that the rows it
 * changes can be invalidated with it applied. Null when some value is not a plain one
 * (`increment`, `multiply`, a field reference, ...) or one the column may store otherwise
 * (storesAsGiven: a Decimal it rounds): then the model goes whole.
 */
export function updateTransformOf(model: ModelInfo, data: unknown): RowValues | null {
  if (!isObject(data)) return null
  const out: [string, string][] = []
  const conj = new Set(conjFieldsOf(model))
  for (const [name, raw] of Object.entries(data)) {
    if (raw === undefined) continue
    const value = isObject(raw) && !(raw instanceof Date) && Object.keys(raw).length === 1 && 'set' in raw ? raw.set : raw
    if (!conj.has(name)) continue // fields no conjunction uses (Json, ...) change nothing we key on
    const f = model.fields[name]
    const encoded = f && f.kind !== 'relation' && storesAsGiven(f, value) ? encodeConjValue(f, value) : undefined
    if (encoded === undefined) return null
    out.push([name, encoded])
  }
  return out
}

/**
 * A row as canonical conjunction values; fields it lacks are simply absent. With the
 * schemes the writer saw (begin_write.lua), only their fields: invalidate_rows.lua makes the
 * model whole if another scheme turns up, so no other field is ever looked at.
 */
export function rowValuesOf(model: ModelInfo, row: Record<string, unknown>, schemes?: readonly string[]): RowValues {
  const out: [string, string][] = []
  for (const name of schemes ? schemeFieldsOf(model, schemes) : conjFieldsOf(model)) {
    const f = model.fields[name]
    if (!f || f.kind === 'relation' || !(name in row)) continue
    const v = encodeConjValue(f, row[name])
    if (v !== undefined) out.push([name, v])
  }
  return out
}

function schemeFieldsOf(model: ModelInfo, schemes: readonly string[]): readonly string[] {
  return memoBySchemes(schemeFieldsMemo, model, schemes, () => {
    const wanted = new Set(schemes.flatMap(fieldsOfScheme))
    return conjFieldsOf(model).filter((f) => wanted.has(f))
  })
}

/**
 * Per list of schemes (the same array while a model's schemes stay the same, see
 * CacheopsRuntime.beginWrite) and model: every write asks, the answer rarely changes.
 */
function memoBySchemes<T>(memo: WeakMap<readonly string[], Map<ModelInfo, T>>, model: ModelInfo, schemes: readonly string[], compute: () => T): T {
  let byModel = memo.get(schemes)
  if (!byModel) memo.set(schemes, (byModel = new Map()))
  let value = byModel.get(model)
  if (value === undefined) byModel.set(model, (value = compute()))
  return value
}
const schemeFieldsMemo = new WeakMap<readonly string[], Map<ModelInfo, readonly string[]>>()
const preImageFieldsMemo = new WeakMap<readonly string[], Map<ModelInfo, readonly string[]>>()

/**
 * Makes a write return every conjunction field (or the `needed` ones), whatever the caller
 * selected, and gives back a function that removes what the caller did not ask for.
 */
export function withConjFieldsSelected(model: ModelInfo, args: Record<string, unknown>, needed: readonly string[] = conjFieldsOf(model)): {
  args: Record<string, unknown>
  project: (result: unknown) => unknown
} {
  const added: string[] = []
  let next = args
  if (isObject(args.select)) {
    const select: Record<string, unknown> = { ...args.select }
    for (const f of needed) if (!select[f]) { select[f] = true; added.push(f) }
    next = { ...args, select }
  } else if (isObject(args.omit)) {
    const omit: Record<string, unknown> = { ...args.omit }
    for (const f of needed) if (omit[f]) { delete omit[f]; added.push(f) }
    next = { ...args, omit }
  }
  if (added.length === 0) return { args: next, project: (r) => r }
  const strip = (row: unknown) => {
    if (isObject(row)) for (const f of added) delete row[f]
  }
  return {
    args: next,
    project: (result) => {
      if (Array.isArray(result)) result.forEach(strip)
      else strip(result)
      return result
    },
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/**
 * Where clause of a compare-and-set write: the caller's unique where, plus "every
 * conjunction field still has the value we read". If another writer changed the row in
 * between, the update matches nothing (P2025) and is retried with a fresh pre-image, so the pre-image we invalidate is the true one.
 */
export function compareAndSetWhere(model: ModelInfo, where: unknown, before: Record<string, unknown>, fields: readonly string[]): Record<string, unknown> {
  const same: Record<string, unknown> = {}
  for (const name of fields) {
    const f = model.fields[name]
    // Only fields whose equality we trust (the ones conjunctions can use) take part.
    if (f && f.kind !== 'relation' && name in before && encodeConjValue(f, before[name]) !== undefined) same[name] = before[name]
  }
  return withExtraCondition(where, same)
}

function withExtraCondition(where: unknown, condition: Record<string, unknown>): Record<string, unknown> {
  const w = isObject(where) ? where : {}
  const and = w.AND === undefined ? [] : Array.isArray(w.AND) ? w.AND : [w.AND]
  return { ...w, AND: [...and, condition] }
}

/**
 * Fields a pre-image needs: those of the schemes cached reads use (`seen`, from
 * begin_write.lua), or every conjunction field when unknown. Always with the fields that
 * identify a row (identityOf: the id, or a unique for a model without one), so a select is
 * never empty. Empty when nothing is cached: no pre-image is needed.
 */
export function preImageFields(model: ModelInfo, seen: readonly string[] | undefined): readonly string[] {
  if (seen !== undefined && seen.length === 0) return []
  const compute = () => {
    const fields = new Set(seen === undefined ? conjFieldsOf(model) : seen.flatMap(fieldsOfScheme))
    for (const id of identityOf(model)) fields.add(id)
    return [...fields].filter((f) => model.fields[f] && model.fields[f]!.kind !== 'relation')
  }
  return seen === undefined ? compute() : memoBySchemes(preImageFieldsMemo, model, seen, compute)
}

/**
 * Whether a single-row update must read the row before writing: only if its data may
 * change a field of the cached schemes (`preImage`, from preImageFields) — or a relation,
 * whose foreign keys it sets. Otherwise the row's conjunction values are the same before
 * and after, and the write's own result (RETURNING) is the only image needed.
 */
export function updateChangesConjFields(model: ModelInfo, changedFields: readonly string[], preImage: readonly string[]): boolean {
  return changedFields.some((name) => {
    const f = model.fields[name]
    return f === undefined || f.kind === 'relation' || preImage.includes(name)
  })
}

/** More prior images of each returned row than this, and a mass update reads its pre-images instead. */
export const MAX_PRIOR_VARIANTS = 16

/**
 * For a mass update whose rows come back from the write itself (`updateManyAndReturn`):
 * every value each keyed field its data sets may have held before, as canonical values —
 * the two of a Boolean, the values of an enum, and null where the field is optional. Its
 * other fields are as returned (the data left them alone), so these give every row's
 * prior images without reading them first. Fields no scheme keys on may change in any way
 * (`increment`, ...). Null when some keyed field's prior value cannot be listed (an Int, a
 * String, an enum of a datamodel generated without its values), or when the data is not
 * plain scalar fields: then the write needs its pre-images read.
 */
export function priorValuesOf(model: ModelInfo, data: unknown, schemes: readonly string[]): ReadonlyMap<string, readonly string[]> | null {
  if (!isObject(data)) return null
  const keyed = schemeFieldsOf(model, schemes)
  const prior = new Map<string, readonly string[]>()
  let variants = 1
  for (const [name, value] of Object.entries(data)) {
    if (value === undefined) continue
    const f = model.fields[name]
    if (!f || f.kind === 'relation') return null
    if (!keyed.includes(name)) continue
    const listed = f.kind === 'enum' ? f.values : f.type === 'Boolean' ? [true, false] : undefined
    if (listed === undefined) return null
    const domain: string[] = []
    for (const v of f.isRequired ? listed : [...listed, null]) {
      const encoded = encodeConjValue(f, v)
      if (encoded === undefined) return null
      domain.push(encoded)
    }
    variants *= domain.length
    if (variants > MAX_PRIOR_VARIANTS) return null
    prior.set(name, domain)
  }
  return prior
}

/** Each row under every combination of the prior values (priorValuesOf): its own values among them. */
export function withPriorValues(rows: readonly RowValues[], prior: ReadonlyMap<string, readonly string[]>): RowValues[] {
  let out: RowValues[] = [...rows]
  for (const [name, domain] of prior) {
    const next: RowValues[] = []
    for (const row of out) {
      const rest = row.filter(([f]) => f !== name)
      for (const v of domain) next.push([...rest, [name, v]])
    }
    out = next
  }
  return out
}

/**
 * A where clause finding the rows `data` created, by the first unique key (id, single or
 * compound unique) every row provides; null when there is none.
 */
export function readBackWhere(model: ModelInfo, data: readonly unknown[]): Record<string, unknown> | null {
  const rows = data.filter(isObject)
  if (rows.length === 0 || rows.length !== data.length) return null
  const singles = Object.entries(model.fields).filter(([, f]) => f.kind !== 'relation' && (f.isId || f.isUnique)).map(([n]) => [n])
  const keys: string[][] = [[...identityOf(model)], ...singles, ...model.compoundUniques.map((u) => [...u.fields])]
  const provided = (row: Record<string, unknown>, f: string) => row[f] !== undefined && row[f] !== null && !isObject(row[f])
  const key = keys.find((k) => k.length > 0 && rows.every((r) => k.every((f) => provided(r, f))))
  if (!key) return null
  return { OR: rows.map((r) => Object.fromEntries(key.map((f) => [f, r[f]]))) }
}

function asArray(v: unknown): unknown[] {
  return Array.isArray(v) ? v : v === undefined ? [] : [v]
}
