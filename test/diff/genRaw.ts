// Raw SQL writes on a model's table (dbName, column dbNames, quoted): UPDATE, DELETE, INSERT.
import type { SField, SModel } from './schema.ts'
import { pickValue, type Json } from './values.ts'
import type { World } from './world.ts'
import { referencedFields } from './genWrite.ts'

const q = (id: string) => `"${id.replace(/"/g, '""')}"`
const str = (s: string) => `'${s.replace(/'/g, "''")}'`

/** A SQL literal PostgreSQL coerces to the column's type (untyped string literals do). */
export function sqlLiteral(v: Json, f: SField): string {
  if (v === null) return 'NULL'
  if (Array.isArray(v)) {
    if (f.type === 'Json') return str(JSON.stringify(v))
    return str(`{${v.map((x) => `"${String(x && typeof x === 'object' && '$t' in x ? (x as { v: string }).v : x).replace(/["\\]/g, (c) => `\\${c}`)}"`).join(',')}}`)
  }
  if (typeof v === 'object') {
    if ('$t' in v && typeof v.v === 'string') {
      if (v.$t === 'bytes') return str(`\\x${Buffer.from(v.v, 'base64').toString('hex')}`)
      return str(v.v)
    }
    return str(JSON.stringify(v))
  }
  if (f.type === 'Json') return str(JSON.stringify(v))
  return str(String(v))
}

function cond(w: World, m: SModel): string {
  const r = w.r
  const u = r.pick(m.uniques)
  const row = w.row(m)
  if (row && r.chance(0.8)) return u.fields.map((n) => {
    const f = m.scalars.find((x) => x.name === n)!
    const v = row[n] ?? null
    return v === null ? `${q(f.dbName)} IS NULL` : `${q(f.dbName)} = ${sqlLiteral(v, f)}`
  }).join(' AND ')
  const f = r.pick(m.scalars.filter((x) => !x.isList && x.type !== 'Json' && !x.isUpdatedAt))
  return `${q(f.dbName)} = ${sqlLiteral(w.value(m, f), f)}`
}

export function genRaw(w: World, m: SModel): string {
  const r = w.r
  const table = q(m.dbName)
  const k = r.int(10)
  if (k < 5) {
    const referenced = referencedFields(w, m)
    const f = referenced.length && r.chance(0.4) ? r.pick(referenced) : r.pick(m.scalars.filter((x) => !x.isUpdatedAt))
    const v = f.isId || f.isUnique || f.isFk ? w.value(m, f) : pickValue(r, f)
    return `UPDATE ${table} SET ${q(f.dbName)} = ${sqlLiteral(v, f)} WHERE ${cond(w, m)}`
  }
  if (k < 8) return `DELETE FROM ${table} WHERE ${cond(w, m)}`
  const cols: string[] = []
  const vals: string[] = []
  const fks: Record<string, Json> = {}
  for (const rel of m.relations) if (rel.fromFields.length && (!rel.optional || r.chance(0.5))) Object.assign(fks, w.fk(m, rel))
  for (const f of m.scalars) {
    let v: Json | undefined
    if (f.name in fks) v = fks[f.name]!
    else if (f.defaultKind === 'autoincrement') continue
    else if (f.defaultKind === 'dynamic' || f.isUpdatedAt) v = f.isUpdatedAt ? { $t: 'date', v: '2024-01-01T00:00:00.000Z' } : w.dynamicValue(f)
    else if (f.isRequired && f.defaultKind === 'none') v = f.isUnique || f.isId ? w.value(m, f) : pickValue(r, f)
    else continue
    cols.push(q(f.dbName))
    vals.push(sqlLiteral(v, f))
  }
  return `INSERT INTO ${table} (${cols.join(', ')}) VALUES (${vals.join(', ')})`
}
