import { hash } from 'node:crypto'

/**
 * Canonical text of Prisma args: object keys sorted, `undefined` dropped (Prisma ignores
 * it), and every non-JSON value tagged with its type so that e.g. the string "1" and the
 * BigInt 1n, or a Date and its ISO string, never share a key. Tags start with `$`
 * (built-in types) or `@` (class instances), which no JSON-like text starts with, so a
 * plain object such as `{ $date: '...' }` cannot pass for a tagged value either.
 */
export function canonicalArgs(value: unknown): string {
  if (value === null) return 'null'
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value)
    case 'number':
      return Object.is(value, -0) ? '-0' : Number.isFinite(value) ? String(value) : `$number(${String(value)})`
    case 'boolean':
      return String(value)
    case 'bigint':
      return `$bigint(${value})`
    case 'undefined':
      return 'undefined'
    case 'object':
      break
    default:
      return `$${typeof value}(${JSON.stringify(String(value))})`
  }
  if (Array.isArray(value)) return `[${value.map((v) => canonicalArgs(v)).join(',')}]`
  if (value instanceof Date) return `$date(${Number.isNaN(value.getTime()) ? 'invalid' : JSON.stringify(value.toISOString())})`
  if (value instanceof Uint8Array) return `$bytes(${JSON.stringify(Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64'))})`
  const obj = value as Record<string, unknown>
  const proto = Object.getPrototypeOf(obj)
  if (proto !== Object.prototype && proto !== null) {
    // Decimal, Prisma.DbNull/JsonNull/AnyNull, field references, ...: the class name and
    // a string form tell them apart; Decimal's toString keeps its value.
    const name = (proto?.constructor as { name?: string } | undefined)?.name ?? 'Object'
    const isDecimal = /^Decimal\d*$/.test(name)
    const own = Object.keys(obj).length > 0 && !isDecimal ? `,${canonicalPlain(obj)}` : ''
    return `@${isDecimal ? 'Decimal' : name}(${JSON.stringify(String(obj))}${own})`
  }
  return canonicalPlain(obj)
}

function canonicalPlain(obj: Record<string, unknown>): string {
  const keys = Object.keys(obj).filter((k) => obj[k] !== undefined).sort()
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalArgs(obj[k])}`).join(',')}}`
}

/**
 * Bumped whenever the entry or payload format changes, so that a deploy with a new format
 * never reads (and fails to decode) entries written by the old one.
 */
const ENTRY_FORMAT = 'v1'

/**
 * Text a read's cache key is the hash of: model, operation, canonical args and the
 * fluent-API data path (`post.findUnique(a).author()` reaches us as `findUnique` with a data
 * path, and its value has a different shape from `post.findUnique(a)`). Two reads with the
 * same text are the same query, so whatever is derived from their args alone (the key, the
 * dependencies) can be derived once per text (see runtime/preparedReads.ts).
 */
export function cacheKeyText(model: string, operation: string, args: unknown, dataPath: readonly string[]): string {
  return `${ENTRY_FORMAT}\n${model}\n${operation}\n${JSON.stringify(dataPath)}\n${canonicalArgs(args)}`
}

/** Cache key of one read: a hash of its cacheKeyText. */
export function cacheKeyFor(model: string, operation: string, args: unknown, dataPath: readonly string[]): string {
  return cacheKeyOfText(cacheKeyText(model, operation, args, dataPath))
}

export function cacheKeyOfText(text: string): string {
  return hash('sha1', text, 'base64url') // one-shot: a third of createHash's cost per read
}
