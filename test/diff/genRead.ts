// Random reads of every kind: unique lookups, lists with filters/order/pagination/distinct,
// counts, aggregates, groupBy, the fluent API.
import type { Call } from './ops.ts'
import type { SModel } from './schema.ts'
import { NUMERIC, orderBy, shape, where } from './genQuery.ts'
import { orderable, type Json } from './values.ts'
import type { World } from './world.ts'

type Obj = { [k: string]: Json }

export function genRead(w: World, m: SModel): Call {
  const r = w.r
  // 'whole' phases: counts, aggregates, groupBy and lists without a filter (on the phase's
  // models; reads of other models stay mixed).
  const whole = w.readStyle === 'whole' && w.focus.includes(m)
  const k = whole ? 40 + r.int(60) : r.int(100)
  const filter = (p: number) => !whole && r.chance(p)
  const call = (method: string, args: Obj): Call => ({ model: m.name, method, args })
  if (k < 22) return call(r.chance(0.8) ? 'findUnique' : 'findUniqueOrThrow', { where: w.unique(m) as Obj, ...shape(w, m) })
  if (k < 30) {
    const rel = m.relations.length ? r.pick(m.relations) : undefined
    const c = call('findUnique', { where: w.unique(m) as Obj })
    if (rel) c.fluent = rel.isList ? { rel: rel.name, args: { orderBy: orderBy(w, w.model(rel.type), false) } } : { rel: rel.name }
    return c
  }
  if (k < 40) {
    const a: Obj = { where: where(w, m), orderBy: orderBy(w, m) }
    if (r.chance(0.3)) a.skip = 1
    return call(r.chance(0.7) ? 'findFirst' : 'findFirstOrThrow', { ...a, ...shape(w, m) })
  }
  if (k < 70) {
    const a: Obj = { orderBy: orderBy(w, m) }
    if (filter(0.5)) a.where = where(w, m)
    if (r.chance(0.3)) a.take = r.chance(0.8) ? r.range(1, 3) : -2
    if (r.chance(0.2)) a.skip = r.range(1, 2)
    if (r.chance(0.15)) {
      const u = m.uniques.find((x) => x.fields.every((f) => m.scalars.find((s) => s.name === f)?.isRequired)) ?? m.uniques[0]!
      a.cursor = w.unique(m, u) as Obj
    }
    if (r.chance(0.12)) {
      const fs = m.scalars.filter(orderable)
      if (fs.length) a.distinct = [r.pick(fs).name]
    }
    return call('findMany', { ...a, ...(whole ? {} : shape(w, m)) })
  }
  if (k < 80) {
    const a: Obj = {}
    if (filter(0.5)) a.where = where(w, m)
    if (r.chance(0.25)) {
      const f = r.pick(m.scalars.filter((x) => !x.isUpdatedAt))
      a.select = { _all: true, [f.name]: true }
    }
    return call('count', a)
  }
  const numeric = m.scalars.filter((f) => NUMERIC.has(f.type) && !f.isList)
  const ord = m.scalars.filter((f) => orderable(f) && f.type !== 'Boolean')
  const agg = (fs: typeof numeric): Obj => Object.fromEntries(r.sample(fs, 1 + r.int(2)).map((f) => [f.name, true]))
  if (k < 90) {
    const a: Obj = { _count: r.chance(0.5) ? { _all: true } : true }
    if (filter(0.6)) a.where = where(w, m)
    if (numeric.length) {
      if (r.chance(0.6)) a._sum = agg(numeric)
      if (r.chance(0.4)) a._avg = agg(numeric)
    }
    if (ord.length) {
      if (r.chance(0.5)) a._min = agg(ord)
      if (r.chance(0.5)) a._max = agg(ord)
    }
    return call('aggregate', a)
  }
  const groupable = m.scalars.filter((f) => !f.isList && f.type !== 'Json' && !f.isUpdatedAt)
  const by = r.sample(groupable, 1 + r.int(2)).map((f) => f.name)
  const a: Obj = { by, _count: { _all: true } }
  if (filter(0.5)) a.where = where(w, m)
  if (numeric.length && r.chance(0.5)) a._sum = agg(numeric)
  if (ord.length && r.chance(0.3)) a._max = agg(ord)
  if (r.chance(0.3)) a.having = { [by[0]!]: { _count: { gte: r.range(1, 2) } } }
  if (r.chance(0.4)) a.orderBy = by.map((f) => ({ [f]: r.pick(['asc', 'desc']) }))
  return call('groupBy', a)
}
