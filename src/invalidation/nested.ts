import type { CacheopsDatamodel, ModelInfo, RelationFieldInfo } from '../datamodel/types.js'
import { modelsChangedByDelete, modelsChangedByKeyUpdate } from './cascades.js'
import { conjFieldsOf } from './writes.js'

/**
 * Nested writes (`data: { posts: { create, connect, update, delete, ... } }`) change
 * related rows that Prisma's hook never shows us one by one. We read them around the write
 * instead: the parent with an include tree that mirrors the relations the data touches
 * (before and after the write), and the rows it will connect (before). Their images are
 * then invalidated like any row's, under the write-in-progress guard of each model, which
 * makes images read this way enough even with concurrent writers (docs/design.md).
 */

/** At most this many related rows per relation are read; past it, the model goes whole. */
export const MAX_NESTED_ROWS = 500

/** Operation keys inside a relation's nested data that lead to rows of the related model. */
const NESTED_DATA_KEYS = ['create', 'createMany', 'connectOrCreate', 'update', 'updateMany', 'upsert']

export interface NestedWritePlan {
  /** select for the parent: its conjunction fields plus, per touched relation, the same again. */
  readonly selection: Record<string, unknown>
  /** Rows that `connect`/`connectOrCreate`/`set`/`upsert` may move: their old images. */
  readonly targets: readonly { readonly model: string; readonly where: unknown }[]
  /** Every model whose rows the nested data reaches. */
  readonly models: ReadonlySet<string>
  /** Models the database changes in turn (nested deletes and key updates): whole. */
  readonly cascades: ReadonlySet<string>
  /** Only `create`/`createMany` at every depth: the write touches no row that existed. */
  readonly createsOnly: boolean
}

/** Null when the data touches no relation. */
export function planNestedWrite(dm: CacheopsDatamodel, modelName: string, data: readonly unknown[]): NestedWritePlan | null {
  const model = dm.models[modelName]
  if (!model) return null
  // Most writes set scalar fields only: no plan to build.
  if (!data.some((d) => isObject(d) && Object.keys(d).some((key) => model.fields[key]?.kind === 'relation'))) return null
  const targets: { model: string; where: unknown }[] = []
  const models = new Set<string>()
  const cascades = new Set<string>()
  const ops = new Set<string>()
  const selection = selectionFor(dm, model, data, targets, models, cascades, ops)
  const createsOnly = [...ops].every((op) => op === 'create' || op === 'createMany')
  return models.size === 0 ? null : { selection, targets, models, cascades, createsOnly }
}

function selectionFor(
  dm: CacheopsDatamodel,
  model: ModelInfo,
  datas: readonly unknown[],
  targets: { model: string; where: unknown }[],
  models: Set<string>,
  cascades: Set<string>,
  seenOps: Set<string>,
): Record<string, unknown> {
  const select: Record<string, unknown> = Object.fromEntries(conjFieldsOf(model).map((f) => [f, true]))
  const byRelation = new Map<string, unknown[]>()
  for (const data of datas) {
    if (!isObject(data)) continue
    for (const [key, value] of Object.entries(data)) {
      const field = model.fields[key]
      if (field?.kind !== 'relation' || !isObject(value)) continue
      const list = byRelation.get(key) ?? []
      list.push(value)
      byRelation.set(key, list)
    }
  }
  for (const [key, ops] of byRelation) {
    const field = model.fields[key] as RelationFieldInfo
    const target = dm.models[field.type]
    if (!target) continue
    models.add(target.name)
    const innerData: unknown[] = []
    for (const op of ops as Record<string, unknown>[]) {
      for (const k of Object.keys(op)) seenOps.add(k)
      if (op.delete !== undefined || op.deleteMany !== undefined) modelsChangedByDelete(dm, target.name, cascades)
      for (const k of ['update', 'updateMany', 'upsert']) {
        for (const item of asList(op[k])) {
          if (!isObject(item)) continue
          const changed = [item.data, item.update, k === 'update' && item.where === undefined ? item : undefined].flatMap((d) => (isObject(d) ? Object.keys(d) : []))
          modelsChangedByKeyUpdate(dm, target.name, changed, cascades)
        }
      }
      for (const w of [...asList(op.connect), ...asList(op.set)]) targets.push({ model: target.name, where: w })
      for (const c of asList(op.connectOrCreate)) if (isObject(c)) targets.push({ model: target.name, where: c.where })
      for (const u of asList(op.upsert)) if (isObject(u) && u.where !== undefined) targets.push({ model: target.name, where: u.where })
      for (const k of NESTED_DATA_KEYS) {
        for (const item of asList(op[k])) {
          if (!isObject(item)) continue
          // create/connectOrCreate.create/upsert.create|update/update.data/updateMany.data/createMany.data
          const whole = k === 'create' || (k === 'update' && item.data === undefined && item.where === undefined) // to-one shorthand
          const payloads = [item.data, item.create, item.update, whole ? item : undefined]
          for (const p of payloads) for (const d of asList(p)) innerData.push(d)
        }
      }
    }
    const inner = selectionFor(dm, target, innerData, targets, models, cascades, seenOps)
    select[key] = field.isList ? { select: inner, take: MAX_NESTED_ROWS + 1 } : { select: inner }
  }
  return select
}

/**
 * Rows per model found in a parent read with `planNestedWrite(...).selection`, and the
 * models whose relation had more rows than were read (to be invalidated whole).
 */
export function rowsOfNestedRead(
  dm: CacheopsDatamodel,
  modelName: string,
  selection: Record<string, unknown>,
  parent: unknown,
  out: Map<string, Record<string, unknown>[]> = new Map(),
  overflow: Set<string> = new Set(),
): { rows: Map<string, Record<string, unknown>[]>; overflow: Set<string> } {
  const model = dm.models[modelName]
  if (!model || !isObject(parent)) return { rows: out, overflow }
  for (const [key, sel] of Object.entries(selection)) {
    const field = model.fields[key]
    if (field?.kind !== 'relation' || !isObject(sel) || !isObject(sel.select)) continue
    const value = parent[key]
    const children = Array.isArray(value) ? value : value === null || value === undefined ? [] : [value]
    if (children.length > MAX_NESTED_ROWS) overflow.add(field.type)
    // One list per model, shared by every depth: a self-relation (Team.children.children)
    // reaches the same model again below, and its rows must land in the same list.
    let list = out.get(field.type)
    if (!list) out.set(field.type, (list = []))
    for (const child of children) {
      if (!isObject(child)) continue
      list.push(child)
      rowsOfNestedRead(dm, field.type, sel.select, child, out, overflow)
    }
  }
  return { rows: out, overflow }
}

function asList(v: unknown): unknown[] {
  return v === undefined || v === null ? [] : Array.isArray(v) ? v : [v]
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}
