// Exact values back: whatever PostgreSQL returns through Prisma, a cache hit returns with
// the same types and values (property test over every scalar type of the reference User).
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Prisma } from '../prisma/generated/client/client.ts'
import { countSql, freshDatabase, testClient, type TestClient } from './helpers.ts'

let t: TestClient
beforeAll(async () => {
  t = testClient(await freshDatabase('roundtrip'))
})
afterAll(async () => {
  await t.prisma.$cacheops.invalidateAll()
  await t.close()
})

/** Deep equality that also demands equal types (Decimal class, Uint8Array, bigint, -0). */
function expectSame(actual: unknown, expected: unknown, path = '$'): void {
  if (expected instanceof Prisma.Decimal) {
    expect(actual, path).toBeInstanceOf(Prisma.Decimal)
    expect(String(actual), path).toBe(String(expected))
    return
  }
  if (expected instanceof Date) {
    expect(actual, path).toBeInstanceOf(Date)
    expect((actual as Date).getTime(), path).toBe(expected.getTime())
    return
  }
  if (expected instanceof Uint8Array) {
    expect((actual as object)?.constructor, path).toBe(expected.constructor)
    expect([...(actual as Uint8Array)], path).toEqual([...expected])
    return
  }
  if (Array.isArray(expected)) {
    expect(Array.isArray(actual), path).toBe(true)
    expect((actual as unknown[]).length, path).toBe(expected.length)
    expected.forEach((v, i) => expectSame((actual as unknown[])[i], v, `${path}[${i}]`))
    return
  }
  if (typeof expected === 'object' && expected !== null) {
    expect(typeof actual, path).toBe('object')
    expect(Object.keys(actual as object), path).toEqual(Object.keys(expected))
    for (const [k, v] of Object.entries(expected)) expectSame((actual as Record<string, unknown>)[k], v, `${path}.${k}`)
    return
  }
  expect(typeof actual, path).toBe(typeof expected)
  expect(Object.is(actual, expected), `${path}: ${String(actual)} vs ${String(expected)}`).toBe(true)
}

const json: fc.Arbitrary<Prisma.InputJsonValue | null> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.double({ noNaN: true, noDefaultInfinity: true }).filter((d) => !Object.is(d, -0)),
    fc.string(),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(fc.string({ minLength: 1, maxLength: 6 }).filter((k) => k !== '__proto__'), tie('value'), { maxKeys: 4 }),
  ),
})).value as fc.Arbitrary<Prisma.InputJsonValue | null>

let n = 0
const userData = fc.record({
  name: fc.option(fc.string({ maxLength: 20 }).map((s) => s.replace(/\0/g, '')), { nil: null }),
  role: fc.constantFrom('USER' as const, 'ADMIN' as const),
  score: fc.oneof(fc.constant(-0), fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e300, max: 1e300 })),
  balance: fc.bigInt({ min: -(10n ** 12n) + 1n, max: 10n ** 12n - 1n }).map((c) => new Prisma.Decimal(`${c / 100n}.${String((c < 0n ? -c : c) % 100n).padStart(2, '0')}`.replace(/^(-?)0*(\d)/, '$1$2'))),
  big: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
  avatar: fc.option(fc.uint8Array({ maxLength: 32 }), { nil: null }),
  meta: json,
  createdAt: fc.date({ min: new Date('1900-01-01T00:00:00Z'), max: new Date('2200-01-01T00:00:00Z'), noInvalidDate: true }),
})

describe('exact values back from a hit', () => {
  it('every scalar type of User round-trips with its type (property)', async () => {
    await fc.assert(
      fc.asyncProperty(userData, async (data) => {
        const email = `rt${n++}@x.io`
        const created = await t.base.user.create({ data: { ...data, email, meta: data.meta === null ? Prisma.DbNull : data.meta } })
        const fromDb = await t.base.user.findUnique({ where: { id: created.id } })
        await t.prisma.user.findUnique({ where: { id: created.id } }) // miss: fills
        const hit = await countSql(t, () => t.prisma.user.findUnique({ where: { id: created.id } }))
        expect(hit.sql).toBe(0)
        expectSame(hit.value, fromDb)
        const list = await countSql(t, () => t.prisma.user.findMany({ where: { id: created.id } }))
        const listAgain = await countSql(t, () => t.prisma.user.findMany({ where: { id: created.id } }))
        expect(listAgain.sql).toBe(0)
        expectSame(listAgain.value, list.value)
      }),
      { numRuns: 40, seed: 20261121 },
    )
  })

  it('aggregates (Decimal sums, BigInt sums, averages) round-trip', async () => {
    for (const [i, big] of [9007199254740993n, -5n, 12n].entries()) {
      await t.prisma.user.create({ data: { email: `agg${i}@x.io`, big, balance: `${i}.25`, score: i / 3 } })
    }
    const where = { email: { startsWith: 'agg' } }
    const read = () => t.prisma.user.aggregate({ where, _sum: { balance: true, big: true }, _avg: { score: true, balance: true }, _min: { createdAt: true } })
    const first = await read()
    const hit = await countSql(t, read)
    expect(hit.sql).toBe(0)
    expectSame(hit.value, first)
  })

  it('Json nested nulls and Decimal scale survive', async () => {
    const u = await t.prisma.user.create({ data: { email: 'json@x.io', meta: { a: [1, null, { b: null }], c: {} }, balance: '10.50' } })
    await t.prisma.user.findUnique({ where: { id: u.id } })
    const hit = await countSql(t, () => t.prisma.user.findUnique({ where: { id: u.id } }))
    expect(hit.sql).toBe(0)
    expect(hit.value?.meta).toEqual({ a: [1, null, { b: null }], c: {} })
    expect(hit.value?.balance.toFixed(2)).toBe('10.50')
    expectSame(hit.value, u)
  })
})
