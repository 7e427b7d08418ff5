import type { ModelInfo } from './types.js'

/**
 * The fields that identify one row of a model: its primary key, or — for a model without
 * `@id`/`@@id`, which Prisma allows — its first unique criterion whose fields are all
 * required scalars (Prisma requires one). Everything that must find "this row again" (a
 * pre-image's select, reading a written parent back, rows that left a parent) uses this,
 * never `idFields` alone: an empty key would select nothing and find every row.
 */
export function identityOf(model: ModelInfo): readonly string[] {
  let fields = identities.get(model)
  if (!fields) {
    fields = model.idFields.length > 0 ? model.idFields : (firstRequiredUnique(model) ?? [])
    identities.set(model, fields)
  }
  return fields
}
const identities = new WeakMap<ModelInfo, readonly string[]>()

function firstRequiredUnique(model: ModelInfo): readonly string[] | undefined {
  const required = (name: string) => {
    const f = model.fields[name]
    return f !== undefined && f.kind !== 'relation' && f.isRequired && !f.isList
  }
  for (const [name, f] of Object.entries(model.fields)) if (f.kind !== 'relation' && f.isUnique && required(name)) return [name]
  return model.compoundUniques.find((u) => u.fields.every(required))?.fields
}

/** A `WhereUniqueInput` for one row by its identity (`{ id }` or `{ roomId_hour: {...} }`); undefined if a value is missing. */
export function whereIdentity(model: ModelInfo, row: Record<string, unknown>): Record<string, unknown> | undefined {
  const fields = identityOf(model)
  if (fields.length === 0 || fields.some((f) => row[f] === undefined || row[f] === null)) return undefined
  if (fields.length === 1) return { [fields[0]!]: row[fields[0]!] }
  const name = model.compoundUniques.find((u) => u.fields.length === fields.length && u.fields.every((f, i) => f === fields[i]))?.name ?? fields.join('_')
  return { [name]: Object.fromEntries(fields.map((f) => [f, row[f]])) }
}
