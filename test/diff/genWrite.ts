// Random writes of every kind from the datamodel: create (nested create/createMany/connect/
// connectOrCreate up to depth 3, self-relations included), createMany(AndReturn), update
// (set, increment, push, nested writes of every kind), upsert, updateMany(AndReturn),
// delete, deleteMany. Referenced keys (ids, unique columns other models point at) are
// updated often: that is where invalidation bugs hide.
import type { Call } from './ops.ts'
import type { SField, SModel, SRelation } from './schema.ts'
import { shape, where } from './genQuery.ts'
import { pickValue, type Json } from './values.ts'
import type { World } from './world.ts'

type Obj = { [k: string]: Json }
const MAX_DEPTH = 3

/** Fields of `m` that some foreign key references. */
export function referencedFields(w: World, m: SModel): SField[] {
  const names = new Set<string>()
  for (const o of w.s.models) for (const rel of o.relations) if (rel.type === m.name && rel.fromFields.length) rel.toFields.forEach((f) => names.add(f))
  return m.scalars.filter((f) => names.has(f.name))
}

/** Scalar values of a new row of `m`, without the FK fields in `skip`. */
function scalarData(w: World, m: SModel, skip: Set<string>, withFks: boolean): Obj {
  const r = w.r
  const out: Obj = {}
  for (const f of m.scalars) {
    if (skip.has(f.name) || f.isUpdatedAt) continue
    if (f.isFk) continue // set by the caller (relations)
    if (f.defaultKind === 'autoincrement') {
      if (r.chance(0.03)) out[f.name] = w.autoValue(f)
      continue
    }
    if (f.defaultKind === 'dynamic') out[f.name] = w.dynamicValue(f)
    else if (f.isRequired && f.defaultKind === 'none') out[f.name] = f.isUnique || f.isId ? w.value(m, f) : pickValue(r, f)
    else if (r.chance(0.5)) out[f.name] = f.isList ? pickValue(r, f) : f.isRequired ? pickValue(r, f) : r.chance(0.2) ? null : pickValue(r, f)
    // Unique values: fresh-ish from the domain (collisions are outcomes too).
    if ((f.isUnique || f.isId) && f.defaultKind === 'none' && out[f.name] !== undefined && r.chance(0.6)) out[f.name] = pickValue(r, f)
  }
  if (withFks)
    for (const rel of m.relations) {
      if (!rel.fromFields.length || rel.fromFields.some((f) => skip.has(f))) continue
      if (rel.optional && r.chance(0.4)) continue
      Object.assign(out, w.fk(m, rel))
    }
  return out
}

/** FK fields owned by `m` for the relation `exclude` (the one back to the parent of a nested write). */
const skipFor = (m: SModel, exclude?: SRelation): Set<string> => new Set(exclude ? exclude.fromFields : [])

/** `data` of a create of `m`; `without` is the relation back to the parent (nested). */
export function createData(w: World, m: SModel, depth: number, without?: SRelation): Obj {
  const r = w.r
  const skip = skipFor(m, without)
  const unchecked = r.chance(0.5)
  const out = scalarData(w, m, skip, unchecked)
  for (const rel of m.relations) {
    if (without && rel.name === without.name) continue
    const target = w.model(rel.type)
    const back = target.relations.find((x) => x.name === rel.back)
    if (rel.fromFields.length) {
      if (unchecked || rel.fromFields.some((f) => skip.has(f))) continue
      // Checked: the relation field (connect / create / connectOrCreate).
      if (!rel.isRequired && r.chance(0.5)) continue
      out[rel.name] = toOneWrite(w, target, depth, back, ['connect', 'connect', 'create', 'connectOrCreate'])
    } else if (depth < MAX_DEPTH && r.chance(rel.type === m.name ? 0.6 : depth === 0 ? 0.35 : 0.25)) {
      // (Self-relations nest most: one model reached at several depths is a case of its own.)
      // Back side (children) or many-to-many.
      out[rel.name] = rel.isList ? toManyCreate(w, target, depth, back, rel, rel.type === m.name) : toOneWrite(w, target, depth, back, ['create', 'connect', 'connectOrCreate'])
    }
  }
  return out
}

function toOneWrite(w: World, target: SModel, depth: number, back: SRelation | undefined, kinds: string[]): Obj {
  const r = w.r
  let kind = r.pick(kinds)
  if (depth >= MAX_DEPTH && kind !== 'connect') kind = 'connect'
  // A create through a 1:1 back relation gives the child no way to set its other FKs: allowed anyway.
  if (kind === 'connect') return { connect: w.unique(target) }
  if (kind === 'create') return { create: createData(w, target, depth + 1, back) }
  return { connectOrCreate: { where: w.unique(target), create: createData(w, target, depth + 1, back) } }
}

function toManyCreate(w: World, target: SModel, depth: number, back: SRelation | undefined, rel: SRelation, self = false): Obj {
  const r = w.r
  const n = 1 + r.int(2)
  const many = (f: () => Json): Json[] => Array.from({ length: n }, f)
  // Nested creates weigh most (they carry the deeper levels).
  const kind = r.pick(self ? [0, 0, 0, 0, 1, 2, 3] : rel.m2m ? [0, 0, 1, 2] : [0, 0, 1, 2, 3])
  switch (kind) {
    case 0: return { create: n === 1 ? createData(w, target, depth + 1, back) : many(() => createData(w, target, depth + 1, back)) }
    case 1: return { connect: many(() => w.unique(target)) }
    case 2: return { connectOrCreate: many(() => ({ where: w.unique(target), create: createData(w, target, depth + 1, back) })) }
    default: return { createMany: { data: many(() => scalarData(w, target, skipFor(target, back), true)), ...(r.chance(0.4) ? { skipDuplicates: true } : {}) } }
  }
}

/** One scalar field update. */
function scalarUpdate(w: World, m: SModel, f: SField): Json {
  const r = w.r
  const v = () => (f.isUnique || f.isId || f.isFk ? w.value(m, f) : pickValue(r, f))
  if (f.isList) return r.chance(0.5) ? { push: pickValue(r, { ...f, isList: false }) } : { set: pickValue(r, f) }
  if (['Int', 'Float', 'Decimal', 'BigInt'].includes(f.type) && r.chance(0.4)) {
    const op = r.pick(['increment', 'decrement', 'multiply'])
    const by: Json = f.type === 'BigInt' ? { $t: 'bigint', v: '1' } : f.type === 'Decimal' ? { $t: 'decimal', v: '1.5' } : op === 'multiply' ? 2 : 1
    return { [op]: by }
  }
  if (!f.isRequired && r.chance(0.2)) return null
  return r.chance(0.7) ? v() : { set: v() }
}

/** `data` of an update of `m` (nested writes when checked). */
export function updateData(w: World, m: SModel, depth: number, without?: SRelation, scalarsOnly = false): Obj {
  const r = w.r
  const skip = skipFor(m, without)
  const unchecked = scalarsOnly || r.chance(0.4)
  const out: Obj = {}
  const referenced = referencedFields(w, m).filter((f) => !skip.has(f.name))
  const candidates = m.scalars.filter((f) => !skip.has(f.name) && !f.isUpdatedAt && (unchecked || !f.isFk))
  // Referenced keys first, often.
  if (referenced.length && r.chance(0.35)) {
    const f = r.pick(referenced)
    if (unchecked || !f.isFk) out[f.name] = scalarUpdate(w, m, f)
  }
  const n = r.int(3)
  for (let i = 0; i < n && candidates.length; i++) {
    const f = r.pick(candidates)
    out[f.name] = scalarUpdate(w, m, f)
  }
  if (!scalarsOnly && depth < MAX_DEPTH)
    for (const rel of m.relations) {
      if (without && rel.name === without.name) continue
      if (rel.fromFields.length && unchecked) continue
      if (!r.chance(rel.type === m.name ? 0.5 : depth === 0 ? 0.3 : 0.2)) continue
      const target = w.model(rel.type)
      const back = target.relations.find((x) => x.name === rel.back)
      out[rel.name] = relationUpdate(w, m, rel, target, back, depth)
    }
  if (!Object.keys(out).length) {
    const f = candidates.length ? r.pick(candidates) : undefined
    if (f) out[f.name] = scalarUpdate(w, m, f)
  }
  return out
}

function relationUpdate(w: World, m: SModel, rel: SRelation, target: SModel, back: SRelation | undefined, depth: number): Json {
  const r = w.r
  const d = depth + 1
  if (!rel.isList) {
    // To-one: the FK side (rel.fromFields) or the back side of a 1:1.
    const canUnset = rel.fromFields.length ? rel.optional : !!back?.optional
    const kinds = ['connect', 'create', 'connectOrCreate', 'update', 'upsert']
    if (canUnset || !rel.fromFields.length) kinds.push('disconnect', 'delete')
    const kind = r.pick(kinds)
    switch (kind) {
      case 'connect': return { connect: w.unique(target) }
      case 'create': return { create: createData(w, target, d, back) }
      case 'connectOrCreate': return { connectOrCreate: { where: w.unique(target), create: createData(w, target, d, back) } }
      case 'update': {
        // `{ where, data }` filters the related row: no match fails the whole write (P2025).
        const k = r.int(3)
        if (k === 0) return { update: updateData(w, target, d, back) }
        if (k === 1) return { update: { data: updateData(w, target, d, back) } }
        return { update: { where: where(w, target, 1), data: updateData(w, target, d, back) } }
      }
      case 'upsert': return { upsert: { create: createData(w, target, d, back), update: updateData(w, target, d, back) } }
      default: return { [kind]: true }
    }
  }
  const kinds = ['create', 'createMany', 'connect', 'delete', 'deleteMany', 'update', 'updateMany', 'upsert', 'connectOrCreate']
  if (rel.m2m || back?.optional) kinds.push('disconnect', 'set')
  const kind = r.pick(rel.m2m ? kinds.filter((k) => k !== 'createMany') : kinds)
  const u = () => w.unique(target)
  switch (kind) {
    case 'create': return { create: createData(w, target, d, back) }
    case 'createMany': return { createMany: { data: [scalarData(w, target, skipFor(target, back), true)] } }
    case 'connect': return { connect: [u()] }
    case 'connectOrCreate': return { connectOrCreate: { where: u(), create: createData(w, target, d, back) } }
    case 'delete': return { delete: [u()] }
    case 'deleteMany': return { deleteMany: r.chance(0.3) ? {} : where(w, target, 1) }
    case 'update': return { update: { where: u(), data: updateData(w, target, d, back) } }
    case 'updateMany': return { updateMany: { where: r.chance(0.3) ? {} : where(w, target, 1), data: updateData(w, target, d, back, true) } }
    case 'upsert': return { upsert: { where: u(), create: createData(w, target, d, back), update: updateData(w, target, d, back) } }
    case 'disconnect': return { disconnect: [u()] }
    default: return { set: r.chance(0.3) ? [] : [u()] }
  }
}

/** A top-level write on `m` (`create`: a create or createMany). Creates are favoured while `m` has few rows. */
export function genWrite(w: World, m: SModel, create = false): Call {
  const r = w.r
  const few = create || w.cached(m).length < 3
  const k = r.int(100)
  const call = (method: string, args: Obj): Call => ({ model: m.name, method, args })
  if (k < (create ? 70 : few ? 45 : 18)) return call('create', { data: createData(w, m, 0), ...(r.chance(0.3) ? shape(w, m) : {}) })
  if (k < (create ? 100 : few ? 55 : 25)) {
    const method = r.pick(['createMany', 'createManyAndReturn'])
    const data = Array.from({ length: 1 + r.int(3) }, () => scalarData(w, m, new Set(), true))
    return call(method, { data, ...(r.chance(0.4) ? { skipDuplicates: true } : {}) })
  }
  if (k < 52) return call('update', { where: w.unique(m), data: updateData(w, m, 0), ...(r.chance(0.2) ? shape(w, m) : {}) })
  if (k < 60) return call('upsert', { where: w.unique(m), create: createData(w, m, 0), update: updateData(w, m, 0) })
  if (k < 74) return call(r.chance(0.7) ? 'updateMany' : 'updateManyAndReturn', { where: where(w, m), data: updateData(w, m, 0, undefined, true) })
  if (k < 87) return call('delete', { where: w.unique(m) })
  return call('deleteMany', r.chance(0.15) ? {} : { where: where(w, m) })
}
