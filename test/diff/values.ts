// Values in operation descriptors: plain JSON, with the types JSON lacks tagged
// (`{ $t: 'bigint', v: '5' }`), so an operation sequence can be stored, replayed and printed.
// Also the small value domains fields draw from.
import type { SField } from './schema.ts'
import type { Rng } from '../checker/rng.ts'

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json }
export type Tagged = { $t: 'bigint' | 'decimal' | 'date' | 'bytes'; v: string }

const isTagged = (v: unknown): v is Tagged => typeof v === 'object' && v !== null && !Array.isArray(v) && typeof (v as Tagged).$t === 'string' && typeof (v as Tagged).v === 'string' && Object.keys(v).length === 2

export const big = (v: string | number): Json => ({ $t: 'bigint', v: String(v) })
export const dec = (v: string): Json => ({ $t: 'decimal', v })
export const date = (v: string): Json => ({ $t: 'date', v })
export const bytes = (v: string): Json => ({ $t: 'bytes', v })

/** Descriptor → the values Prisma takes. */
export function decode(v: Json): unknown {
  if (Array.isArray(v)) return v.map(decode)
  if (isTagged(v)) {
    switch (v.$t) {
      case 'bigint': return BigInt(v.v)
      case 'decimal': return v.v
      case 'date': return new Date(v.v)
      case 'bytes': return Uint8Array.from(Buffer.from(v.v, 'base64'))
    }
  }
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, decode(x)]))
  return v
}

const isDecimal = (v: object): boolean => v.constructor?.name === 'Decimal' || ('d' in v && 'e' in v && 's' in v && typeof (v as { toFixed?: unknown }).toFixed === 'function')

/** A value Prisma returned → descriptor form (to reuse existing rows' keys in new operations). */
export function encode(v: unknown): Json {
  if (v === null || v === undefined) return null
  if (typeof v === 'bigint') return big(v.toString())
  if (v instanceof Date) return date(v.toISOString())
  if (v instanceof Uint8Array) return bytes(Buffer.from(v).toString('base64'))
  if (Array.isArray(v)) return v.map(encode)
  if (typeof v === 'object') {
    if (isDecimal(v)) return dec(String(v))
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, encode(x)]))
  }
  return v as Json
}

/**
 * Canonical text of a result: Decimal/BigInt/Date/Bytes as strings, keys sorted, `mask`
 * keys (@updatedAt fields) dropped. Arrays keep their order (every list the tester asks
 * for is totally ordered), unless `sortArrays`.
 */
export function canonical(v: unknown, mask: Set<string>, sortArrays = false): string {
  return JSON.stringify(canonValue(v, mask, sortArrays))
}

/**
 * A call's result as canonical text. `createManyAndReturn` / `updateManyAndReturn` return
 * rows in no defined order (PostgreSQL's RETURNING follows the physical order, which
 * autovacuum and update history make differ between two databases): compared as sets.
 */
export function canonicalResult(method: string, v: unknown, mask: Set<string>): string {
  if (!method.endsWith('AndReturn') || !Array.isArray(v)) return canonical(v, mask)
  return `[${v.map((row) => canonical(row, mask)).sort().join(',')}]`
}

function canonValue(v: unknown, mask: Set<string>, sortArrays: boolean): unknown {
  if (v === null || v === undefined) return null
  if (typeof v === 'bigint') return `${v}n`
  if (typeof v === 'number' && !Number.isFinite(v)) return String(v)
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? 'Invalid Date' : `date:${v.toISOString()}`
  if (v instanceof Uint8Array) return `bytes:${Buffer.from(v).toString('base64')}`
  if (Array.isArray(v)) {
    const items = v.map((x) => canonValue(x, mask, sortArrays))
    return sortArrays ? items.map((x) => JSON.stringify(x)).sort().map((x) => JSON.parse(x) as unknown) : items
  }
  if (typeof v === 'object') {
    if (isDecimal(v)) return `dec:${String(v)}`
    const out: Record<string, unknown> = {}
    for (const k of Object.keys(v).sort()) if (!mask.has(k)) out[k] = canonValue((v as Record<string, unknown>)[k], mask, sortArrays)
    return out
  }
  return v
}

const DATES = ['2024-01-01T00:00:00.000Z', '2024-06-15T00:00:00.000Z', '2025-03-01T00:00:00.000Z', '2023-12-31T00:00:00.000Z']
const STRINGS = ['a', 'b', 'ab', 'A', 'Ba', 'c']

export const uuid = (k: number) => `00000000-0000-4000-8000-${String(k).padStart(12, '0')}`

/** The small domain of a scalar field (one element each, not lists). */
export function scalarDomain(f: SField): Json[] {
  switch (f.type) {
    case 'Int':
      return f.isId || f.isUnique || f.isFk ? [1, 2, 3, 4, 5, 6] : [0, 1, 2, 3, 5]
    case 'String':
      if (f.nativeType === 'Uuid') return [1, 2, 3, 4, 5, 6].map(uuid)
      if (f.isId || f.isUnique || f.isFk) return [1, 2, 3, 4, 5, 6].map((k) => `${f.name.slice(0, 2)}${k}`)
      return STRINGS
    case 'Boolean':
      return [true, false]
    case 'Float':
      return [0, 1.5, -2, 3.25]
    case 'Decimal':
      return ['0', '1.5', '2.25', '10'].map(dec)
    case 'BigInt':
      return ['0', '1', '2', '9007199254740993'].map(big)
    case 'DateTime':
      return DATES.map(date)
    case 'Bytes':
      return ['AQI=', 'AwQ=', ''].map(bytes)
    case 'Json':
      return [{ a: 1 }, { a: 2, b: [1] }, [1, 2], 'x', 3]
    default:
      return f.enumValues.length ? f.enumValues : []
  }
}

/** A value for the field (a list for list fields). */
export function pickValue(r: Rng, f: SField): Json {
  const dom = scalarDomain(f)
  if (f.isList) return r.sample(dom, r.int(4))
  return r.pick(dom)
}

/** Fields that can be ordered/compared (no Json, Bytes, lists). */
export const orderable = (f: SField): boolean => !f.isList && f.type !== 'Json' && f.type !== 'Bytes' && !f.isUpdatedAt
