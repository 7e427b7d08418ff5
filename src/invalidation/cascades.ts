import type { CacheopsDatamodel, RelationFieldInfo } from '../datamodel/types.js'

/**
 * Models whose rows the database itself changes when rows of `model` are deleted:
 * ON DELETE CASCADE / SET NULL / SET DEFAULT, followed transitively (User → Post → Comment).
 */
export function modelsChangedByDelete(
  dm: CacheopsDatamodel,
  model: string,
  out = new Set<string>(),
  deleted = new Set<string>([model]),
): Set<string> {
  for (const other of Object.values(dm.models)) {
    for (const f of Object.values(other.fields)) {
      if (f.kind !== 'relation' || f.type !== model || f.fromFields.length === 0 || !acts(f.onDelete)) continue
      out.add(other.name)
      if (f.onDelete !== 'Cascade') {
        modelsChangedByKeyUpdate(dm, other.name, f.fromFields, out) // SET NULL/DEFAULT updates the FK
      } else if (!deleted.has(other.name)) {
        deleted.add(other.name)
        modelsChangedByDelete(dm, other.name, out, deleted) // deleted rows cascade further
      }
    }
  }
  return out
}

/**
 * Models `TRUNCATE ... CASCADE` empties with `model`: every model holding a foreign key to
 * one emptied, whatever its referential action (PostgreSQL truncates referencing tables
 * outright), transitively, and the partners of the implicit many-to-many join tables emptied.
 */
export function modelsEmptiedByTruncate(dm: CacheopsDatamodel, model: string, out = new Set<string>([model])): Set<string> {
  for (const other of Object.values(dm.models)) {
    if (out.has(other.name)) continue
    const references = Object.values(other.fields).some((f) => f.kind === 'relation' && f.type === model && f.fromFields.length > 0)
    if (references) {
      out.add(other.name)
      modelsEmptiedByTruncate(dm, other.name, out)
    }
  }
  // The join table is emptied, not the partner's table: its links change, its rows stay.
  for (const j of dm.implicitManyToMany) if (j.A === model || j.B === model) out.add(j.A === model ? j.B : j.A)
  return out
}

/**
 * Models whose rows the database changes when referenced key fields of `model` change
 * (ON UPDATE CASCADE / SET NULL / SET DEFAULT), transitively. Empty when none of
 * `changedFields` is referenced by a foreign key.
 */
export function modelsChangedByKeyUpdate(
  dm: CacheopsDatamodel,
  model: string,
  changedFields: Iterable<string>,
  out = new Set<string>(),
  visited = new Set<string>(),
): Set<string> {
  const changed = new Set(changedFields)
  // Most updates change no referenced key: answered from a per-model set, not a schema walk.
  const referenced = referencedKeyFieldsOf(dm, model)
  if (![...changed].some((f) => referenced.has(f))) return out
  for (const other of Object.values(dm.models)) {
    for (const f of Object.values(other.fields)) {
      if (f.kind !== 'relation' || f.type !== model || f.fromFields.length === 0) continue
      if (!f.toFields.some((t) => changed.has(t)) || !acts(f.onUpdate)) continue
      out.add(other.name)
      const step = `${other.name}.${f.fromFields.join(',')}`
      if (visited.has(step)) continue
      visited.add(step)
      modelsChangedByKeyUpdate(dm, other.name, f.fromFields, out, visited) // the FK may itself be referenced
    }
  }
  return out
}

/**
 * The specification of a write's reach: every model whose rows a write changes *besides
 * the rows it writes itself*, worked out from the datamodel's whole graph, never from the
 * operation alone. It follows
 * - every relation its data names, at any depth (nested create/update/upsert/delete/
 *   connect/disconnect/set...), a self-relation included (then the model itself);
 * - foreign keys that relation operations set: on this model when it holds the key
 *   (`connect` re-points it), on the related model otherwise (its rows are re-pointed);
 *   a changed key that other rows reference re-keys them (ON UPDATE), transitively;
 * - what the database — or Prisma, emulating referential actions under
 *   `relationMode = "prisma"` — does in turn: deleted rows cascading or nulling their
 *   children at every depth, re-keyed keys cascading further.
 * The write paths may invalidate a model of this set row by row when they have an argument
 * for it (docs/design.md "The reach of a write"); every other model of it goes whole.
 * Deliberately generous.
 */
export function relatedModelsChangedBy(dm: CacheopsDatamodel, model: string, operation: string, args: unknown): Set<string> {
  const out = new Set<string>()
  const a = isPlainObject(args) ? args : {}
  switch (operation) {
    case 'delete':
    case 'deleteMany':
      for (const m of deleteReachOf(dm, model)) out.add(m)
      break
    case 'update':
    case 'updateMany':
    case 'updateManyAndReturn':
      walkWriteData(dm, model, a.data, true, out)
      break
    case 'upsert':
      walkWriteData(dm, model, a.update, true, out)
      walkWriteData(dm, model, a.create, false, out)
      break
    case 'create':
      walkWriteData(dm, model, a.data, false, out)
      break
    default:
      // createMany / createManyAndReturn: scalar rows only, new rows nobody references yet.
      break
  }
  return out
}

/**
 * One data object of `model` (`updating`: existing rows get it, so their changed keys
 * re-key others; otherwise the rows are new and nothing references them yet).
 */
function walkWriteData(dm: CacheopsDatamodel, model: string, data: unknown, updating: boolean, out: Set<string>): void {
  if (Array.isArray(data)) {
    for (const d of data) walkWriteData(dm, model, d, updating, out)
    return
  }
  const info = dm.models[model]
  if (!info || !isPlainObject(data)) return
  const changed: string[] = []
  for (const [key, value] of Object.entries(data)) {
    if (value === undefined) continue
    const field = info.fields[key]
    if (!field) continue
    if (field.kind !== 'relation') {
      changed.push(key)
      continue
    }
    const target = field.type
    out.add(target)
    if (field.fromFields.length > 0) changed.push(...field.fromFields) // this row's key is re-pointed
    else if (isPlainObject(value) && REPOINTING_OPS.some((op) => value[op] !== undefined)) {
      // The related rows hold the key: connect/disconnect/set re-point existing ones (rows
      // created here are new: nothing references them yet).
      const back = backRelationOf(dm, model, key)
      if (back) modelsChangedByKeyUpdate(dm, target, back.fromFields, out)
    }
    walkRelationOps(dm, target, value, out)
  }
  if (updating && changed.length > 0) modelsChangedByKeyUpdate(dm, model, changed, out)
}

/** Relation operations that move existing related rows to or from this row. */
const REPOINTING_OPS = ['connect', 'connectOrCreate', 'disconnect', 'set']

/** The operations object of one relation (`{ create, update, delete, ... }`) of `target`. */
function walkRelationOps(dm: CacheopsDatamodel, target: string, ops: unknown, out: Set<string>): void {
  if (!isPlainObject(ops)) return
  for (const [op, payload] of Object.entries(ops)) {
    if (payload === undefined || payload === false) continue
    for (const item of Array.isArray(payload) ? payload : [payload]) {
      switch (op) {
        case 'delete':
        case 'deleteMany':
          for (const m of deleteReachOf(dm, target)) out.add(m)
          break
        case 'create':
          walkWriteData(dm, target, item, false, out)
          break
        case 'createMany':
          walkWriteData(dm, target, isPlainObject(item) ? item.data : undefined, false, out)
          break
        case 'connectOrCreate':
          walkWriteData(dm, target, isPlainObject(item) ? item.create : undefined, false, out)
          break
        case 'update':
        case 'updateMany':
          // `{ where, data }`, or a to-one update's data itself (`update: { name }`).
          walkWriteData(dm, target, isPlainObject(item) && isPlainObject(item.data) && isWhereDataPair(item) ? item.data : item, true, out)
          break
        case 'upsert':
          if (isPlainObject(item)) {
            walkWriteData(dm, target, item.update, true, out)
            walkWriteData(dm, target, item.create, false, out)
          }
          break
        default:
          // connect / disconnect / set: the foreign keys they move were counted by the caller.
          break
      }
    }
  }
}

function isWhereDataPair(item: Record<string, unknown>): boolean {
  return Object.keys(item).every((k) => k === 'where' || k === 'data')
}

/** The relation field on the other side of `model.field` (same relation name). */
function backRelationOf(dm: CacheopsDatamodel, model: string, fieldName: string): RelationFieldInfo | undefined {
  const field = dm.models[model]?.fields[fieldName]
  if (field?.kind !== 'relation') return undefined
  const target = dm.models[field.type]
  if (!target) return undefined
  for (const [name, f] of Object.entries(target.fields)) {
    if (f.kind === 'relation' && f.relationName === field.relationName && f.type === model && !(field.type === model && name === fieldName)) return f
  }
  return undefined
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date)
}

/** modelsChangedByDelete, worked out once per model: every delete asks, the schema does not change. */
function deleteReachOf(dm: CacheopsDatamodel, model: string): ReadonlySet<string> {
  let byModel = deleteReach.get(dm)
  if (!byModel) deleteReach.set(dm, (byModel = new Map()))
  let reach = byModel.get(model)
  if (!reach) byModel.set(model, (reach = modelsChangedByDelete(dm, model)))
  return reach
}
const deleteReach = new WeakMap<CacheopsDatamodel, Map<string, ReadonlySet<string>>>()

function acts(action: string): boolean {
  return action === 'Cascade' || action === 'SetNull' || action === 'SetDefault'
}

/** Fields of `model` that some foreign key references with an ON UPDATE action, per schema. */
function referencedKeyFieldsOf(dm: CacheopsDatamodel, model: string): ReadonlySet<string> {
  let byModel = referencedKeyFields.get(dm)
  if (!byModel) {
    byModel = new Map()
    for (const other of Object.values(dm.models)) {
      for (const f of Object.values(other.fields)) {
        if (f.kind !== 'relation' || f.fromFields.length === 0 || !acts(f.onUpdate)) continue
        const set = byModel.get(f.type) ?? new Set<string>()
        for (const t of f.toFields) set.add(t)
        byModel.set(f.type, set)
      }
    }
    referencedKeyFields.set(dm, byModel)
  }
  return byModel.get(model) ?? NONE
}
const referencedKeyFields = new WeakMap<CacheopsDatamodel, Map<string, Set<string>>>()
const NONE: ReadonlySet<string> = new Set()
