import type { CacheopsDatamodel, ModelInfo } from '../datamodel/types.js'
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
