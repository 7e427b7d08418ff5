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
  if (value === null) return 'null'
  if (field.isList) return undefined
  const text = encodeScalar(field, value)
  if (text === undefined) return undefined
  // Long values are hashed so keys stay short; the prefix keeps them apart from short ones.
  return text.length > 64 ? `#${createHash('sha1').update(text).digest('hex')}` : text
}

function encodeScalar(field: ScalarFieldInfo, value: unknown): string | undefined {
  switch (field.kind === 'enum' ? 'Enum' : field.type) {
    case 'String':
    case 'Enum': {
      if (typeof value !== 'string') return undefined
      // PostgreSQL's uuid type compares case-insensitively and returns lower case.
      const v = field.nativeType === 'Uuid' ? value.toLowerCase() : value
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
      const d = value instanceof Date ? value : typeof value === 'string' ? new Date(value) : undefined
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

function isDecimalLike(v: unknown): v is { toFixed(): string } {
  return typeof v === 'object' && v !== null && typeof (v as { toFixed?: unknown }).toFixed === 'function' && 'd' in v && 'e' in v && 's' in v
}
