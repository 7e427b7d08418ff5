import { describe, expect, it } from 'vitest'
import { datamodel } from '../prisma/generated/cacheops/index.ts'
import { resultDependencies } from '../src/query/resultDependencies.ts'
import { readPlan } from '../src/query/dependencies.ts'
import { DEFAULT_DNF_OPTIONS } from '../src/query/dnf.ts'

const plain = (m: ReadonlyMap<string, readonly ReadonlyMap<string, string>[]>) => Object.fromEntries([...m].map(([k, v]) => [k, v.map((c) => Object.fromEntries(c))]))

describe('resultDependencies', () => {
  it('to-many include: the children of each parent', () => {
    const deps = resultDependencies(datamodel, 'User', { include: { posts: true } }, [{ id: 1, posts: [] }, { id: 2, posts: [{ id: 7, authorId: 2 }] }])
    expect(plain(deps)).toEqual({ Post: [{ authorId: '1' }, { authorId: '2' }] })
  })

  it('to-one include: the referenced row; a null foreign key reaches nothing', () => {
    const deps = resultDependencies(datamodel, 'Post', { include: { author: true, category: true } }, [
      { id: 1, authorId: 5, categoryId: null, author: { id: 5 }, category: null },
    ])
    expect(plain(deps)).toEqual({ User: [{ id: '5' }], Category: [] })
  })

  it('compound foreign keys and nested includes', () => {
    const deps = resultDependencies(datamodel, 'Group', { include: { members: { include: { user: true } } } }, [
      { tenant: 't', slug: 's', members: [{ userId: 3, tenant: 't', slug: 's', user: { id: 3 } }] },
    ])
    expect(plain(deps)).toEqual({ Membership: [{ tenant: '"t"', slug: '"s"' }], User: [{ id: '3' }] })
  })

  it('implicit many-to-many: the linked rows and the parents’ own rows', () => {
    const deps = resultDependencies(datamodel, 'Post', { include: { tags: true } }, { id: 4, tags: [{ id: 8 }, { id: 9 }] })
    expect(plain(deps)).toEqual({ Post: [{ id: '4' }], Tag: [{ id: '8' }, { id: '9' }] })
  })

  it('implicit many-to-many read that may leave linked rows out (where, take, skip, cursor, distinct): the whole linked model', () => {
    for (const shape of [{ where: { name: 'x' } }, { take: 1 }, { skip: 1 }, { cursor: { id: 8 } }, { distinct: ['name'] }]) {
      const deps = resultDependencies(datamodel, 'Post', { include: { tags: shape } }, { id: 4, tags: [{ id: 8 }] })
      expect(plain(deps)).toEqual({ Post: [{ id: '4' }], Tag: [{}] })
    }
    // An order alone leaves nothing out.
    expect(plain(resultDependencies(datamodel, 'Post', { include: { tags: { orderBy: { name: 'asc' } } } }, { id: 4, tags: [{ id: 8 }] }))).toEqual({ Post: [{ id: '4' }], Tag: [{ id: '8' }] })
  })

  it('_count uses the parents; a missing key value means the whole model', () => {
    expect(plain(resultDependencies(datamodel, 'User', { select: { _count: { select: { posts: true } } } }, [{ _count: { posts: 2 } }]))).toEqual({ Post: [{}] })
    expect(plain(resultDependencies(datamodel, 'User', { include: { _count: true } }, [{ id: 1, _count: {} }]))).toMatchObject({ Post: [{ authorId: '1' }], Comment: [{ authorId: '1' }] })
  })
})

describe('readPlan', () => {
  it('leaves included relations to the result, keeps filtered ones whole', () => {
    const plan = readPlan(datamodel, 'User', { where: { posts: { some: { title: 'x' } } }, include: { posts: true, profile: true } }, DEFAULT_DNF_OPTIONS, true)
    expect([...plan.derived]).toEqual(['Profile'])
    expect(plan.deps.get('Post')).toEqual([new Map()])
  })

  it('without deriving (fluent calls), every relation is whole', () => {
    const plan = readPlan(datamodel, 'Post', { where: { id: 1 }, select: { author: true } }, DEFAULT_DNF_OPTIONS, false)
    expect(plan.derived.size).toBe(0)
    expect(plan.deps.get('User')).toEqual([new Map()])
  })
})
