// Query parts from the datamodel alone: where filters (every kind Prisma offers), total
// orderBy, select/include with nested where/take/orderBy and _count.
import type { SField, SModel, SRelation } from './schema.ts'
import { orderable, pickValue, type Json } from './values.ts'
import type { World } from './world.ts'

type Obj = { [k: string]: Json }

const NUMERIC = new Set(['Int', 'Float', 'Decimal', 'BigInt'])
const COMPARABLE = new Set(['Int', 'Float', 'Decimal', 'BigInt', 'DateTime', 'String'])

/** Fields filters may use (@updatedAt is set client-side, differently on A and B). */
const filterable = (f: SField) => !f.isUpdatedAt && f.type !== 'Json'

export function scalarFilter(w: World, m: SModel, f: SField): Json {
  const r = w.r
  const v = () => w.value(m, f)
  if (f.isList) {
    const el = () => pickValue(r, { ...f, isList: false })
    switch (r.int(5)) {
      case 0: return { has: el() }
      case 1: return { hasSome: [el(), el()] }
      case 2: return { hasEvery: [el()] }
      case 3: return { isEmpty: r.chance(0.5) }
      default: return { equals: pickValue(r, f) }
    }
  }
  if (!f.isRequired && r.chance(0.15)) return r.chance(0.5) ? null : { not: null }
  if (f.type === 'Boolean') return r.pick([() => v(), () => ({ equals: v() }), () => ({ not: v() })])()
  const choices: (() => Json)[] = [() => v(), () => ({ equals: v() }), () => ({ in: [v(), v()] }), () => ({ notIn: [v()] }), () => ({ not: v() })]
  if (COMPARABLE.has(f.type)) {
    const op = r.pick(['lt', 'lte', 'gt', 'gte'])
    choices.push(() => ({ [op]: v() }), () => ({ gte: v(), lt: v() }))
  }
  if (f.type === 'String' && f.nativeType !== 'Uuid') {
    const op = r.pick(['contains', 'startsWith', 'endsWith'])
    const s = String(v()).slice(0, 1 + r.int(2))
    choices.push(() => ({ [op]: s }), () => ({ [op]: s.toUpperCase(), mode: 'insensitive' }), () => ({ equals: String(v()).toUpperCase(), mode: 'insensitive' }))
  }
  if (f.type === 'Bytes') return r.chance(0.5) ? v() : { not: v() }
  return r.pick(choices)()
}

export function where(w: World, m: SModel, depth = 0): Obj {
  const r = w.r
  const kind = r.int(10)
  const fields = m.scalars.filter(filterable)
  if (kind < 5 || depth >= 2) {
    const f = r.pick(fields)
    return { [f.name]: scalarFilter(w, m, f) }
  }
  if (kind < 8 && m.relations.length) {
    const rel = r.pick(m.relations)
    const target = w.model(rel.type)
    const sub = r.chance(0.2) ? {} : where(w, target, depth + 1)
    if (rel.isList) return { [rel.name]: { [r.pick(['some', 'every', 'none'])]: sub } }
    if (!rel.isRequired && r.chance(0.25)) return { [rel.name]: r.chance(0.5) ? null : { isNot: null } }
    return { [rel.name]: r.chance(0.3) ? sub : { [r.pick(['is', 'isNot'])]: sub } }
  }
  const a = where(w, m, depth + 1)
  const b = where(w, m, depth + 1)
  switch (r.int(3)) {
    case 0: return { AND: [a, b] }
    case 1: return { OR: [a, b] }
    default: return { NOT: r.chance(0.5) ? a : [a, b] }
  }
}

/** A total orderBy: random criteria, then the model's order key. */
export function orderBy(w: World, m: SModel, allowRelations = true): Json[] {
  const r = w.r
  const out: Json[] = []
  const dir = () => r.pick(['asc', 'desc'])
  const n = r.int(3)
  for (let i = 0; i < n; i++) {
    const k = r.int(10)
    const toOne = m.relations.filter((x) => !x.isList)
    const toMany = m.relations.filter((x) => x.isList)
    if (allowRelations && k === 0 && toMany.length) out.push({ [r.pick(toMany).name]: { _count: dir() } })
    else if (allowRelations && k === 1 && toOne.length) {
      const rel = r.pick(toOne)
      const t = w.model(rel.type)
      const f = t.scalars.filter(orderable)
      if (f.length) out.push({ [rel.name]: { [r.pick(f).name]: dir() } })
    } else {
      const fs = m.scalars.filter(orderable)
      if (!fs.length) continue
      const f = r.pick(fs)
      out.push({ [f.name]: !f.isRequired && r.chance(0.4) ? { sort: dir(), nulls: r.pick(['first', 'last']) } : dir() })
    }
  }
  const d = dir()
  for (const k of m.orderKey) out.push({ [k]: d })
  return out
}

/** Arguments of a list relation in select/include: where, take, orderBy (total). */
function relationArgs(w: World, rel: SRelation, depth: number): Json {
  const r = w.r
  const t = w.model(rel.type)
  if (!rel.isList) return r.chance(0.6) ? true : { select: select(w, t, depth + 1) }
  const a: Obj = { orderBy: orderBy(w, t, false) }
  if (r.chance(0.5)) a.where = where(w, t, 1)
  if (r.chance(0.3)) a.take = r.range(1, 3)
  if (r.chance(0.2)) a.skip = 1
  if (r.chance(0.3) && depth < 1) a.include = include(w, t, depth + 1)
  return a
}

export function countSelect(w: World, m: SModel): Json {
  const lists = m.relations.filter((x) => x.isList)
  if (!lists.length) return true
  if (w.r.chance(0.3)) return true
  const rel = w.r.pick(lists)
  return { select: { [rel.name]: w.r.chance(0.5) ? true : { where: where(w, w.model(rel.type), 1) } } }
}

export function select(w: World, m: SModel, depth = 0): Obj {
  const r = w.r
  const out: Obj = {}
  for (const f of m.scalars) if (r.chance(0.5) || m.orderKey.includes(f.name)) out[f.name] = true
  if (depth < 2) for (const rel of m.relations) if (r.chance(0.25)) out[rel.name] = relationArgs(w, rel, depth)
  if (depth < 2 && r.chance(0.2) && m.relations.some((x) => x.isList)) out._count = countSelect(w, m)
  return out
}

export function include(w: World, m: SModel, depth = 0): Obj {
  const r = w.r
  const out: Obj = {}
  for (const rel of m.relations) if (r.chance(0.35)) out[rel.name] = relationArgs(w, rel, depth)
  if (r.chance(0.2) && m.relations.some((x) => x.isList)) out._count = countSelect(w, m)
  if (!Object.keys(out).length && m.relations.length) {
    const rel = r.pick(m.relations)
    out[rel.name] = relationArgs(w, rel, depth)
  }
  return out
}

/** select or include or nothing, on a result of `m`. */
export function shape(w: World, m: SModel): Obj {
  const k = w.r.int(10)
  if (k < 2) return { select: select(w, m) }
  if (k < 5 && m.relations.length) return { include: include(w, m) }
  return {}
}

export { NUMERIC }
