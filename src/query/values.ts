import { createHash } from 'node:crypto'
import type { ScalarFieldInfo } from '../datamodel/types.js'

/**
 * Canonical text of a scalar value inside a conjunction key. Reads encode the value
 * from the where clause, writes encode the value from the row: both must give the same
 * text exactly when the database would call the two values equal, or an invalidation
 * is lost. Returns `undefined` when the value cannot be encoded safely (the term then
 * becomes "unknown" and drops out of its conjunction, which is always safe).
 */
export function encodeConjValue(field: ScalarFieldInfo, value: unknown): string | undefined {
  // Lists, Json and types whose equality we do not model never take part, not even
  // with null (a Json `path ... equals: null` filter matches rows whose column is set).
  if (field.isList || !isEncodable(field)) return undefined
  if (value === null) return 'null'
  const text = encodeScalar(field, value)
  if (text === undefined) return undefined
  // Long values are hashed so keys stay short; the prefix keeps them apart from short ones.
  return text.length > 64 ? `#${createHash('sha1').update(text).digest('hex')}` : text
}

/**
 * Native types (PostgreSQL names) whose equality is exactly what encodeScalar models.
 * Anything else (citext, inet, real, date, time, money, ...) has its own notion of equality
 * (case, masks, truncation) and is left out: safe, only less granular.
 */
const NATIVE_TYPES: { readonly [type: string]: ReadonlySet<string> } = {
  String: new Set(['Text', 'VarChar', 'Char', 'Uuid']),
  // Not Real: the database rounds to single precision, JS numbers are doubles.
  Float: new Set(['DoublePrecision']),
  Decimal: new Set(['Decimal']),
  DateTime: new Set(['Timestamp', 'Timestamptz']),
}

function isEncodable(field: ScalarFieldInfo): boolean {
  if (field.kind === 'enum') return true
  switch (field.type) {
    case 'String':
    case 'Float':
    case 'Decimal':
    case 'DateTime':
      return field.nativeType == null || NATIVE_TYPES[field.type]!.has(field.nativeType)
    case 'Int':
    case 'BigInt':
    case 'Boolean':
    case 'Bytes':
      return true
    default:
      // Json, Unsupported and anything new: equality on them is not worth the risk.
      return false
  }
}

function encodeScalar(field: ScalarFieldInfo, value: unknown): string | undefined {
  switch (field.kind === 'enum' ? 'Enum' : field.type) {
    case 'String':
    case 'Enum': {
      if (typeof value !== 'string') return undefined
      if (field.kind === 'scalar' && field.nativeType === 'Uuid') {
        // uuid compares by value: case, hyphens and braces are only input syntax.
        const uuid = canonicalUuid(value)
        return uuid === undefined ? undefined : JSON.stringify(uuid)
      }
      // char(n) pads with spaces and ignores trailing spaces when comparing.
      const v = field.kind === 'scalar' && field.nativeType === 'Char' ? value.replace(/ +$/, '') : value
      return JSON.stringify(v)
    }
    case 'Int':
    case 'BigInt': {
      if (typeof value === 'bigint') return value.toString()
      if (typeof value === 'number' && Number.isSafeInteger(value)) return String(value)
      if (typeof value === 'string' && /^-?\d+$/.test(value)) return BigInt(value).toString()
      return undefined
    }
    case 'Float': {
      if (typeof value === 'number' && Number.isFinite(value)) return Object.is(value, -0) ? '0' : String(value)
      return undefined
    }
    case 'Decimal':
      return canonicalDecimal(value)
    case 'Boolean':
      return typeof value === 'boolean' ? String(value) : undefined
    case 'DateTime': {
      const d = value instanceof Date ? value : typeof value === 'string' && ISO_INSTANT.test(value) ? new Date(value) : undefined
      const t = d?.getTime()
      return t === undefined || Number.isNaN(t) ? undefined : `D${t}`
    }
    case 'Bytes':
      return value instanceof Uint8Array ? `B${Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex')}` : undefined
    default:
      // Json, Unsupported and anything new: equality on them is not worth the risk.
      return undefined
  }
}

/**
 * Date-time strings whose instant is unambiguous: an explicit offset (JS would read a
 * bare local time in the process time zone) and no sub-millisecond digits (a Date
 * would silently truncate them).
 */
const ISO_INSTANT = /^(?:\d{4}|[+-]\d{6})-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3}0*)?)?(?:Z|[+-]\d{2}:?\d{2})$/

/** Lower-case 8-4-4-4-12 form of a uuid in any syntax PostgreSQL accepts. */
function canonicalUuid(value: string): string | undefined {
  const m = /^\{(.*)\}$/s.exec(value)
  const hex = (m ? m[1]! : value).replace(/-/g, '').toLowerCase()
  if (!/^[0-9a-f]{32}$/.test(hex)) return undefined
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}

/** Numeric value of a decimal, scale-free: 1.50 and 1.5 are equal in SQL. */
function canonicalDecimal(value: unknown): string | undefined {
  let text: string
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return undefined
    text = String(value)
  } else if (typeof value === 'string') text = value.trim()
  else if (isDecimalLike(value)) text = value.toFixed()
  else return undefined
  const m = /^([+-])?(\d*)(?:\.(\d*))?(?:e([+-]?\d+))?$/i.exec(text)
  if (!m || (m[2] === '' && (m[3] ?? '') === '')) return undefined
  // Shift the exponent into the digit string, then strip insignificant zeros.
  let int = m[2] ?? ''
  let frac = m[3] ?? ''
  let exp = Number(m[4] ?? 0)
  if (Math.abs(exp) > 1000) return undefined
  while (exp > 0) { int += frac[0] ?? '0'; frac = frac.slice(1); exp-- }
  while (exp < 0) { frac = (int.slice(-1) || '0') + frac; int = int.slice(0, -1); exp++ }
  int = int.replace(/^0+/, '') || '0'
  frac = frac.replace(/0+$/, '')
  const neg = m[1] === '-' && (int !== '0' || frac !== '')
  return `N${neg ? '-' : ''}${int}${frac ? `.${frac}` : ''}`
}

/**
 * Whether the database stores `value` in `field` exactly as given, so that the key encoded
 * from the value is the key the stored row has. Data values stand in for rows nobody reads
 * back (an updateMany's transform, createMany's data rows): a Decimal rounded to its
 * column's scale, or a time cut to its column's precision, would key the row where it is
 * not. The datamodel keeps a native type's name but not its arguments, so only what holds
 * at any scale or precision counts (a column without a native type: Prisma's defaults,
 * decimal(65,30) and millisecond times).
 */
export function storesAsGiven(field: ScalarFieldInfo, value: unknown): boolean {
  if (value === null || field.kind === 'enum') return true
  switch (field.type) {
    case 'Decimal': {
      const text = canonicalDecimal(value)
      if (text === undefined) return false
      const digits = text.split('.')[1]?.length ?? 0
      return field.nativeType == null ? digits <= 30 : digits === 0
    }
    case 'DateTime': {
      if (field.nativeType == null) return true
      const t = value instanceof Date ? value.getTime() : typeof value === 'string' ? Date.parse(value) : NaN
      return Number.isFinite(t) && t % 1000 === 0
    }
    case 'Float':
      return field.nativeType == null || field.nativeType === 'DoublePrecision'
    default:
      return true
  }
}

/** A Decimal (decimal.js, as Prisma's), whatever copy of the class made it. */
export function isDecimalLike(v: unknown): v is { toFixed(): string } {
  return typeof v === 'object' && v !== null && typeof (v as { toFixed?: unknown }).toFixed === 'function' && 'd' in v && 'e' in v && 's' in v
}
