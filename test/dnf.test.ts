// Unit and property tests for src/query/dnf.ts: where clause → disjunctive normal form
// over the model's own scalar fields. The key safety property: a row that matches the
// where clause satisfies at least one conjunction of its DNF (else a write to that row
// would not invalidate the cached read).
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { Prisma } from '../prisma/generated/client/client.ts'
import { datamodel as generated } from '../prisma/generated/cacheops/index.ts'
import type { CacheopsDatamodel, ModelInfo, ScalarFieldInfo } from '../src/datamodel/types.ts'
import {
  DEFAULT_DNF_OPTIONS, FALSE, TRUE, and, dnfOfWhere, or, walkRelationFilter,
  type Conjunction, type Dnf, type DnfOptions, type WalkContext,
} from '../src/query/dnf.ts'
import { encodeConjValue } from '../src/query/values.ts'
import { conjKeyOf } from '../src/query/dependencies.ts'

const datamodel: CacheopsDatamodel = generated

function model(name: string): ModelInfo {
  const m = datamodel.models[name]
  if (!m) throw new Error(`no model ${name}`)
  return m
}

function scalar(m: ModelInfo, name: string): ScalarFieldInfo {
  const f = m.fields[name]
  if (!f || f.kind === 'relation') throw new Error(`${m.name}.${name} is not a scalar field`)
  return f
}

function walk(modelName: string, where: unknown, options: Partial<DnfOptions> = {}): { dnf: Dnf; related: string[] } {
  const ctx: WalkContext = { datamodel, options: { ...DEFAULT_DNF_OPTIONS, ...options }, relatedModels: new Set() }
  const dnf = dnfOfWhere(model(modelName), where, ctx)
  return { dnf, related: [...ctx.relatedModels].sort() }
}

const dnf = (modelName: string, where: unknown, options: Partial<DnfOptions> = {}): Dnf => walk(modelName, where, options).dnf

/** A conjunction written with plain values, encoded the way dnf.ts must encode them. */
function conj(modelName: string, terms: Record<string, unknown>): Conjunction {
  const m = model(modelName)
  return new Map(Object.entries(terms).map(([f, v]) => {
    const e = encodeConjValue(scalar(m, f), v)
    if (e === undefined) throw new Error(`cannot encode ${f}=${String(v)}`)
    return [f, e] as const
  }))
}

/** Order-insensitive view of a DNF (duplicates kept). */
const keys = (d: Dnf, modelName = 'M'): string[] => d.map((c) => conjKeyOf(modelName, c)).sort()

function expectDnf(actual: Dnf, modelName: string, expected: Record<string, unknown>[]): void {
  expect(keys(actual, modelName)).toEqual(keys(expected.map((t) => conj(modelName, t)), modelName))
}

const isTrue = (d: Dnf) => expect(d).toEqual([new Map()])
const isFalse = (d: Dnf) => expect(d).toEqual([])

describe('constants and combinators', () => {
  it('TRUE is one empty conjunction, FALSE is no conjunction', () => {
    expect(TRUE).toEqual([new Map()])
    expect(FALSE).toEqual([])
  })
  it('and/or obey the identities of TRUE and FALSE', () => {
    const o = DEFAULT_DNF_OPTIONS
    const x: Dnf = [conj('Post', { id: 1 }), conj('Post', { id: 2 })]
    expect(and(TRUE, x, o)).toEqual(x)
    expect(and(x, TRUE, o)).toEqual(x)
    isFalse(and(x, FALSE, o))
    isFalse(and(FALSE, x, o))
    isTrue(or(TRUE, x, o))
    isTrue(or(x, TRUE, o))
    expect(or(FALSE, x, o)).toEqual(x)
    // x ∧ (id=1) keeps only the compatible conjunction.
    expectDnf(and(x, [conj('Post', { id: 1 })], o), 'Post', [{ id: 1 }])
  })
})

describe('equality', () => {
  it('non-objects and empty objects are TRUE', () => {
    isTrue(dnf('Post', undefined))
    isTrue(dnf('Post', null))
    isTrue(dnf('Post', {}))
  })
  it('{f: v} and {f: {equals: v}} give one term', () => {
    expectDnf(dnf('Post', { id: 1 }), 'Post', [{ id: 1 }])
    expectDnf(dnf('Post', { id: { equals: 1 } }), 'Post', [{ id: 1 }])
    expectDnf(dnf('Post', { title: 'hello' }), 'Post', [{ title: 'hello' }])
    expectDnf(dnf('Post', { published: false }), 'Post', [{ published: false }])
    expectDnf(dnf('User', { role: 'ADMIN' }), 'User', [{ role: 'ADMIN' }])
    expectDnf(dnf('User', { role: { equals: 'ADMIN' } }), 'User', [{ role: 'ADMIN' }])
  })
  it('values are canonical: 1n and 1, Decimal and number, Date and ISO string', () => {
    expect(keys(dnf('Post', { id: 1n }))).toEqual(keys(dnf('Post', { id: 1 })))
    expect(keys(dnf('User', { balance: new Prisma.Decimal('1.50') }))).toEqual(keys(dnf('User', { balance: 1.5 })))
    expect(keys(dnf('User', { balance: { equals: new Prisma.Decimal('2') } }))).toEqual(keys(dnf('User', { balance: '2.00' })))
    const d = new Date('2024-01-02T03:04:05.006Z')
    expect(keys(dnf('User', { createdAt: d }))).toEqual(keys(dnf('User', { createdAt: d.toISOString() })))
    expect(keys(dnf('User', { avatar: Buffer.from([1, 2]) }))).toEqual(keys(dnf('User', { avatar: new Uint8Array([1, 2]) })))
  })
  it("null gives the term 'null'", () => {
    const expected = [new Map([['categoryId', 'null']])]
    expect(dnf('Post', { categoryId: null })).toEqual(expected)
    expect(dnf('Post', { categoryId: { equals: null } })).toEqual(expected)
    expect(dnf('User', { name: null })).toEqual([new Map([['name', 'null']])])
  })
  it('values that cannot be encoded are unknown (TRUE)', () => {
    isTrue(dnf('User', { meta: { equals: { a: 1 } } }))
    isTrue(dnf('Post', { views: 1.5 }))
    // A field reference compares two columns: no constant to key on.
    const ref = Object.assign(Object.create({ constructor: function FieldRef() {} }), { modelName: 'Post', name: 'authorId', typeName: 'Int', isList: false })
    isTrue(dnf('Post', { views: { equals: ref } }))
    isTrue(dnf('Post', { views: ref }))
    isTrue(dnf('Post', { views: [1, 2] }))
  })
  it('unknown keys are TRUE', () => {
    isTrue(dnf('Post', { nope: 1 }))
    expectDnf(dnf('Post', { nope: 1, id: 2 }), 'Post', [{ id: 2 }])
  })
})

describe('in', () => {
  it('expands to an OR of equalities', () => {
    expectDnf(dnf('Post', { id: { in: [1, 2] } }), 'Post', [{ id: 1 }, { id: 2 }])
    expectDnf(dnf('Post', { id: { in: [3] } }), 'Post', [{ id: 3 }])
    expectDnf(dnf('User', { role: { in: ['USER', 'ADMIN'] } }), 'User', [{ role: 'USER' }, { role: 'ADMIN' }])
  })
  it('expands up to maxInValues (default 8), longer lists are unknown', () => {
    const eight = [1, 2, 3, 4, 5, 6, 7, 8]
    expectDnf(dnf('Post', { id: { in: eight } }), 'Post', eight.map((id) => ({ id })))
    isTrue(dnf('Post', { id: { in: [...eight, 9] } }))
    expectDnf(dnf('Post', { authorId: 5, id: { in: [...eight, 9] } }), 'Post', [{ authorId: 5 }])
    expectDnf(dnf('Post', { id: { in: [1, 2] } }, { maxInValues: 2 }), 'Post', [{ id: 1 }, { id: 2 }])
    isTrue(dnf('Post', { id: { in: [1, 2, 3] } }, { maxInValues: 2 }))
    isTrue(dnf('Post', { id: { in: [1] } }, { maxInValues: 0 }))
  })
  it('in: [] is FALSE, also inside a conjunction', () => {
    isFalse(dnf('Post', { id: { in: [] } }))
    isFalse(dnf('Post', { authorId: 1, id: { in: [] } }))
    isFalse(dnf('Post', { id: { in: [] }, authorId: 1 }))
    isFalse(dnf('Post', { AND: [{ title: 'x' }, { id: { in: [] } }] }))
    expectDnf(dnf('Post', { OR: [{ id: { in: [] } }, { id: 4 }] }), 'Post', [{ id: 4 }])
  })
  it('in combines with equals on the same field', () => {
    expectDnf(dnf('Post', { id: { in: [1, 2], equals: 2 } }), 'Post', [{ id: 2 }])
    isFalse(dnf('Post', { id: { in: [1, 2], equals: 3 } }))
  })
  it('in with non-scalar members is unknown', () => {
    isTrue(dnf('Post', { id: { in: [1, { x: 1 }] } }))
    isTrue(dnf('Post', { id: { in: 1 } }))
  })
})

describe('compound uniques', () => {
  it('authorId_title on Post gives both terms', () => {
    expectDnf(dnf('Post', { authorId_title: { authorId: 1, title: 'x' } }), 'Post', [{ authorId: 1, title: 'x' }])
  })
  it('tenant_slug on Group gives both terms', () => {
    expectDnf(dnf('Group', { tenant_slug: { tenant: 't', slug: 's' } }), 'Group', [{ tenant: 't', slug: 's' }])
  })
  it('userId_tenant_slug on Membership gives three terms', () => {
    expectDnf(dnf('Membership', { userId_tenant_slug: { userId: 7, tenant: 't', slug: 's' } }), 'Membership', [{ userId: 7, tenant: 't', slug: 's' }])
  })
  it('conjoins with other keys and drops undefined parts', () => {
    expectDnf(dnf('Post', { authorId_title: { authorId: 1, title: 'x' }, published: true }), 'Post', [{ authorId: 1, title: 'x', published: true }])
    isFalse(dnf('Post', { authorId_title: { authorId: 1, title: 'x' }, authorId: 2 }))
    expectDnf(dnf('Post', { authorId_title: { authorId: 1, title: undefined } }), 'Post', [{ authorId: 1 }])
    isTrue(dnf('Post', { authorId_title: 'nonsense' }))
  })
})

describe('AND / OR', () => {
  it('implicit AND of several keys', () => {
    expectDnf(dnf('Post', { authorId: 1, published: true, title: 't' }), 'Post', [{ authorId: 1, published: true, title: 't' }])
  })
  it('explicit AND as array or object', () => {
    expectDnf(dnf('Post', { AND: [{ authorId: 1 }, { published: true }] }), 'Post', [{ authorId: 1, published: true }])
    expectDnf(dnf('Post', { AND: { authorId: 1, views: 3 } }), 'Post', [{ authorId: 1, views: 3 }])
    expectDnf(dnf('Post', { AND: { authorId: 1 }, views: 3 }), 'Post', [{ authorId: 1, views: 3 }])
    isTrue(dnf('Post', { AND: [] }))
  })
  it('OR disjoins, OR: [] is FALSE', () => {
    expectDnf(dnf('Post', { OR: [{ id: 1 }, { title: 'x' }] }), 'Post', [{ id: 1 }, { title: 'x' }])
    isFalse(dnf('Post', { OR: [] }))
    isFalse(dnf('Post', { authorId: 1, OR: [] }))
    isTrue(dnf('Post', { OR: [{ id: 1 }, {}] }))
    isTrue(dnf('Post', { OR: [{ id: 1 }, { views: { gt: 3 } }] }))
  })
  it('AND distributes over OR', () => {
    expectDnf(dnf('Post', { authorId: 1, OR: [{ id: 1 }, { id: 2 }] }), 'Post', [{ authorId: 1, id: 1 }, { authorId: 1, id: 2 }])
    expectDnf(
      dnf('Post', { AND: [{ OR: [{ id: 1 }, { id: 2 }] }, { OR: [{ views: 1 }, { title: 'x' }] }] }),
      'Post',
      [{ id: 1, views: 1 }, { id: 1, title: 'x' }, { id: 2, views: 1 }, { id: 2, title: 'x' }],
    )
    expectDnf(dnf('Post', { OR: [{ id: 1, OR: [{ views: 1 }, { views: 2 }] }, { id: 3 }] }), 'Post', [{ id: 1, views: 1 }, { id: 1, views: 2 }, { id: 3 }])
  })
  it('contradictory conjunctions are dropped', () => {
    isFalse(dnf('Post', { id: 1, AND: { id: 2 } }))
    isFalse(dnf('Post', { AND: [{ id: 1 }, { id: 2 }] }))
    isFalse(dnf('Post', { id: { equals: 1 }, AND: [{ id: { in: [2, 3] } }] }))
    isFalse(dnf('Post', { categoryId: null, AND: { categoryId: 1 } }))
    expectDnf(dnf('Post', { id: 1, OR: [{ id: 1 }, { id: 2 }] }), 'Post', [{ id: 1 }])
    // Same value twice is no contradiction.
    expectDnf(dnf('Post', { id: 1, AND: { id: { equals: 1 } } }), 'Post', [{ id: 1 }])
    // 1n and 1 are the same value.
    expectDnf(dnf('Post', { id: 1, AND: { id: 1n } }), 'Post', [{ id: 1 }])
  })
})

describe('unknown filters drop out of their conjunction', () => {
  it('NOT and not', () => {
    isTrue(dnf('Post', { NOT: { id: 1 } }))
    isTrue(dnf('Post', { NOT: [{ id: 1 }, { id: 2 }] }))
    isTrue(dnf('Post', { NOT: { id: { in: [] } } }))
    expectDnf(dnf('Post', { authorId: 1, NOT: { id: 2 } }), 'Post', [{ authorId: 1 }])
    isTrue(dnf('Post', { id: { not: 1 } }))
    isTrue(dnf('Post', { categoryId: { not: null } }))
    expectDnf(dnf('Post', { id: { equals: 1, not: 2 } }), 'Post', [{ id: 1 }])
    isTrue(dnf('Post', { id: { notIn: [1, 2] } }))
  })
  it('ranges', () => {
    for (const op of ['gt', 'gte', 'lt', 'lte']) {
      isTrue(dnf('Post', { views: { [op]: 3 } }))
      expectDnf(dnf('Post', { authorId: 2, views: { [op]: 3 } }), 'Post', [{ authorId: 2 }])
    }
    expectDnf(dnf('Post', { views: { in: [1, 2], gt: 1 } }), 'Post', [{ views: 1 }, { views: 2 }])
  })
  it('string filters', () => {
    for (const op of ['contains', 'startsWith', 'endsWith']) {
      isTrue(dnf('Post', { title: { [op]: 'x' } }))
      expectDnf(dnf('Post', { title: { [op]: 'x' }, views: 1 }), 'Post', [{ views: 1 }])
    }
    isTrue(dnf('Post', { title: { search: 'x' } }))
  })
  it("mode: 'insensitive', even with equals or in", () => {
    isTrue(dnf('Post', { title: { equals: 'X', mode: 'insensitive' } }))
    isTrue(dnf('Post', { title: { in: ['a', 'b'], mode: 'insensitive' } }))
    isTrue(dnf('Post', { title: { mode: 'insensitive', equals: 'X' } }))
    expectDnf(dnf('Post', { title: { equals: 'X', mode: 'insensitive' }, authorId: 1 }), 'Post', [{ authorId: 1 }])
    expectDnf(dnf('Post', { title: { equals: 'X', mode: 'default' } }), 'Post', [{ title: 'X' }])
  })
  it('Json filters', () => {
    isTrue(dnf('User', { meta: { equals: { a: 1 } } }))
    isTrue(dnf('User', { meta: { equals: Prisma.DbNull } }))
    isTrue(dnf('User', { meta: { equals: null } }))
    isTrue(dnf('User', { meta: null }))
    isTrue(dnf('User', { meta: { path: ['a'], equals: 1 } }))
    isTrue(dnf('User', { meta: { path: ['a'], equals: null } }))
    isTrue(dnf('User', { meta: { path: ['a'], string_contains: 'x' } }))
    isTrue(dnf('User', { meta: { array_contains: [1] } }))
    expectDnf(dnf('User', { meta: { path: ['a'], equals: 'x' }, id: 3 }), 'User', [{ id: 3 }])
  })
  it('list filters', () => {
    // The reference schema has no scalar list: add one to a copy of Post.
    const post = model('Post')
    const labels: ScalarFieldInfo = { ...scalar(post, 'title'), dbName: 'labels', isList: true }
    const withList: ModelInfo = { ...post, fields: { ...post.fields, labels } }
    const ctx = (): WalkContext => ({ datamodel, options: DEFAULT_DNF_OPTIONS, relatedModels: new Set() })
    for (const where of [
      { labels: { has: 'a' } }, { labels: { hasSome: ['a'] } }, { labels: { hasEvery: ['a'] } },
      { labels: { isEmpty: true } }, { labels: { equals: ['a'] } }, { labels: { equals: null } },
      { labels: ['a'] }, { labels: null }, { labels: 'a' }, { labels: { in: ['a'] } },
    ]) {
      expect(dnfOfWhere(withList, where, ctx()), JSON.stringify(where)).toEqual([new Map()])
    }
  })
  it('relation filters', () => {
    isTrue(dnf('Post', { author: { name: 'x' } }))
    expectDnf(dnf('Post', { authorId: 1, author: { is: { id: 1 } } }), 'Post', [{ authorId: 1 }])
  })
})

describe('undefined', () => {
  it('undefined values are ignored', () => {
    isTrue(dnf('Post', { id: undefined }))
    expectDnf(dnf('Post', { id: 1, title: undefined }), 'Post', [{ id: 1 }])
    isTrue(dnf('Post', { id: { equals: undefined } }))
    isTrue(dnf('Post', { id: { in: undefined } }))
    isTrue(dnf('Post', { OR: undefined, AND: undefined, NOT: undefined }))
    expectDnf(dnf('Post', { id: { equals: 1, in: undefined } }), 'Post', [{ id: 1 }])
  })
})

describe('related models', () => {
  it('relation filters record the related model', () => {
    expect(walk('Post', { author: { name: 'x' } }).related).toEqual(['User'])
    expect(walk('Post', { author: { is: { name: 'x' } } }).related).toEqual(['User'])
    expect(walk('Post', { author: { isNot: { name: 'x' } } }).related).toEqual(['User'])
    expect(walk('Post', { category: null }).related).toEqual(['Category'])
    expect(walk('Post', { category: { is: null } }).related).toEqual(['Category'])
    expect(walk('User', { posts: { some: { title: 'x' } } }).related).toEqual(['Post'])
    expect(walk('User', { posts: { every: {} } }).related).toEqual(['Post'])
    expect(walk('User', { posts: { none: {} } }).related).toEqual(['Post'])
    expect(walk('Post', { tags: { some: { name: 'x' } } }).related).toEqual(['Tag'])
    expect(walk('Group', { members: { some: { user: { email: 'x' } } } }).related).toEqual(['Membership', 'User'])
  })
  it('nested deeper', () => {
    expect(walk('User', { posts: { some: { comments: { some: { author: { is: { profile: { is: { bio: 'x' } } } } } } } } }).related)
      .toEqual(['Comment', 'Post', 'Profile', 'User'])
    expect(walk('Post', { author: { posts: { some: { category: { title: 'c' } } } } }).related).toEqual(['Category', 'Post', 'User'])
  })
  it('inside NOT, OR and AND', () => {
    expect(walk('Post', { NOT: { author: { name: 'x' } } }).related).toEqual(['User'])
    expect(walk('Post', { NOT: [{ id: 1 }, { comments: { some: {} } }] }).related).toEqual(['Comment'])
    expect(walk('Post', { OR: [{ id: 1 }, { category: { title: 'x' } }] }).related).toEqual(['Category'])
    expect(walk('Post', { AND: { tags: { none: { name: 'x' } } } }).related).toEqual(['Tag'])
    expect(walk('Post', { author: { NOT: { profile: { bio: 'x' } } } }).related).toEqual(['Profile', 'User'])
  })
  it('does not depend on key order, even when the DNF is FALSE', () => {
    const a = walk('Post', { id: { in: [] }, author: { name: 'x' } })
    const b = walk('Post', { author: { name: 'x' }, id: { in: [] } })
    isFalse(a.dnf)
    isFalse(b.dnf)
    expect(a.related).toEqual(b.related)
    expect(a.related).toEqual(['User'])
    expect(walk('Post', { OR: [], comments: { some: {} } }).related).toEqual(['Comment'])
  })
  it('scalar-only filters record nothing', () => {
    expect(walk('Post', { id: 1, OR: [{ title: 'x' }], NOT: { views: { gt: 1 } } }).related).toEqual([])
  })
  it('walkRelationFilter records models reached from the target', () => {
    const ctx: WalkContext = { datamodel, options: DEFAULT_DNF_OPTIONS, relatedModels: new Set() }
    walkRelationFilter('Post', { some: { author: { is: { id: 1 } } } }, ctx)
    expect([...ctx.relatedModels]).toEqual(['User'])
  })
})

describe('maxConjunctions', () => {
  const ids = (n: number) => Array.from({ length: n }, (_, i) => ({ id: i + 1 }))
  it('a DNF larger than maxConjunctions collapses to TRUE', () => {
    expect(dnf('Post', { OR: ids(64) })).toHaveLength(64)
    isTrue(dnf('Post', { OR: ids(65) }))
    isTrue(dnf('Post', { OR: ids(100) }))
    isTrue(dnf('Post', { OR: ids(4) }, { maxConjunctions: 3 }))
    expect(dnf('Post', { OR: ids(3) }, { maxConjunctions: 3 })).toHaveLength(3)
  })
  it('products of ORs collapse too', () => {
    const eight = [1, 2, 3, 4, 5, 6, 7, 8]
    expect(dnf('Post', { id: { in: eight }, views: { in: eight } })).toHaveLength(64)
    isTrue(dnf('Post', { id: { in: eight }, views: { in: [...eight.slice(0, 7), 9] }, authorId: { in: [1, 2] } }))
    isTrue(dnf('Post', { AND: [{ OR: ids(5) }, { OR: [{ views: 1 }, { views: 2 }] }] }, { maxConjunctions: 9 }))
  })
  it('a collapsed DNF still conjoins with later terms (soundly)', () => {
    expectDnf(dnf('Post', { OR: ids(70), authorId: 3 }), 'Post', [{ authorId: 3 }])
  })
})

// ---------------------------------------------------------------------------------
// Soundness property
// ---------------------------------------------------------------------------------

interface Row { id: number; title: string; published: boolean; views: number; authorId: number; categoryId: number | null }

const Post = model('Post')
const TITLES = ['a', 'A', 'b', 'a&b=c']
const small = fc.integer({ min: 0, max: 3 })
const title = fc.constantFrom(...TITLES)

const rowArb: fc.Arbitrary<Row> = fc.record({
  id: small, title, published: fc.boolean(), views: small, authorId: small,
  categoryId: fc.option(small, { nil: null }),
})

/** How a value may be spelled in a where clause (all mean the same to Prisma). */
const intSpelling = (v: number): fc.Arbitrary<unknown> => fc.constantFrom<unknown>(v, BigInt(v))

/** One operator at a time mostly (so that rows match often), sometimes several. */
function intFilter(nullable: boolean): fc.Arbitrary<unknown> {
  const value: fc.Arbitrary<number | null> = nullable ? fc.option(small, { nil: null, freq: 3 }) : small
  const spelled = value.chain((v) => (v === null ? fc.constant<unknown>(null) : intSpelling(v)))
  const list = fc.array(spelled, { maxLength: 10 })
  const range = fc.tuple(fc.constantFrom('gt', 'gte', 'lt', 'lte'), small).map(([op, v]) => ({ [op]: v }))
  const not = fc.oneof(spelled, fc.record({ equals: spelled }), fc.record({ in: list }))
  return fc.oneof(
    spelled,
    fc.record({ equals: spelled }),
    fc.record({ in: list }),
    fc.record({ notIn: list }),
    fc.record({ not }),
    range,
    fc.record({ equals: spelled, in: list, not, gt: small, lte: small }, { requiredKeys: [] }),
    fc.constant(undefined),
  )
}

const stringFilter: fc.Arbitrary<unknown> = fc.oneof(
  title,
  fc.record({ equals: title }),
  fc.record({ in: fc.array(title, { maxLength: 10 }) }),
  fc.record({ not: title }),
  fc.tuple(fc.constantFrom('contains', 'startsWith', 'endsWith'), title).map(([op, v]) => ({ [op]: v })),
  fc.tuple(fc.constantFrom('equals', 'in', 'not', 'contains'), title).map(([op, v]) => ({ [op]: op === 'in' ? [v] : v, mode: 'insensitive' })),
  fc.record({ equals: title, in: fc.array(title, { maxLength: 3 }), not: title, startsWith: title, mode: fc.constantFrom('default', 'insensitive') }, { requiredKeys: [] }),
  fc.constant(undefined),
)

const boolFilter: fc.Arbitrary<unknown> = fc.oneof(fc.boolean(), fc.record({ equals: fc.boolean() }), fc.record({ not: fc.boolean() }))

const FILTERS: Record<string, fc.Arbitrary<unknown>> = {
  id: intFilter(false), views: intFilter(false), authorId: intFilter(false), categoryId: intFilter(true),
  title: stringFilter, published: boolFilter,
  authorId_title: fc.record({ authorId: small, title }),
}
const oneField: fc.Arbitrary<Record<string, unknown>> = fc.oneof(
  ...Object.entries(FILTERS).map(([f, arb]) => arb.map((x) => ({ [f]: x }))),
)
const leaf: fc.Arbitrary<Record<string, unknown>> = fc.oneof(
  oneField,
  fc.tuple(oneField, oneField).map(([a, b]) => ({ ...a, ...b })),
  fc.constant({}),
)

const whereArb: fc.Arbitrary<unknown> = fc.letrec<{ where: Record<string, unknown> }>((tie) => ({
  where: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf,
    fc.tuple(leaf, fc.record({
      AND: fc.oneof(fc.array(tie('where'), { maxLength: 3 }), tie('where')),
      OR: fc.array(tie('where'), { maxLength: 4 }),
      NOT: fc.oneof(fc.array(tie('where'), { maxLength: 2 }), tie('where')),
    }, { requiredKeys: [] })).map(([a, b]) => ({ ...a, ...b })),
  ),
})).where

/** Reference evaluator: Prisma semantics, null comparisons false except IS NULL. */
function matches(row: Row, where: unknown): boolean {
  if (where === undefined || where === null) return true
  const w = where as Record<string, unknown>
  for (const [key, value] of Object.entries(w)) {
    if (value === undefined) continue
    switch (key) {
      case 'AND':
        if (!(Array.isArray(value) ? value : [value]).every((x) => matches(row, x))) return false
        break
      case 'OR':
        if (!(value as unknown[]).some((x) => matches(row, x))) return false
        break
      case 'NOT':
        // NOT [a, b] is NOT a AND NOT b.
        if ((Array.isArray(value) ? value : [value]).some((x) => matches(row, x))) return false
        break
      case 'authorId_title': {
        const u = value as { authorId: number; title: string }
        if (row.authorId !== u.authorId || row.title !== u.title) return false
        break
      }
      default:
        if (!fieldMatches(row[key as keyof Row], value)) return false
    }
  }
  return true
}

const norm = (v: unknown): unknown => (typeof v === 'bigint' ? Number(v) : v)

function fieldMatches(actual: number | string | boolean | null, filter: unknown): boolean {
  if (filter === null || typeof filter !== 'object') return actual === norm(filter)
  const f = filter as Record<string, unknown>
  const insensitive = f.mode === 'insensitive'
  const fold = (v: unknown) => (insensitive && typeof v === 'string' ? v.toLowerCase() : norm(v))
  const eq = (v: unknown) => actual !== null && v !== null && fold(actual) === fold(v)
  for (const [op, v] of Object.entries(f)) {
    if (v === undefined) continue
    switch (op) {
      case 'equals':
        if (v === null ? actual !== null : !eq(v)) return false
        break
      case 'in':
        if (!(v as unknown[]).some(eq)) return false
        break
      case 'notIn':
        if (actual === null || (v as unknown[]).some(eq)) return false
        break
      case 'not':
        if (v === null) { if (actual === null) return false }
        else if (typeof v === 'object') { if (actual === null || fieldMatches(actual, { ...(v as object), mode: f.mode })) return false }
        else if (actual === null || eq(v)) return false
        break
      case 'gt': if (actual === null || !((actual as number) > (v as number))) return false; break
      case 'gte': if (actual === null || !((actual as number) >= (v as number))) return false; break
      case 'lt': if (actual === null || !((actual as number) < (v as number))) return false; break
      case 'lte': if (actual === null || !((actual as number) <= (v as number))) return false; break
      case 'contains': if (actual === null || !(fold(actual) as string).includes(fold(v) as string)) return false; break
      case 'startsWith': if (actual === null || !(fold(actual) as string).startsWith(fold(v) as string)) return false; break
      case 'endsWith': if (actual === null || !(fold(actual) as string).endsWith(fold(v) as string)) return false; break
      case 'mode': break
      default: throw new Error(`reference evaluator: unknown operator ${op}`)
    }
  }
  return true
}

/** Does the row fall under the conjunction, as the write side computes it? */
function rowSatisfies(row: Row, c: Conjunction): boolean {
  for (const [f, v] of c) {
    if (encodeConjValue(scalar(Post, f), row[f as keyof Row]) !== v) return false
  }
  return true
}

const optionsArb: fc.Arbitrary<DnfOptions> = fc.oneof(
  { arbitrary: fc.constant(DEFAULT_DNF_OPTIONS), weight: 3 },
  { arbitrary: fc.record({ maxInValues: fc.integer({ min: 0, max: 8 }), maxConjunctions: fc.oneof(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 64 })) }), weight: 2 },
)

describe('soundness property', () => {
  it('the reference evaluator agrees with hand-checked cases', () => {
    const row: Row = { id: 1, title: 'a', published: true, views: 2, authorId: 3, categoryId: null }
    expect(matches(row, { id: 1, title: { equals: 'A', mode: 'insensitive' } })).toBe(true)
    expect(matches(row, { title: 'A' })).toBe(false)
    expect(matches(row, { categoryId: { not: 1 } })).toBe(false)
    expect(matches(row, { categoryId: null, NOT: { id: 2 } })).toBe(true)
    expect(matches(row, { OR: [] })).toBe(false)
    expect(matches(row, { id: { in: [] } })).toBe(false)
    expect(matches(row, { views: { gt: 1, lt: 3 }, authorId_title: { authorId: 3, title: 'a' } })).toBe(true)
  })

  /** Runs the soundness property; returns the share of cases with a matching row / a narrow DNF. */
  function checkSoundness(wheres: fc.Arbitrary<unknown>, options: fc.Arbitrary<DnfOptions>, numRuns: number): { matched: number; narrowed: number } {
    let runs = 0
    let matched = 0
    let narrowed = 0
    fc.assert(
      fc.property(wheres, fc.array(rowArb, { minLength: 1, maxLength: 12 }), options, (where, rows, opts) => {
        runs++
        const ctx: WalkContext = { datamodel, options: opts, relatedModels: new Set() }
        const d = dnfOfWhere(Post, where, ctx)
        expect(ctx.relatedModels.size).toBe(0)
        expect(d.length).toBeLessThanOrEqual(opts.maxConjunctions)
        for (const c of d) for (const f of c.keys()) expect(['id', 'title', 'published', 'views', 'authorId', 'categoryId']).toContain(f)
        let any = false
        for (const row of rows) {
          if (matches(row, where)) {
            any = true
            expect(d.some((c) => rowSatisfies(row, c)), `row ${JSON.stringify(row)} lost by ${JSON.stringify(d.map((c) => [...c]))}`).toBe(true)
          }
        }
        if (any) matched++
        if (any && !d.some((c) => c.size === 0)) narrowed++
      }),
      // Fixed seed: the coverage ratios asserted below must not depend on luck.
      { numRuns, seed: 424242 },
    )
    return { matched: matched / runs, narrowed: narrowed / runs }
  }

  it('a row matching the where satisfies at least one conjunction of its DNF', () => {
    const { matched, narrowed } = checkSoundness(whereArb, optionsArb, 3000)
    // The property is only worth something if many cases have a matching row and a
    // DNF narrower than TRUE.
    expect(matched).toBeGreaterThan(0.3)
    expect(narrowed).toBeGreaterThan(0.08)
  })

  it('... also when equality-heavy wheres hit tiny limits (in-list and DNF size)', () => {
    const eqValue = (f: string): fc.Arbitrary<unknown> => (f === 'title' ? title : f === 'published' ? fc.boolean() : f === 'categoryId' ? fc.option(small, { nil: null }) : small)
    const eqLeaf = fc.constantFrom('id', 'title', 'views', 'authorId', 'categoryId', 'published').chain((f) =>
      fc.oneof(eqValue(f), fc.record({ in: fc.array(eqValue(f), { maxLength: 5 }) }), fc.record({ equals: eqValue(f) })).map((x) => ({ [f]: x })),
    )
    const eqWhere: fc.Arbitrary<unknown> = fc.letrec<{ w: Record<string, unknown> }>((tie) => ({
      w: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        eqLeaf,
        fc.tuple(eqLeaf, eqLeaf, fc.record({ AND: fc.array(tie('w'), { maxLength: 3 }), OR: fc.array(tie('w'), { minLength: 1, maxLength: 4 }) }, { requiredKeys: [] }))
          .map(([a, b, c]) => ({ ...a, ...b, ...c })),
      ),
    })).w
    const tiny = fc.record({ maxInValues: fc.integer({ min: 0, max: 4 }), maxConjunctions: fc.integer({ min: 1, max: 6 }) })
    const { matched } = checkSoundness(eqWhere, tiny, 3000)
    expect(matched).toBeGreaterThan(0.2)
  })

  it('equality-only wheres are exact: a row satisfying a conjunction matches the where', () => {
    // Precision check (not safety): with only equality, in, AND and OR and no limits hit,
    // the DNF describes exactly the matching rows.
    const eqOnly: fc.Arbitrary<unknown> = fc.letrec<{ w: Record<string, unknown> }>((tie) => ({
      w: fc.oneof(
        { depthSize: 'small' },
        fc.record({
          id: fc.oneof(small, fc.record({ in: fc.array(small, { maxLength: 3 }) })),
          title,
          categoryId: fc.option(small, { nil: null }),
        }, { requiredKeys: [] }),
        fc.record({ AND: fc.array(tie('w'), { maxLength: 2 }), OR: fc.array(tie('w'), { maxLength: 2 }) }, { requiredKeys: [] }),
      ),
    })).w
    fc.assert(
      fc.property(eqOnly, rowArb, (where, row) => {
        const options = { maxInValues: 8, maxConjunctions: 10_000 }
        const d = dnfOfWhere(Post, where, { datamodel, options, relatedModels: new Set() })
        expect(d.some((c) => rowSatisfies(row, c))).toBe(matches(row, where))
      }),
      { numRuns: 1000 },
    )
  })
})
