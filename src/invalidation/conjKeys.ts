import type { RowValues } from '../store/types.js'

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
 * Past this many images per row, the keys are left to invalidate_rows.lua, which makes the
 * model whole past MAX_VARIANTS (64) variants of one scheme: the same bound.
 */
const MAX_IMAGES_PER_ROW = 65

/**
 * The rows as they may be while update transforms are active (a transform's data text is
 * "field\tvalue\t...", see UpdateTransform): every field any transform sets takes its own
 * value or any transform's value for it, in every combination. Concurrent updateManys
 * each read their rows before either committed, so a row can end up with both changes,
 * and a row one of them moves into the other's where clause gets the other's data on top:
 * one transform at a time would never key the row as both left it. Combinations no
 * sequence of writes makes only delete more keys. These are the images invalidate_rows.lua
 * derives; keys of these under every scheme (no field-scoped skipping: a transform changes
 * fields too) are what it deletes. Null past MAX_IMAGES_PER_ROW images per row.
 */
export function rowsUnderTransforms(rows: readonly RowValues[], transforms: readonly string[]): RowValues[] | null {
  if (transforms.length === 0) return [...rows]
  // Per field, the distinct values transforms give it.
  const values = new Map<string, string[]>()
  for (const text of transforms) {
    const parts = text.split('\t').filter((p) => p !== '')
    for (let k = 0; k + 1 < parts.length; k += 2) {
      const list = values.get(parts[k]!) ?? []
      if (!list.includes(parts[k + 1]!)) list.push(parts[k + 1]!)
      values.set(parts[k]!, list)
    }
  }
  let perRow = 1
  for (const list of values.values()) perRow *= list.length + 1
  if (perRow > MAX_IMAGES_PER_ROW) return null
  const out: RowValues[] = []
  for (const row of rows) {
    let images: RowValues[] = [row]
    for (const [field, list] of values) {
      const next: RowValues[] = []
      for (const image of images) {
        next.push(image)
        for (const v of list) next.push([...image.filter(([f]) => f !== field), [field, v]])
      }
      images = next
    }
    out.push(...images)
  }
  return out
}
