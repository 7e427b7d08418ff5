import type { CacheopsDatamodel, ModelInfo } from '../datamodel/types.js'
import { isDecimalLike } from './values.js'
import { type Conjunction, type DnfOptions, type WalkContext, FALSE, TRUE, dnfOfWhere, isPlainObject, or } from './dnf.js'

/**
 * What a cached read depends on, per model: the conjunctions whose rows it reads.
 * An empty conjunction means "any row of that model"; an empty list means the read
 * cannot be changed by any row write (e.g. `in: []`) but still belongs to the model.
 */
export type ReadDependencies = ReadonlyMap<string, readonly Conjunction[]>

/**
 * Dependencies of a read of `modelName` with Prisma `args`: the where clause (and
 * cursor) gives conjunctions on the model itself; every relation the query filters,
 * includes, selects, counts or orders through adds its model as a whole.
 */
export function readDependencies(
  datamodel: CacheopsDatamodel,
  modelName: string,
  args: unknown,
  options: DnfOptions,
): ReadDependencies {
  return readPlan(datamodel, modelName, args, options, false).deps
}

export interface ReadPlan {
  /** Known before the read: the where clause, and models read through filters/ordering. */
  readonly deps: ReadDependencies
  /**
   * Models reached only through include / relation select / `_count`: leased whole before
   * the read, then narrowed to the rows the result reaches (resultDependencies.ts).
   */
  readonly derived: ReadonlySet<string>
}

/** readDependencies, optionally leaving included relations to be taken from the result. */
export function readPlan(
  datamodel: CacheopsDatamodel,
  modelName: string,
  args: unknown,
  options: DnfOptions,
  deriveFromResult: boolean,
): ReadPlan {
  const model = datamodel.models[modelName]
  if (!model) throw new Error(`prisma-cacheops: model ${modelName} is not in the datamodel`)
  const ctx: WalkContext = { datamodel, options, relatedModels: new Set(), selectedModels: deriveFromResult ? new Set() : undefined }
  const a = isPlainObject(args) ? args : {}
  let own = a.where === undefined ? TRUE : dnfOfWhere(model, a.where, ctx)
  // The cursor row positions the page even when it does not match the where clause.
  if (a.cursor !== undefined && own.length > 0) own = or(own, dnfOfWhere(model, a.cursor, ctx), options)
  walkReadArgs(model, a, ctx)

  const deps = new Map<string, readonly Conjunction[]>()
  deps.set(modelName, own.some((c) => c.size === 0) ? TRUE : dedupe(own))
  for (const m of ctx.relatedModels) {
    // A relation back to the model itself makes the whole model a dependency.
    deps.set(m, TRUE)
  }
  const derived = new Set<string>()
  for (const m of ctx.selectedModels ?? []) {
    const known = deps.get(m)
    if (!known?.some((c) => c.size === 0)) derived.add(m)
  }
  return { deps, derived }
}

/** include / select / _count / orderBy, recursively, recording related models. */
function walkReadArgs(model: ModelInfo, args: Record<string, unknown>, ctx: WalkContext): void {
  if (isPlainObject(args.include)) walkSelection(model, args.include, ctx)
  if (isPlainObject(args.select)) walkSelection(model, args.select, ctx)
  walkOrderBy(model, args.orderBy, ctx)
}

function walkSelection(model: ModelInfo, selection: Record<string, unknown>, ctx: WalkContext): void {
  for (const [key, value] of Object.entries(selection)) {
    if (!value) continue
    if (key === '_count') {
      walkCountSelection(model, value, ctx)
      continue
    }
    const field = model.fields[key]
    if (field?.kind !== 'relation') continue
    ;(ctx.selectedModels ?? ctx.relatedModels).add(field.type)
    const target = ctx.datamodel.models[field.type]
    if (target && isPlainObject(value)) walkNestedRead(target, value, ctx)
  }
}

function walkNestedRead(model: ModelInfo, args: Record<string, unknown>, ctx: WalkContext): void {
  if (args.where !== undefined) dnfOfWhere(model, args.where, ctx)
  walkReadArgs(model, args, ctx)
}

function walkCountSelection(model: ModelInfo, value: unknown, ctx: WalkContext): void {
  const select = isPlainObject(value) && isPlainObject(value.select) ? value.select : null
  for (const [name, field] of Object.entries(model.fields)) {
    if (field.kind !== 'relation' || !field.isList) continue
    const entry = select ? select[name] : true
    if (!entry) continue
    ;(ctx.selectedModels ?? ctx.relatedModels).add(field.type)
    const target = ctx.datamodel.models[field.type]
    if (target && isPlainObject(entry) && entry.where !== undefined) dnfOfWhere(target, entry.where, ctx)
  }
}

function walkOrderBy(model: ModelInfo, orderBy: unknown, ctx: WalkContext): void {
  for (const item of Array.isArray(orderBy) ? orderBy : [orderBy]) {
    if (!isPlainObject(item)) continue
    for (const [key, value] of Object.entries(item)) {
      const field = model.fields[key]
      if (field?.kind !== 'relation') continue
      ctx.relatedModels.add(field.type)
      const target = ctx.datamodel.models[field.type]
      if (target) walkOrderBy(target, value, ctx)
    }
  }
}

function dedupe(conjs: readonly Conjunction[]): Conjunction[] {
  const seen = new Map<string, Conjunction>()
  for (const c of conjs) seen.set(conjKeyOf('', c), c)
  return [...seen.values()]
}

/**
 * The stamp a tag is kept under: a conjunction key of a pseudo-model no Prisma model can be
 * named (`#tag`), so tags need nothing of their own in Redis or in the Lua scripts.
 */
export function tagKeyOf(tag: string): string {
  return `#tag:${tag}`
}

/**
 * The stamp every tagged entry also depends on for each model with bound tags (config
 * `tags`): when such a model is invalidated whole, the tags its rows would give are
 * unknown, so this one goes instead and takes every tagged entry with it.
 */
export function boundTagsKeyOf(model: string): string {
  return `#bound:${model}`
}

/**
 * The fields of `model` whose values can change the result of a count, an aggregate or a
 * groupBy, sorted; undefined when that is every field (any other operation, a relation
 * filter, a field reference, anything not understood). A write that changes none of them leaves
 * the result as it was, provided it creates or deletes no row: see fieldScopedScheme.
 */
export function fieldsReadBy(model: ModelInfo, operation: string, args: unknown): string[] | undefined {
  if (operation !== 'count' && operation !== 'aggregate' && operation !== 'groupBy') return undefined
  if (args !== undefined && !isPlainObject(args)) return undefined
  const fields = new Set<string>()
  const scalar = (name: string) => {
    const f = model.fields[name]
    if (!f || f.kind === 'relation') return false
    fields.add(name)
    return true
  }
  for (const [key, value] of Object.entries(args ?? {})) {
    if (value === undefined) continue
    // take, skip and cursor are left out on purpose: which rows a page holds can depend on
    // their physical order among equal sort keys, which any update may change.
    switch (key) {
      case 'where':
      case 'having': // groupBy: filters on the groups' fields and aggregates
        if (!whereFields(value, scalar)) return undefined
        break
      case 'orderBy':
        for (const item of Array.isArray(value) ? value : [value]) {
          if (!isPlainObject(item)) return undefined
          for (const [name, order] of Object.entries(item)) {
            // groupBy orders by aggregates too: { _count: { field: 'asc' } }
            const ok = AGGREGATES.has(name) && isPlainObject(order)
              ? Object.keys(order).every((f) => f === '_all' || scalar(f))
              : scalar(name)
            if (!ok) return undefined
          }
        }
        break
      case 'by': // groupBy: a row moves between groups when these change
      case 'distinct':
        if (!(Array.isArray(value) ? value : [value]).every((f) => typeof f === 'string' && scalar(f))) return undefined
        break
      case 'select': // count({ select: { _all, field } }): non-null values of the field
      case '_count':
      case '_sum':
      case '_avg':
      case '_min':
      case '_max':
        if (value === true && key === '_count') break
        if (!isPlainObject(value)) return undefined
        for (const [name, on] of Object.entries(value)) if (on && name !== '_all' && !scalar(name)) return undefined
        break
      default:
        return undefined
    }
  }
  return [...fields].sort()
}

const AGGREGATES = new Set(['_count', '_sum', '_avg', '_min', '_max'])

/** Field names a where (or having) filters on; false if it reaches beyond plain scalar filters. */
function whereFields(where: unknown, scalar: (name: string) => boolean): boolean {
  if (!isPlainObject(where)) return false
  for (const [key, value] of Object.entries(where)) {
    if (value === undefined) continue
    if (key === 'AND' || key === 'OR' || key === 'NOT') {
      if (!(Array.isArray(value) ? value : [value]).every((w) => whereFields(w, scalar))) return false
    } else if (!scalar(key) || !plainFilterValue(value)) {
      // A relation filter, a compound unique, or an unknown key.
      return false
    }
  }
  return true
}

/**
 * Whether a field's filter holds only values (no field reference, which would read
 * another field of the row): plain objects, arrays and values of the scalar types.
 */
function plainFilterValue(value: unknown): boolean {
  if (value === null || typeof value !== 'object' || value instanceof Date || value instanceof Uint8Array) return true
  if (Array.isArray(value)) return value.every(plainFilterValue)
  const proto = Object.getPrototypeOf(value)
  if (proto === Object.prototype || proto === null) return Object.values(value).every(plainFilterValue)
  return isDecimalLike(value)
}

/**
 * A conjunction scheme scoped to the fields a read reads (`authorId~authorId,views`), and
 * the model part of its keys (`Post~authorId,views`): a write that changes none of those
 * fields and creates or deletes no row skips it (invalidate_rows.lua).
 */
export function fieldScopedScheme(conj: Conjunction, fields: readonly string[]): string {
  return `${schemeOf(conj)}~${fields.join(',')}`
}
export function fieldScopedModel(model: string, fields: readonly string[]): string {
  return `${model}~${fields.join(',')}`
}

/** The fields a scheme keys on (its field-scoped part, after `~`, left out). */
export function fieldsOfScheme(scheme: string): string[] {
  const cut = scheme.indexOf('~')
  const own = cut < 0 ? scheme : scheme.slice(0, cut)
  return own === '' ? [] : own.split(',')
}

/** Scheme of a conjunction: its field names, sorted, comma-joined ('' for model-wide). */
export function schemeOf(conj: Conjunction): string {
  return [...conj.keys()].sort().join(',')
}

/**
 * Redis-side name of a conjunction (without the cache prefix): `Model:f1=v1&f2=v2`,
 * fields sorted. invalidate_rows.lua builds the same text from a row and a scheme.
 */
export function conjKeyOf(modelName: string, conj: Conjunction): string {
  const fields = [...conj.keys()].sort()
  return `${modelName}:${fields.map((f) => `${f}=${conj.get(f)}`).join('&')}`
}

export { FALSE, TRUE }
