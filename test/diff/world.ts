// What the generator knows about the data: each model's existing rows (read from the plain
// database B, refreshed after every write), so that keys and foreign keys point at real rows
// most of the time. Also the few counters that make fresh unique values.
import type { Rng } from '../checker/rng.ts'
import type { SchemaInfo, SField, SModel, SRelation, SUnique } from './schema.ts'
import { encode, pickValue, scalarDomain, type Json } from './values.ts'

export type Row = Record<string, Json>

export class World {
  private cache = new Map<string, Row[]>()
  private fresh = 0
  /** The models the current phase concentrates on (see gen.ts). */
  focus: SModel[] = []
  /** Operations stay on the focus models (GenOptions.models). */
  restricted = false
  /** Reads still to generate before anything else (start of a phase). */
  readBurst = 0
  /** Creates still to generate at the start of a phase. */
  createBurst = 0
  /** Operations left in the current phase. */
  phaseLeft = 0
  /**
   * The current phase's reads: 'mixed', or 'whole' (mostly reads without a filter:
   * counts, aggregates, unfiltered lists), which leaves a model with whole-model schemes
   * only: then its writes need no pre-image fields, a state of its own.
   */
  readStyle: 'mixed' | 'whole' = 'mixed'
  /** A `cold` op is due (start of a phase). */
  coldPending = false
  /** How often each model started a phase. */
  readonly focusCount = new Map<string, number>()

  constructor(
    readonly r: Rng,
    readonly s: SchemaInfo,
    private readonly load: (m: SModel) => Promise<Record<string, unknown>[]>,
  ) {}

  /** Forget the rows read so far (after a write). */
  invalidate(): void {
    this.cache.clear()
  }

  async rows(m: SModel): Promise<Row[]> {
    let rows = this.cache.get(m.name)
    if (!rows) {
      rows = (await this.load(m)).map((x) => encode(x) as Row)
      this.cache.set(m.name, rows)
    }
    return rows
  }

  /** Preloads every model's rows (the generator itself is synchronous). */
  async preload(): Promise<void> {
    for (const m of this.s.models) await this.rows(m)
  }

  cached(m: SModel): Row[] {
    return this.cache.get(m.name) ?? []
  }

  model(name: string): SModel {
    const m = this.s.byName[name]
    if (!m) throw new Error(`unknown model ${name}`)
    return m
  }

  /** An existing row of `m` (mostly), or undefined when there is none. */
  row(m: SModel): Row | undefined {
    const rows = this.cached(m)
    return rows.length ? this.r.skewed(rows) : undefined
  }

  /** A value of field `f`: taken from an existing row 60% of the time, else from its domain. */
  value(m: SModel, f: SField): Json {
    const row = this.r.chance(0.6) ? this.row(m) : undefined
    if (row && row[f.name] !== undefined && row[f.name] !== null) return row[f.name]!
    if (f.defaultKind === 'autoincrement') return this.autoValue(f, m)
    return pickValue(this.r, f)
  }

  /** A plausible value of an autoincrement field (ids stay small). */
  autoValue(f: SField, m?: SModel): Json {
    let max = 5
    if (m) for (const row of this.cached(m)) max = Math.max(max, Number(typeof row[f.name] === 'object' ? (row[f.name] as { v: string }).v : row[f.name]))
    const n = this.r.chance(0.5) ? this.r.range(max - 1, max + 3) : this.r.range(1, max + 3)
    return f.type === 'BigInt' ? { $t: 'bigint', v: String(n) } : n
  }

  /** A fresh value for a field whose default is dynamic (uuid(), cuid(), now(), ...). */
  dynamicValue(f: SField): Json {
    if (f.type === 'String') {
      // Fresh most of the time, an old one sometimes (collisions are compared too).
      const k = this.r.chance(0.85) ? ++this.fresh + 100 : this.r.range(101, 103)
      if (f.nativeType === 'Uuid') return `00000000-0000-4000-8000-${String(k).padStart(12, '0')}`
      return `${f.name.slice(0, 2)}x${k}`
    }
    return pickValue(this.r, f)
  }

  /** A where-unique for `m`: an existing row's key (85%) or a random one. */
  unique(m: SModel, u?: SUnique): Json {
    const crit = u ?? this.r.pick(m.uniques)
    const row = this.r.chance(0.85) ? this.row(m) : undefined
    const vals = crit.fields.map((n) => {
      const f = m.scalars.find((x) => x.name === n)!
      const v = row?.[n]
      return v === undefined || v === null ? (f.defaultKind === 'autoincrement' ? this.autoValue(f, m) : this.r.pick(scalarDomain(f))) : v
    })
    if (crit.fields.length === 1) return { [crit.key]: vals[0]! }
    return { [crit.key]: Object.fromEntries(crit.fields.map((n, i) => [n, vals[i]!])) }
  }

  /** Foreign key values for relation `rel` of `m`: an existing target row's (85%) or random. */
  fk(m: SModel, rel: SRelation): Record<string, Json> {
    const target = this.model(rel.type)
    const row = this.r.chance(0.85) ? this.row(target) : undefined
    const out: Record<string, Json> = {}
    rel.fromFields.forEach((from, i) => {
      const to = rel.toFields[i]!
      const v = row?.[to]
      const f = m.scalars.find((x) => x.name === from)!
      const toField = target.scalars.find((x) => x.name === to)
      out[from] = v === undefined || v === null ? (toField?.defaultKind === 'autoincrement' ? this.autoValue(toField, target) : pickValue(this.r, f)) : v
    })
    return out
  }
}
