// Unit and property tests for src/query/cacheKey.ts: the cache key of one read. Keys
// must not depend on how the same args are spelled (key order, undefined), and two
// reads that can answer differently must never share a key.
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { Prisma } from '../prisma/generated/client/client.ts'
import { cacheKeyFor, canonicalArgs } from '../src/query/cacheKey.ts'

const key = (args: unknown, dataPath: readonly string[] = [], model = 'Post', op = 'findMany') => cacheKeyFor(model, op, args, dataPath)

function expectSame(a: unknown, b: unknown): void {
  expect(key(a)).toBe(key(b))
}
function expectDifferent(a: unknown, b: unknown): void {
  expect(key(a)).not.toBe(key(b))
}

describe('cacheKeyFor: equal spellings share a key', () => {
  it('is a short stable string', () => {
    const k = key({ where: { id: 1 } })
    expect(k).toMatch(/^[A-Za-z0-9_-]{20,64}$/)
    expect(key({ where: { id: 1 } })).toBe(k)
  })
  it('key order in args is irrelevant, at every depth', () => {
    expectSame({ where: { id: 1, title: 'x' }, take: 2 }, { take: 2, where: { title: 'x', id: 1 } })
    expectSame(
      { where: { OR: [{ a: 1, b: 2 }], author: { is: { x: 1, y: { z: 1, w: 2 } } } }, include: { author: true, tags: true } },
      { include: { tags: true, author: true }, where: { author: { is: { y: { w: 2, z: 1 }, x: 1 } }, OR: [{ b: 2, a: 1 }] } },
    )
  })
  it('undefined properties are ignored', () => {
    expectSame({ where: { id: 1, title: undefined }, skip: undefined }, { where: { id: 1 } })
    expectSame({ where: undefined }, {})
    expectSame({ where: { AND: [{ id: 1, x: undefined }] } }, { where: { AND: [{ id: 1 }] } })
  })
  it('the same Date, Decimal or bytes give the same key', () => {
    expectSame({ d: new Date('2024-01-01T00:00:00Z') }, { d: new Date(Date.UTC(2024, 0, 1)) })
    expectSame({ d: new Prisma.Decimal('1.5') }, { d: new Prisma.Decimal('1.5') })
    expectSame({ b: Buffer.from([1, 2]) }, { b: new Uint8Array([1, 2]) })
  })
})

describe('cacheKeyFor: different reads never share a key', () => {
  it('a Date differs from its ISO string', () => {
    const d = new Date('2024-01-01T00:00:00.000Z')
    expectDifferent({ where: { createdAt: d } }, { where: { createdAt: d.toISOString() } })
    expectDifferent({ where: { createdAt: d } }, { where: { createdAt: { $date: d.toISOString() } } })
    expectDifferent({ d: new Date(NaN) }, { d: 'invalid' })
  })
  it('BigInt 1n, number 1 and string "1" differ', () => {
    const ks = [key({ v: 1n }), key({ v: 1 }), key({ v: '1' }), key({ v: { $bigint: '1' } }), key({ v: [1] })]
    expect(new Set(ks).size).toBe(ks.length)
  })
  it('Decimal differs from number and string', () => {
    const ks = [key({ v: new Prisma.Decimal('1.5') }), key({ v: 1.5 }), key({ v: '1.5' }), key({ v: { $Decimal: '1.5' } }), key({ v: new Prisma.Decimal('1.6') })]
    expect(new Set(ks).size).toBe(ks.length)
  })
  it('Uint8Array differs from an array of the same numbers', () => {
    expectDifferent({ v: new Uint8Array([1, 2]) }, { v: [1, 2] })
    expectDifferent({ v: new Uint8Array([1, 2]) }, { v: new Uint8Array([1, 3]) })
    expectDifferent({ v: new Uint8Array([1, 2]) }, { v: Buffer.from([1, 2]).toString('base64') })
  })
  it('null, undefined-in-array, NaN, -0, booleans and their string forms differ', () => {
    const vals: unknown[] = [null, 'null', NaN, 'NaN', Infinity, -Infinity, 0, -0, true, 'true', false, [null], [undefined], [], {}, '']
    const ks = vals.map((v) => key({ v }))
    expect(new Set(ks).size).toBe(vals.length)
  })
  it("Prisma's null sentinels differ from each other and from null", () => {
    const ks = [Prisma.DbNull, Prisma.JsonNull, Prisma.AnyNull, null, 'Prisma.DbNull', {}].map((v) => key({ where: { meta: { equals: v } } }))
    expect(new Set(ks).size).toBe(ks.length)
  })
  it('different dataPath, model or operation differ', () => {
    const args = { where: { id: 1 } }
    const ks = [
      cacheKeyFor('Post', 'findUnique', args, []),
      cacheKeyFor('Post', 'findUnique', args, ['select', 'author']),
      cacheKeyFor('Post', 'findUnique', args, ['select', 'category']),
      cacheKeyFor('Post', 'findUnique', args, ['select', 'author', 'select', 'posts']),
      cacheKeyFor('Post', 'findUniqueOrThrow', args, []),
      cacheKeyFor('Post', 'findFirst', args, []),
      cacheKeyFor('User', 'findUnique', args, []),
      cacheKeyFor('Post', 'findUnique', { where: { id: 2 } }, []),
    ]
    expect(new Set(ks).size).toBe(ks.length)
  })
  it('data paths are compared element-wise', () => {
    expect(cacheKeyFor('Post', 'findUnique', {}, ['a.b'])).not.toBe(cacheKeyFor('Post', 'findUnique', {}, ['a', 'b']))
    expect(cacheKeyFor('Post', 'findUnique', {}, [])).not.toBe(cacheKeyFor('Post', 'findUnique', {}, ['']))
  })
})

// ---------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------

/** Leaves from small pools, so that look-alikes of different types meet often. */
const leaf: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom<unknown>(null, undefined, true, false, 0, -0, 1, 1.5, NaN, Infinity, '', '1', '1.5', 'null', 'x', '2024-01-01T00:00:00.000Z', 'AQI=', '$bigint(1)', '{"$bigint":"1"}'),
  fc.constantFrom<unknown>(1n, 0n, -1n),
  fc.constantFrom(0, Date.UTC(2024, 0, 1), NaN).map((t) => new Date(t)),
  fc.constantFrom('1.5', '1', '0').map((s) => new Prisma.Decimal(s)),
  fc.constantFrom([1, 2], [], [1]).map((b) => new Uint8Array(b)),
  fc.constantFrom<unknown>(Prisma.DbNull, Prisma.JsonNull, Prisma.AnyNull),
  fc.constantFrom<unknown>({ $bigint: '1' }, { $date: '2024-01-01T00:00:00.000Z' }, { $bytes: 'AQI=' }, { $Decimal: '1.5' }, { $n: 'NaN' }),
  fc.string({ maxLength: 4 }),
  fc.integer({ min: -2, max: 2 }),
)

const argsArb: fc.Arbitrary<unknown> = fc.letrec<{ v: unknown }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf,
    fc.array(tie('v'), { maxLength: 3 }),
    fc.dictionary(fc.constantFrom('a', 'b', 'c', 'where', 'id', '$date', '$bigint', '__proto__x'), tie('v'), { maxKeys: 4 }),
  ),
})).v

/** Plain objects, with or without a prototype (Prisma accepts both). */
function isPlain(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== 'object') return false
  const p = Object.getPrototypeOf(v)
  return p === Object.prototype || p === null
}

/** Rebuilds plain objects with their keys in another order (chosen by `rank`), adding undefined-valued keys. */
function shuffle(v: unknown, rank: (k: string, depth: number) => number, addUndefined: boolean, depth = 0): unknown {
  if (Array.isArray(v)) return v.map((x) => shuffle(x, rank, addUndefined, depth + 1))
  if (!isPlain(v)) return v
  const entries = Object.entries(v).map(([k, x]) => [k, shuffle(x, rank, addUndefined, depth + 1)] as const)
  if (addUndefined) entries.push([`extra${depth}`, undefined])
  entries.sort(([a], [b]) => rank(a, depth) - rank(b, depth))
  return Object.fromEntries(entries)
}

/** Reference equivalence of args: the answer cannot differ when this holds. */
function sameArgs(a: unknown, b: unknown): boolean {
  if (typeof a !== typeof b) return false
  if (typeof a === 'number') return Object.is(a, b)
  if (a === null || b === null || typeof a !== 'object') return a === b
  const pa = Object.getPrototypeOf(a)
  const pb = Object.getPrototypeOf(b as object)
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => sameArgs(x, b[i]))
  if (Array.isArray(b)) return false
  if (a instanceof Date) return b instanceof Date && (a.getTime() === b.getTime() || (Number.isNaN(a.getTime()) && Number.isNaN(b.getTime())))
  if (b instanceof Date) return false
  if (a instanceof Uint8Array) return b instanceof Uint8Array && Buffer.from(a).equals(Buffer.from(b))
  if (b instanceof Uint8Array) return false
  if (Prisma.Decimal.isDecimal(a)) return Prisma.Decimal.isDecimal(b) && (a as Prisma.Decimal).equals(b as Prisma.Decimal)
  if (Prisma.Decimal.isDecimal(b)) return false
  if (!isPlain(a) || !isPlain(b)) return pa === pb && String(a) === String(b)
  const ka = Object.keys(a).filter((k) => (a as Record<string, unknown>)[k] !== undefined).sort()
  const kb = Object.keys(b as object).filter((k) => (b as Record<string, unknown>)[k] !== undefined).sort()
  return ka.length === kb.length && ka.every((k, i) => k === kb[i] && sameArgs((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]))
}

describe('cacheKeyFor properties', () => {
  it('is invariant under key reordering of nested objects and added undefined keys', () => {
    fc.assert(
      fc.property(argsArb, fc.func(fc.integer()), fc.boolean(), fc.array(fc.constantFrom('select', 'author', 'posts'), { maxLength: 3 }), (args, rank, addUndefined, path) => {
        const shuffled = shuffle(args, (k, d) => rank(k, d), addUndefined)
        expect(cacheKeyFor('Post', 'findMany', shuffled, path)).toBe(cacheKeyFor('Post', 'findMany', args, path))
        expect(canonicalArgs(shuffled)).toBe(canonicalArgs(args))
      }),
      { numRuns: 500 },
    )
  })

  it('reversing every object gives the same key', () => {
    fc.assert(
      fc.property(argsArb, (args) => {
        const reversed = shuffle(args, (() => { let n = 0; return () => --n })(), false)
        expect(key(reversed)).toBe(key(args))
      }),
    )
  })

  it('never gives two inequivalent args the same key', () => {
    fc.assert(
      fc.property(fc.array(argsArb, { minLength: 2, maxLength: 12 }), (list) => {
        for (let i = 0; i < list.length; i++) {
          for (let j = i + 1; j < list.length; j++) {
            const a = list[i]
            const b = list[j]
            if (key({ where: a }) === key({ where: b })) {
              expect(sameArgs(a, b), `${canonicalArgs(a)} collides with ${canonicalArgs(b)}`).toBe(true)
            }
          }
        }
      }),
      { numRuns: 1000 },
    )
  })

  it('equivalent args share a key', () => {
    fc.assert(
      fc.property(argsArb, argsArb, (a, b) => {
        if (sameArgs(a, b) && !containsDecimal(a)) expect(key(a)).toBe(key(b))
      }),
    )
  })

  it('distinct data paths give distinct keys', () => {
    const path = fc.array(fc.string({ unit: fc.constantFrom('a', '.', '\n', '"', ',', 'b') , maxLength: 3 }), { maxLength: 3 })
    fc.assert(
      fc.property(path, path, (p, q) => {
        const same = p.length === q.length && p.every((x, i) => x === q[i])
        expect(cacheKeyFor('Post', 'findUnique', {}, p) === cacheKeyFor('Post', 'findUnique', {}, q)).toBe(same)
      }),
    )
  })
})

/** Equal Decimals may print differently (-0 and 0): a missed share, never a collision. */
function containsDecimal(v: unknown): boolean {
  if (Prisma.Decimal.isDecimal(v)) return true
  if (Array.isArray(v)) return v.some(containsDecimal)
  if (isPlain(v)) return Object.values(v).some(containsDecimal)
  return false
}
