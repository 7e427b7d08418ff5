// The operation mix: pool reads, single writes, batch and interactive transactions, raw SQL.
import type { Call, Op } from './ops.ts'
import type { SModel } from './schema.ts'
import { genRead } from './genRead.ts'
import { genWrite, referencedFields, updateData } from './genWrite.ts'
import { genRaw } from './genRaw.ts'
import type { World } from './world.ts'
import type { Json } from './values.ts'

export interface GenOptions {
  poolSize: number
  /** Restrict operations to these models (and phases to them). */
  models?: readonly string[]
}

/**
 * The models of the current phase: one model and its neighbours, so that reads and writes
 * concentrate on related tables (cascades reach cached reads). The phase's model is the one
 * least often chosen so far (ties at random): every model gets its phases, and models of
 * shapes that are hard to invalidate get two for one (phaseWeight).
 */
export function focusSet(w: World): SModel[] {
  const count = (m: SModel) => (w.focusCount.get(m.name) ?? 0) / phaseWeight(m)
  const least = Math.min(...w.s.models.map(count))
  const start = w.r.pick(w.s.models.filter((m) => count(m) === least))
  w.focusCount.set(start.name, (w.focusCount.get(start.name) ?? 0) + 1)
  const names = new Set([start.name, ...start.relations.map((r) => r.type)])
  return w.s.models.filter((m) => names.has(m.name))
}

/**
 * 2 for a model met at several depths of one write (a self-relation) or found again by a
 * unique other than an id (no `@id`/`@@id`): the shapes whose invalidation bugs need many
 * tries to show (a deep nested create with a read keyed on its deepest row).
 */
function phaseWeight(m: SModel): number {
  return m.relations.some((r) => r.type === m.name) || m.idFields.length === 0 ? 2 : 1
}

/** Models referenced by others are where cascades start: picked more often. */
function pickModel(w: World): SModel {
  const models = w.focus.length && (w.restricted || w.r.chance(0.85)) ? w.focus : w.s.models
  const parents = models.filter((m) => referencedFields(w, m).length)
  return parents.length && w.r.chance(0.25) ? w.r.pick(parents) : w.r.pick(models)
}

/** Writes aimed at the hardest cases: parent deletes (cascade / set null), referenced key updates. */
function cascadeWrite(w: World): Call {
  const r = w.r
  const models = w.focus.length && (w.restricted || r.chance(0.85)) ? w.focus : w.s.models
  const parents = models.filter((m) => referencedFields(w, m).length)
  const m = parents.length ? r.pick(parents) : r.pick(models)
  if (r.chance(0.5)) {
    if (r.chance(0.8)) return { model: m.name, method: 'delete', args: { where: w.unique(m) as { [k: string]: Json } } }
    return { model: m.name, method: 'deleteMany', args: r.chance(0.5) ? { where: w.unique(m) as { [k: string]: Json } } : {} }
  }
  const refs = referencedFields(w, m)
  const f = refs.length ? r.pick(refs) : undefined
  const data = f ? { [f.name]: w.value(m, f) } : updateData(w, m, 0)
  return { model: m.name, method: 'update', args: { where: w.unique(m), data } }
}

export function genOp(w: World, o: GenOptions): Op {
  const r = w.r
  w.restricted = !!o.models?.length
  if (o.models?.length) w.focus = w.s.models.filter((m) => o.models!.includes(m.name))
  else if (!w.focus.length || --w.phaseLeft <= 0) {
    w.phaseLeft = 40 + r.int(20)
    w.focus = focusSet(w)
    if (process.env.DIFF_DEBUG) console.log(`phase: ${w.focus.map((m) => m.name).join(', ')}`)
    // A new phase starts with rows in its models (creates), then reads of them, cached;
    // some from an empty cache, some reading mostly without filters (see World.readStyle).
    w.createBurst = 4
    w.readBurst = 8
    // A 'whole' phase starts cold: other schemes registered before would hide its state.
    w.readStyle = r.chance(0.25) ? 'whole' : 'mixed'
    w.coldPending = w.readStyle === 'whole' || r.chance(0.15)
  }
  if (w.coldPending) {
    w.coldPending = false
    return { k: 'cold' }
  }
  if (w.createBurst > 0) {
    w.createBurst--
    return { k: 'write', call: genWrite(w, pickModel(w), true) }
  }
  const k = w.readBurst > 0 ? (w.readBurst--, 0) : r.int(100)
  if (k < 30) return { k: 'read', slot: r.int(o.poolSize), call: genRead(w, pickModel(w)) }
  if (k < 72) return { k: 'write', call: r.chance(0.15) ? cascadeWrite(w) : genWrite(w, pickModel(w)) }
  if (k < 84) return { k: 'batch', calls: Array.from({ length: 1 + r.int(3) }, () => (r.chance(0.5) ? cascadeWrite(w) : genWrite(w, pickModel(w)))) }
  if (k < 93) {
    const calls = Array.from({ length: 1 + r.int(4) }, () => {
      const m = pickModel(w)
      return r.chance(0.35) ? genRead(w, m) : r.chance(0.2) ? cascadeWrite(w) : genWrite(w, m)
    })
    return { k: 'itx', calls, rollback: r.chance(0.3) }
  }
  return { k: 'raw', sql: genRaw(w, pickModel(w)) }
}
