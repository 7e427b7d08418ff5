// Copies of cached results (src/runtime/clone.ts): cloneResult is the specification,
// compileClone the near cache's fast variant; they must agree on every value.
import { Decimal } from '@prisma/client/runtime/client'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { cloneResult, compileClone } from '../src/runtime/clone.ts'

/** Every object, array, Date and byte array reachable from a value. */
function mutables(v: unknown, out = new Set<object>()): Set<object> {
  if (v === null || typeof v !== 'object') return out
  if (v instanceof Decimal) return out
  out.add(v)
  if (v instanceof Date || v instanceof Uint8Array) return out
  for (const x of Object.values(v)) mutables(x, out)
  return out
}

/** Same structure, same classes, same key order, same values. */
function expectSame(copy: unknown, original: unknown): void {
  expect(copy).toStrictEqual(original)
  if (copy !== null && typeof copy === 'object' && !(copy instanceof Decimal)) {
    expect(Object.getPrototypeOf(copy)).toBe(Object.getPrototypeOf(original) === null ? Object.prototype : Object.getPrototypeOf(original))
    if (!(copy instanceof Date) && !(copy instanceof Uint8Array)) {
      expect(Object.keys(copy)).toEqual(Object.keys(original as object))
      for (const k of Object.keys(copy)) expectSame((copy as Record<string, unknown>)[k], (original as Record<string, unknown>)[k])
    }
  }
}

const leaf = fc.oneof(
  fc.constant(null),
  fc.integer(),
  fc.double(),
  fc.string({ maxLength: 4 }),
  fc.boolean(),
  fc.bigInt(),
  fc.date({ noInvalidDate: true }),
  fc.integer({ min: -1000, max: 1000 }).map((n) => new Decimal(n).div(8)),
  fc.uint8Array({ maxLength: 3 }),
)
const keyName = fc.constantFrom('id', 'title', 'author', 'posts', '_count', '0', 'x y', '"q"', '__proto__')
/** Rows as Prisma returns them: lists of objects of one shape, with nullable fields and relations. */
const rowShape = fc.letrec<{ row: unknown }>((tie) => ({
  row: fc.dictionary(keyName, fc.oneof({ depthSize: 'small' }, leaf, tie('row'), fc.array(tie('row'), { maxLength: 3 })), { maxKeys: 4 }),
}))
/** Arbitrary values: same-shaped rows (the common case) and freely mixed ones (JSON fields). */
const value = fc.oneof(
  leaf,
  rowShape.row,
  fc.array(rowShape.row, { maxLength: 4 }),
  // Several rows of one shape, some fields nulled: the shape merge's nullable cases.
  fc.tuple(rowShape.row, fc.array(fc.array(fc.boolean(), { maxLength: 4 }), { maxLength: 4 })).map(([row, masks]) =>
    masks.map((mask) => {
      const r = cloneResult(row) as Record<string, unknown>
      if (r === null || typeof r !== 'object') return r
      Object.keys(r).forEach((k, i) => {
        if (mask[i]) r[k] = null
      })
      return r
    }),
  ),
)

describe('cloneResult', () => {
  it('a copy callers may mutate; Decimal shared (immutable), Dates and bytes copied', () => {
    const v = { a: [{ d: new Date(5), n: new Decimal('1.5'), b: new Uint8Array([1, 2]), x: null }], big: 2n }
    const c = cloneResult(v)
    expect(c).toEqual(v)
    c.a[0]!.d.setTime(9)
    c.a[0]!.b[0] = 7
    c.a.push({ d: new Date(0), n: new Decimal(0), b: new Uint8Array(), x: null })
    expect(v.a).toHaveLength(1)
    expect(v.a[0]!.d.getTime()).toBe(5)
    expect(v.a[0]!.b[0]).toBe(1)
    expect(c.a[0]!.n).toBe(v.a[0]!.n)
  })

  it('an own "__proto__" key stays a key (JSON data may hold one)', () => {
    const v = JSON.parse('{"__proto__": {"polluted": 1}, "a": 1}') as Record<string, unknown>
    const c = cloneResult(v)
    expect(Object.getPrototypeOf(c)).toBe(Object.prototype)
    expect(Object.keys(c)).toEqual(['__proto__', 'a'])
    expect(compileClone(v)(v)).toStrictEqual(c)
  })
})

describe('compileClone agrees with cloneResult (the specification)', () => {
  it('property: same value, same key order and classes, nothing mutable shared', () => {
    fc.assert(
      fc.property(value, (v) => {
        const copy = compileClone(v)(v)
        expectSame(copy, cloneResult(v))
        const shared = mutables(v)
        for (const m of mutables(copy)) expect(shared.has(m)).toBe(false)
      }),
      { numRuns: 2000 },
    )
  })

  it('rows of one shape compile to one function; nullable relations and dates copied', () => {
    const rows = [
      { id: 1, at: new Date(1), author: { id: 7, name: 'a' }, tags: [{ id: 1 }] },
      { id: 2, at: null, author: null, tags: [] },
    ]
    const clone = compileClone(rows)
    expect(clone).not.toBe(cloneResult)
    expect(compileClone(rows.map((r) => ({ ...r })))).toBe(clone) // cached by shape
    const c = clone(rows)
    expectSame(c, rows)
    c[0]!.author!.name = 'changed'
    c[0]!.at!.setTime(0)
    expect(rows[0]!.author!.name).toBe('a')
    expect(rows[0]!.at!.getTime()).toBe(1)
  })

  it('large lists of one shape are compiled too (the walk is budgeted by value size only against pathological ones)', () => {
    const rows = Array.from({ length: 20_000 }, (_, i) => ({ id: i, at: new Date(i), author: { id: 1, name: 'a' }, tags: [{ id: i }], json: { a: i, b: [i] } }))
    const clone = compileClone(rows)
    expect(clone).not.toBe(cloneResult)
    expectSame(clone(rows.slice(0, 50)), rows.slice(0, 50))
  })

  it('values of differing shapes in one place fall back to cloneResult there', () => {
    const rows = [{ json: { a: 1 } }, { json: [1, 2] }, { json: 'text' }]
    const c = compileClone(rows)(rows)
    expectSame(c, rows)
    expect(c[0]!.json).not.toBe(rows[0]!.json)
  })
})
