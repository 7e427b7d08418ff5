// Unit and property tests for src/runtime/preparedReads.ts: a read's key and dependencies,
// derived once per query text. What it returns must be exactly what deriving them afresh
// gives, and what it keeps must stay bounded.
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { datamodel } from '../prisma/generated/cacheops/index.ts'
import { cacheKeyFor } from '../src/query/cacheKey.ts'
import { fieldsReadBy, readPlan } from '../src/query/dependencies.ts'
import { DEFAULT_DNF_OPTIONS } from '../src/query/dnf.ts'
import { PreparedReads } from '../src/runtime/preparedReads.ts'
import { leaseRequestOf } from '../src/query/leaseRequest.ts'

const fresh = (perGeneration?: number) => new PreparedReads(datamodel, DEFAULT_DNF_OPTIONS, [], perGeneration)

describe('PreparedReads', () => {
  it('gives the same key and lease as deriving them afresh, for any where clause', () => {
    const prepared = fresh(16) // small: the property also runs through generation changes
    const value = fc.oneof(fc.integer({ min: -3, max: 3 }), fc.constantFrom('a', 'b'), fc.boolean(), fc.constant(null))
    const where = fc.record(
      {
        id: fc.oneof(fc.integer({ min: 1, max: 5 }), fc.record({ in: fc.array(fc.integer({ min: 1, max: 5 }), { maxLength: 3 }) })),
        authorId: fc.integer({ min: 1, max: 3 }),
        published: fc.boolean(),
        title: value,
        OR: fc.array(fc.record({ views: fc.integer({ min: 0, max: 2 }), categoryId: fc.oneof(fc.integer({ min: 1, max: 2 }), fc.constant(null)) }, { requiredKeys: [] }), { maxLength: 2 }),
      },
      { requiredKeys: [] },
    )
    const args = fc.record({ where, include: fc.option(fc.constant({ author: true }), { nil: undefined }) }, { requiredKeys: ['where'] })
    fc.assert(
      fc.property(args, fc.constantFrom('findMany', 'count'), fc.constantFrom<string[]>([], ['t1']), (a, op, tags) => {
        const got = prepared.of('Post', op, a, tags, [])
        expect(got.key).toBe(cacheKeyFor('Post', op, tags.length > 0 ? { args: a, tags } : a, []))
        const plan = readPlan(datamodel, 'Post', a, DEFAULT_DNF_OPTIONS, true)
        const fields = fieldsReadBy(datamodel.models.Post!, op, a)
        expect(got.lease).toEqual(leaseRequestOf(plan, tags, [], fields && { model: 'Post', fields }))
      }),
      { numRuns: 300 },
    )
  })

  it('derives a repeated query once, and keeps the fluent data path apart', () => {
    const prepared = fresh()
    const a = prepared.of('Post', 'findUnique', { where: { id: 1 } }, [], [])
    expect(prepared.of('Post', 'findUnique', { where: { id: 1 } }, [], [])).toBe(a)
    const fluent = prepared.of('Post', 'findUnique', { where: { id: 1 } }, [], ['select', 'author'])
    expect(fluent).not.toBe(a)
    expect(fluent.key).not.toBe(a.key)
  })

  it('stays bounded, and a query asked for again survives a change of generation', () => {
    const prepared = fresh(10)
    const hot = prepared.of('Post', 'findUnique', { where: { id: 0 } }, [], [])
    for (let i = 1; i <= 100; i++) {
      prepared.of('Post', 'findUnique', { where: { id: i } }, [], [])
      if (i % 5 === 0) expect(prepared.of('Post', 'findUnique', { where: { id: 0 } }, [], [])).toBe(hot)
      expect(prepared.size).toBeLessThanOrEqual(20)
    }
  })

  it('does not keep very long queries, and still answers them', () => {
    const prepared = fresh()
    const ids = Array.from({ length: 1000 }, (_, i) => i)
    const a = prepared.of('Post', 'findMany', { where: { id: { in: ids } } }, [], [])
    expect(prepared.size).toBe(0)
    expect(a.key).toBe(cacheKeyFor('Post', 'findMany', { where: { id: { in: ids } } }, []))
  })
})
