import type { CacheopsDatamodel } from '../datamodel/types.js'

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
 * Every model a nested write could reach from `model`: the target of any relation key in
 * the data, at any depth, plus whatever the database changes in turn when those rows are
 * deleted or re-keyed. Deliberately generous: used for model-wide invalidation.
 */
export function modelsTouchedByNestedWrite(dm: CacheopsDatamodel, model: string, data: unknown): Set<string> {
  const out = new Set<string>()
  walkData(dm, model, data, out)
  for (const m of [...out]) {
    for (const x of modelsChangedByDelete(dm, m)) out.add(x)
  }
  return out
}

function walkData(dm: CacheopsDatamodel, model: string, value: unknown, out: Set<string>): void {
  if (Array.isArray(value)) {
    for (const v of value) walkData(dm, model, v, out)
    return
  }
  if (typeof value !== 'object' || value === null || Object.getPrototypeOf(value) !== Object.prototype) return
  const info = dm.models[model]
  for (const [key, v] of Object.entries(value)) {
    const field = info?.fields[key]
    if (field?.kind === 'relation') {
      out.add(field.type)
      walkData(dm, field.type, v, out)
    } else if (!field) {
      // Operation keys (create, connect, where, data, update, upsert, ...): same model.
      walkData(dm, model, v, out)
    }
  }
}

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
