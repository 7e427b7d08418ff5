import type { RowValues } from '../redis/store.js'

/** A registered scheme taken apart: what a row's conjunction key under it is made of. */
interface SchemePlan {
  /** Fields the key is made of, in the scheme's (sorted) order. */
  readonly fields: readonly string[]
  /** Model part of the key: the model, or `Model~<read fields>` for a field-scoped scheme. */
  readonly keyModel: string
  /** A field-scoped scheme's read fields (`S~R`: R); undefined for a plain scheme. */
  readonly readFields: readonly string[] | undefined
}

const planMemo = new WeakMap<readonly string[], Map<string, readonly SchemePlan[]>>()

/** Per scheme list (one array per model while its schemes stay the same): parsed once. */
function plansOf(model: string, schemes: readonly string[]): readonly SchemePlan[] {
  let byModel = planMemo.get(schemes)
  if (!byModel) planMemo.set(schemes, (byModel = new Map()))
  let out = byModel.get(model)
  if (!out) {
    out = schemes.map((scheme) => {
      const cut = scheme.indexOf('~')
      const own = cut < 0 ? scheme : scheme.slice(0, cut)
      return {
        fields: own === '' ? [] : own.split(','),
        keyModel: cut < 0 ? model : `${model}~${scheme.slice(cut + 1)}`,
        readFields: cut < 0 ? undefined : scheme.slice(cut + 1).split(','),
      }
    })
    byModel.set(model, out)
  }
  return out
}

/**
 * The conjunction keys (without the cache prefix) that the rows fall under, for each of the
 * given schemes of `model`: what invalidate_rows.lua deletes when no update transform is
 * active, computed here so that Redis only checks and deletes. A field-scoped scheme
 * (`S~R`) is skipped when `changedFields` is known and holds no field of R. Null when a row
 * lacks a field some scheme needs (the model must then go whole, which the script decides).
 */
export function conjKeysOfRows(model: string, schemes: readonly string[], rows: readonly RowValues[], changedFields: readonly string[] | undefined): string[] | null {
  const keys = new Set<string>()
  const plans = plansOf(model, schemes)
  for (const row of rows) {
    for (const plan of plans) {
      if (plan.readFields && changedFields && !plan.readFields.some((f) => changedFields.includes(f))) continue
      let key = `${plan.keyModel}:`
      for (let k = 0; k < plan.fields.length; k++) {
        const name = plan.fields[k]!
        const value = row.find(([f]) => f === name)
        if (!value) return null
        key += `${k > 0 ? '&' : ''}${name}=${value[1]}`
      }
      keys.add(key)
    }
  }
  return [...keys]
}

/**
 * More update transforms active than this, and an updateMany's end goes through
 * invalidate_rows.lua: each one adds a transformed copy of every row.
 */
export const MAX_APPLIED_TRANSFORMS = 8

/**
 * The rows, each also with every update transform's data applied (a transform's data text
 * is "field\tvalue\t...", see UpdateTransform): the images invalidate_rows.lua derives
 * from them while those transforms are active. Keys of these under every scheme (no
 * field-scoped skipping: a transform changes fields too) are what it deletes.
 */
export function rowsUnderTransforms(rows: readonly RowValues[], transforms: readonly string[]): RowValues[] {
  const data = transforms.map((text) => {
    const parts = text.split('\t').filter((p) => p !== '')
    const set = new Map<string, string>()
    for (let k = 0; k + 1 < parts.length; k += 2) set.set(parts[k]!, parts[k + 1]!)
    return set
  })
  const out: RowValues[] = []
  for (const row of rows) {
    out.push(row)
    for (const set of data) out.push([...row.filter(([f]) => !set.has(f)), ...set])
  }
  return out
}
