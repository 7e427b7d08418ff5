import type { CacheopsDatamodel, ModelInfo, RelationFieldInfo } from '../datamodel/types.js'
import { TRUE, type Conjunction, isPlainObject } from './dnf.js'
import { encodeConjValue } from './values.js'

/**
 * Dependencies of the relations a read includes (include, relation select, `_count`),
 * taken from its result: users 1 and 2 with their posts depend on `Post.authorId = 1`
 * and `Post.authorId = 2`, not on every post. Per related model, the conjunctions; `TRUE`
 * when the result lacks the values needed (then the whole model).
 *
 * Only valid together with a model-wide lease on those models taken before the database
 * read (see runtime/readPath.ts): the conjunctions are known only after it.
 */
export function resultDependencies(
  dm: CacheopsDatamodel,
  modelName: string,
  args: unknown,
  result: unknown,
): Map<string, Conjunction[]> {
  const out = new Map<string, Conjunction[]>()
  const model = dm.models[modelName]
  if (!model || !isPlainObject(args)) return out
  const rows = asRows(result)
  walk(dm, model, args, rows, out)
  return out
}

function walk(dm: CacheopsDatamodel, model: ModelInfo, args: Record<string, unknown>, rows: Record<string, unknown>[], out: Map<string, Conjunction[]>): void {
  for (const selection of [args.include, args.select]) {
    if (!isPlainObject(selection)) continue
    for (const [key, value] of Object.entries(selection)) {
      if (!value) continue
      if (key === '_count') {
        for (const [name, field] of Object.entries(model.fields)) {
          if (field.kind !== 'relation' || !field.isList) continue
          const counted = isPlainObject(value) && isPlainObject(value.select) ? value.select[name] : true
          if (counted) addRelation(dm, model, field, rows, undefined, out)
        }
        continue
      }
      const field = model.fields[key]
      if (field?.kind !== 'relation') continue
      const nested = rows.flatMap((r) => asRows(r[key]))
      addRelation(dm, model, field, rows, hidesRows(value) ? undefined : nested, out)
      const target = dm.models[field.type]
      if (target && isPlainObject(value)) walk(dm, target, value, nested, out)
    }
  }
}

/** The rows of `field.type` that `rows` reach through `field`, as conjunctions. */
function addRelation(
  dm: CacheopsDatamodel,
  model: ModelInfo,
  field: RelationFieldInfo,
  rows: Record<string, unknown>[],
  /**
   * The related rows the result holds, when they are all the related rows there are;
   * undefined for a `_count` (it holds none) or a nested read that leaves some out.
   */
  nested: Record<string, unknown>[] | undefined,
  out: Map<string, Conjunction[]>,
): void {
  const target = dm.models[field.type]
  if (!target) return
  let conjs: Conjunction[] | null
  if (field.fromFields.length > 0) {
    // The foreign key is ours (post.author): target rows whose referenced fields equal it.
    conjs = rowConjs(target, field.toFields, rows, field.fromFields, model)
  } else {
    const back = Object.values(target.fields).find(
      (f): f is RelationFieldInfo => f.kind === 'relation' && f.relationName === field.relationName && f.type === model.name && f.fromFields.length > 0,
    )
    if (back) {
      // The foreign key is theirs (user.posts): target rows whose FK equals our key.
      conjs = rowConjs(target, back.fromFields, rows, back.toFields, model)
    } else {
      // Implicit many-to-many: links change through writes to either side's rows (connect,
      // disconnect, and deleting a linked row), so the parents' own rows and the linked
      // rows. A count holds no linked rows, and a filtered or paged read leaves out linked
      // rows a write may bring in (a post becoming published): then the whole related model.
      const own = rowConjs(model, model.idFields, rows, model.idFields, model)
      const linked = nested && rowConjs(target, target.idFields, nested, target.idFields, target)
      conjs = own && linked ? linked : null
      if (own) merge(out, model.name, own)
      else merge(out, model.name, TRUE)
    }
  }
  merge(out, target.name, conjs ?? TRUE)
}

/** A nested read whose result may leave out related rows (`where`, paging, `distinct`). */
function hidesRows(value: unknown): boolean {
  return isPlainObject(value) && ['where', 'take', 'skip', 'cursor', 'distinct'].some((k) => value[k] !== undefined)
}

/** For each row: `targetFields[i] = row[sourceFields[i]]`; null when a value is missing. */
function rowConjs(
  target: ModelInfo,
  targetFields: readonly string[],
  rows: Record<string, unknown>[],
  sourceFields: readonly string[],
  source: ModelInfo,
): Conjunction[] | null {
  const conjs: Conjunction[] = []
  // Many rows usually share a parent (a page of posts by one author): one conjunction each.
  const seen = new Set<string>()
  for (const row of rows) {
    const conj = new Map<string, string>()
    let text = ''
    for (let i = 0; i < targetFields.length; i++) {
      const t = target.fields[targetFields[i]!]
      const s = source.fields[sourceFields[i]!]
      const v = row[sourceFields[i]!]
      if (!t || t.kind === 'relation' || !s || s.kind === 'relation' || v === undefined) return null
      if (v === null) {
        conj.clear() // a null foreign key reaches no row
        break
      }
      const encoded = encodeConjValue(t, v)
      if (encoded === undefined) return null
      conj.set(targetFields[i]!, encoded)
      text += `${encoded.length}:${encoded}`
    }
    if (conj.size === targetFields.length && !seen.has(text)) {
      seen.add(text)
      conjs.push(conj)
    }
  }
  return conjs
}

/** Past this many distinct conjunctions for one model, depending on the whole model is cheaper. */
const MAX_CONJUNCTIONS_PER_MODEL = 256

function merge(out: Map<string, Conjunction[]>, model: string, conjs: readonly Conjunction[]): void {
  const prev = out.get(model)
  if (prev?.some((c) => c.size === 0)) return
  if (conjs.some((c) => c.size === 0)) {
    out.set(model, [...TRUE])
    return
  }
  const byKey = new Map<string, Conjunction>()
  for (const c of [...(prev ?? []), ...conjs]) byKey.set([...c].sort().join('&'), c)
  out.set(model, byKey.size > MAX_CONJUNCTIONS_PER_MODEL ? [...TRUE] : [...byKey.values()])
}

function asRows(v: unknown): Record<string, unknown>[] {
  if (Array.isArray(v)) return v.filter(isPlainObject)
  return isPlainObject(v) ? [v] : []
}
