// Unit and property tests for src/query/dependencies.ts: which conjunctions of which
// models a cached read depends on, and the Redis-side names of conjunctions.
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { Prisma } from '../prisma/generated/client/client.ts'
import { datamodel as generated } from '../prisma/generated/cacheops/index.ts'
import type { CacheopsDatamodel, ScalarFieldInfo } from '../src/datamodel/types.ts'
import { DEFAULT_DNF_OPTIONS, type Conjunction, type DnfOptions } from '../src/query/dnf.ts'
import { FALSE, TRUE, conjKeyOf, fieldsReadBy, readDependencies, schemeOf, type ReadDependencies } from '../src/query/dependencies.ts'
import { encodeConjValue } from '../src/query/values.ts'

const datamodel: CacheopsDatamodel = generated

function scalar(model: string, name: string): ScalarFieldInfo {
  const f = datamodel.models[model]?.fields[name]
  if (!f || f.kind === 'relation') throw new Error(`${model}.${name} is not a scalar field`)
  return f
}

function conj(model: string, terms: Record<string, unknown>): Conjunction {
  return new Map(Object.entries(terms).map(([f, v]) => [f, encodeConjValue(scalar(model, f), v)!] as const))
}

const deps = (model: string, args: unknown, options: Partial<DnfOptions> = {}): ReadDependencies =>
  readDependencies(datamodel, model, args, { ...DEFAULT_DNF_OPTIONS, ...options })

/** Dependencies as { model: sorted conjunction keys }. */
function view(d: ReadDependencies): Record<string, string[]> {
  const out: Record<string, string[]> = {}
  for (const [m, conjs] of d) out[m] = conjs.map((c) => conjKeyOf(m, c)).sort()
  return out
}

function expected(spec: Record<string, Record<string, unknown>[]>): Record<string, string[]> {
  const out: Record<string, string[]> = {}
  for (const [m, conjs] of Object.entries(spec)) out[m] = conjs.map((t) => conjKeyOf(m, conj(m, t))).sort()
  return out
}

const ALL: Record<string, unknown>[] = [{}]

describe('readDependencies: own model', () => {
  it('no args or no where: the whole model', () => {
    for (const args of [undefined, null, {}, { take: 5 }, { where: undefined }, { orderBy: { id: 'asc' } }]) {
      const d = deps('Post', args)
      expect([...d.keys()]).toEqual(['Post'])
      expect(d.get('Post')).toEqual([new Map()])
    }
  })
  it('the where clause gives the conjunctions', () => {
    expect(view(deps('Post', { where: { authorId: 1, published: true } }))).toEqual(expected({ Post: [{ authorId: 1, published: true }] }))
    expect(view(deps('Post', { where: { id: { in: [1, 2, 3] } } }))).toEqual(expected({ Post: [{ id: 1 }, { id: 2 }, { id: 3 }] }))
    expect(view(deps('Group', { where: { tenant_slug: { tenant: 't', slug: 's' } } }))).toEqual(expected({ Group: [{ tenant: 't', slug: 's' }] }))
  })
  it('duplicate conjunctions are merged', () => {
    const d = deps('Post', { where: { OR: [{ id: 1 }, { id: 1 }, { id: 1n }, { id: { in: [1, 2, 2] } }] } })
    expect(view(d)).toEqual(expected({ Post: [{ id: 1 }, { id: 2 }] }))
  })
  it('a where that can match nothing gives no conjunction but keeps the model', () => {
    const d = deps('Post', { where: { id: { in: [] } } })
    expect([...d.keys()]).toEqual(['Post'])
    expect(d.get('Post')).toEqual([])
    expect(deps('Post', { where: { OR: [] } }).get('Post')).toEqual([])
  })
  it('an unknown filter makes the own dependency model-wide', () => {
    expect(deps('Post', { where: { views: { gt: 1 } } }).get('Post')).toEqual([new Map()])
    expect(deps('Post', { where: { OR: [{ id: 1 }, { views: { gt: 1 } }] } }).get('Post')).toEqual([new Map()])
  })
  it('uses the maxInValues option', () => {
    expect(deps('Post', { where: { id: { in: [1, 2, 3] } } }, { maxInValues: 2 }).get('Post')).toEqual([new Map()])
  })
  it('throws for an unknown model', () => {
    expect(() => deps('Nope', {})).toThrow(/Nope/)
  })
})

describe('readDependencies: cursor', () => {
  it('the cursor row is OR-ed in', () => {
    expect(view(deps('Post', { where: { authorId: 1 }, cursor: { id: 5 }, take: 2 }))).toEqual(expected({ Post: [{ authorId: 1 }, { id: 5 }] }))
    expect(view(deps('Post', { where: { authorId: 1 }, cursor: { authorId_title: { authorId: 2, title: 't' } } })))
      .toEqual(expected({ Post: [{ authorId: 1 }, { authorId: 2, title: 't' }] }))
  })
  it('a cursor without where stays model-wide', () => {
    expect(deps('Post', { cursor: { id: 5 } }).get('Post')).toEqual([new Map()])
  })
  it('a cursor already covered is merged', () => {
    expect(view(deps('Post', { where: { id: { in: [5, 6] } }, cursor: { id: 5 } }))).toEqual(expected({ Post: [{ id: 5 }, { id: 6 }] }))
  })
  it('a where that matches nothing stays empty whatever the cursor', () => {
    expect(deps('Post', { where: { id: { in: [] } }, cursor: { id: 5 } }).get('Post')).toEqual([])
  })
})

describe('readDependencies: related models are model-wide', () => {
  it('include', () => {
    expect(view(deps('Post', { where: { id: 1 }, include: { author: true } }))).toEqual(expected({ Post: [{ id: 1 }], User: ALL }))
    expect(view(deps('Post', { include: { author: true, category: true, tags: true, comments: true } })))
      .toEqual(expected({ Post: ALL, User: ALL, Category: ALL, Tag: ALL, Comment: ALL }))
    expect(view(deps('Post', { include: { author: false, category: undefined } }))).toEqual(expected({ Post: ALL }))
    expect(view(deps('Group', { include: { members: { include: { user: true } } } }))).toEqual(expected({ Group: ALL, Membership: ALL, User: ALL }))
  })
  it('select of relations (scalars alone add nothing)', () => {
    expect(view(deps('Post', { select: { id: true, title: true } }))).toEqual(expected({ Post: ALL }))
    expect(view(deps('Post', { select: { id: true, author: { select: { profile: true } } } }))).toEqual(expected({ Post: ALL, User: ALL, Profile: ALL }))
    expect(view(deps('User', { select: { posts: { select: { comments: { select: { id: true } } } } } }))).toEqual(expected({ User: ALL, Post: ALL, Comment: ALL }))
  })
  it('nested include where, including its relation filters', () => {
    expect(view(deps('User', { where: { id: 1 }, include: { posts: { where: { comments: { some: { body: 'x' } } } } } })))
      .toEqual(expected({ User: [{ id: 1 }], Post: ALL, Comment: ALL }))
    expect(view(deps('User', { include: { posts: { where: { published: true }, orderBy: { category: { title: 'asc' } } } } })))
      .toEqual(expected({ User: ALL, Post: ALL, Category: ALL }))
  })
  it('_count', () => {
    // Post's list relations are tags and comments.
    expect(view(deps('Post', { include: { _count: true } }))).toEqual(expected({ Post: ALL, Tag: ALL, Comment: ALL }))
    expect(view(deps('Post', { select: { _count: { select: { comments: true } } } }))).toEqual(expected({ Post: ALL, Comment: ALL }))
    expect(view(deps('Post', { select: { _count: { select: { comments: false } } } }))).toEqual(expected({ Post: ALL }))
    expect(view(deps('Post', { select: { _count: { select: { comments: { where: { author: { name: 'x' } } } } } } })))
      .toEqual(expected({ Post: ALL, Comment: ALL, User: ALL }))
    expect(view(deps('User', { select: { posts: { select: { _count: { select: { tags: true } } } } } }))).toEqual(expected({ User: ALL, Post: ALL, Tag: ALL }))
  })
  it('orderBy through relations', () => {
    expect(view(deps('Post', { where: { id: 1 }, orderBy: { author: { name: 'asc' } } }))).toEqual(expected({ Post: [{ id: 1 }], User: ALL }))
    expect(view(deps('Post', { orderBy: [{ id: 'asc' }, { comments: { _count: 'desc' } }] }))).toEqual(expected({ Post: ALL, Comment: ALL }))
    expect(view(deps('Post', { orderBy: { author: { profile: { bio: 'asc' } } } }))).toEqual(expected({ Post: ALL, User: ALL, Profile: ALL }))
    expect(view(deps('Post', { orderBy: { views: 'desc' } }))).toEqual(expected({ Post: ALL }))
  })
  it('relation filters in the where clause', () => {
    expect(view(deps('Post', { where: { authorId: 1, author: { email: 'x' } } }))).toEqual(expected({ Post: [{ authorId: 1 }], User: ALL }))
    expect(view(deps('Post', { where: { NOT: { tags: { some: { name: 'x' } } } } }))).toEqual(expected({ Post: ALL, Tag: ALL }))
    expect(view(deps('Comment', { where: { post: { is: { author: { is: { id: 1 } } } } } }))).toEqual(expected({ Comment: ALL, Post: ALL, User: ALL }))
  })
  it('a relation back to the model itself makes the own model model-wide', () => {
    const d = deps('User', { where: { id: 1, posts: { some: { author: { name: 'x' } } } } })
    expect(view(d)).toEqual(expected({ User: ALL, Post: ALL }))
    expect(view(deps('User', { where: { id: 1 }, include: { posts: { include: { author: true } } } }))).toEqual(expected({ User: ALL, Post: ALL }))
  })
  it('related models map exactly to TRUE', () => {
    const d = deps('Post', { where: { id: 1 }, include: { author: true } })
    expect(d.get('User')).toEqual([new Map()])
  })
  it('Decimal and Date values in a where are canonical', () => {
    expect(view(deps('User', { where: { balance: new Prisma.Decimal('1.50') } }))).toEqual(expected({ User: [{ balance: '1.5' }] }))
  })
})

describe('conjKeyOf and schemeOf', () => {
  it('Model:f1=v1&f2=v2 with fields sorted', () => {
    expect(conjKeyOf('Post', new Map([['title', '"x"'], ['authorId', '1']]))).toBe('Post:authorId=1&title="x"')
    expect(conjKeyOf('Post', new Map([['authorId', '1'], ['title', '"x"']]))).toBe('Post:authorId=1&title="x"')
    expect(conjKeyOf('Post', new Map([['id', '7']]))).toBe('Post:id=7')
    expect(conjKeyOf('Post', new Map())).toBe('Post:')
    expect(conjKeyOf('Group', conj('Group', { tenant: 't', slug: 's' }))).toBe('Group:slug="s"&tenant="t"')
  })
  it('schemeOf: sorted field names, comma-joined', () => {
    expect(schemeOf(new Map([['title', '"x"'], ['authorId', '1']]))).toBe('authorId,title')
    expect(schemeOf(new Map([['id', '1']]))).toBe('id')
    expect(schemeOf(new Map())).toBe('')
    expect(schemeOf(conj('Membership', { userId: 1, tenant: 't', slug: 's' }))).toBe('slug,tenant,userId')
  })
  it('re-exports TRUE and FALSE', () => {
    expect(TRUE).toEqual([new Map()])
    expect(FALSE).toEqual([])
  })

  // A pool of field names and a pool of values that are hard on separators: small
  // pools, so that a naive key format would collide.
  const identifier = fc.constantFrom('a', 'b', 'ab', 'a_b', 'id', 'title', 'x1', 'B')
  const fieldTypes: ScalarFieldInfo[] = ['String', 'Int', 'BigInt', 'Float', 'Decimal', 'Boolean', 'DateTime', 'Bytes'].map((type) => ({
    kind: 'scalar', type, dbName: type, isList: false, isRequired: false, isId: false, isUnique: false, isUpdatedAt: false, hasDefault: false, nativeType: null,
  }))
  const nasty = fc.oneof(
    fc.constantFrom('', '&', '=', ':', '{}', '{', '}', '"', '\\', 'a&b=c', 'a=1&b=2', 'x:y', '"&a=1', 'null', '1', 'é', '日本', '😀', '\0', '\n'),
    fc.string({ unit: fc.constantFrom('&', '=', ':', '{', '}', '"', ',', 'a', 'b', '1', 'é', '😀'), maxLength: 8 }),
    fc.string({ unit: 'binary', maxLength: 6 }),
  )
  const value: fc.Arbitrary<unknown> = fc.oneof(
    nasty, nasty,
    fc.integer({ min: -3, max: 12 }), fc.constantFrom(0.5, -0.25, 1e21),
    fc.boolean(), fc.constant(null),
    fc.integer({ min: 0, max: 3 }).map((n) => new Date(n)),
    fc.uint8Array({ maxLength: 3 }),
    fc.constantFrom('1.50', '1.5', '15e-1', '2'),
  )
  /** A conjunction with encoded values: [field name, type index, value] terms. */
  const conjunction: fc.Arbitrary<Conjunction> = fc
    .uniqueArray(fc.tuple(identifier, fc.integer({ min: 0, max: fieldTypes.length - 1 }), value), { maxLength: 3, selector: ([f]) => f })
    .map((terms) => {
      const m = new Map<string, string>()
      for (const [f, t, v] of terms) {
        const e = encodeConjValue(fieldTypes[t]!, v)
        if (e !== undefined) m.set(f, e)
      }
      return m
    })
  const sameConj = (x: Conjunction, y: Conjunction) => x.size === y.size && [...x].every(([f, v]) => y.get(f) === v)

  it('property: conjKeyOf is injective on encoded conjunctions', () => {
    fc.assert(
      fc.property(fc.array(conjunction, { minLength: 2, maxLength: 30 }), fc.constantFrom('Post', 'User', 'M'), (conjs, model) => {
        for (let i = 0; i < conjs.length; i++) {
          for (let j = i + 1; j < conjs.length; j++) {
            const a = conjs[i]!
            const b = conjs[j]!
            expect(conjKeyOf(model, a) === conjKeyOf(model, b), `${conjKeyOf(model, a)} / ${conjKeyOf(model, b)}`).toBe(sameConj(a, b))
          }
        }
      }),
      { numRuns: 500 },
    )
  })

  it('property: different models never share a key', () => {
    fc.assert(
      fc.property(conjunction, conjunction, (a, b) => {
        expect(conjKeyOf('Post', a)).not.toBe(conjKeyOf('PostX', b))
        expect(conjKeyOf('User', a)).not.toBe(conjKeyOf('Post', b))
      }),
    )
  })

  it('property: keys and schemes ignore insertion order', () => {
    fc.assert(
      fc.property(conjunction, (c) => {
        const reversed = new Map([...c].reverse())
        expect(conjKeyOf('Post', reversed)).toBe(conjKeyOf('Post', c))
        expect(schemeOf(reversed)).toBe(schemeOf(c))
        expect(schemeOf(c)).toBe([...c.keys()].sort().join(','))
      }),
    )
  })
})

describe('fieldsReadBy: the fields a count or aggregate reads', () => {
  const post = datamodel.models.Post!
  it('where, aggregated, counted and ordering fields, sorted', () => {
    expect(fieldsReadBy(post, 'count', undefined)).toEqual([])
    expect(fieldsReadBy(post, 'count', { where: { authorId: 1, OR: [{ views: { gt: 5 } }, { NOT: { title: 'x' } }] } })).toEqual(['authorId', 'title', 'views'])
    expect(fieldsReadBy(post, 'count', { select: { _all: true, categoryId: true } })).toEqual(['categoryId'])
    expect(fieldsReadBy(post, 'aggregate', { where: { published: true }, _sum: { views: true }, _count: true, _max: { createdAt: true }, orderBy: { id: 'asc' } })).toEqual(['createdAt', 'id', 'published', 'views'])
    expect(fieldsReadBy(post, 'groupBy', { by: ['authorId'], where: { published: true }, having: { views: { _sum: { gt: 3 } } }, _count: { _all: true }, orderBy: { _count: { categoryId: 'desc' } } })).toEqual(['authorId', 'categoryId', 'published', 'views'])
    expect(fieldsReadBy(post, 'groupBy', { by: 'categoryId', _sum: { views: true } })).toEqual(['categoryId', 'views'])
  })
  it('every field (undefined) for other reads and for what it cannot bound', () => {
    expect(fieldsReadBy(post, 'findMany', { where: { authorId: 1 } })).toBeUndefined()
    expect(fieldsReadBy(post, 'count', { where: { author: { name: 'x' } } })).toBeUndefined() // relation filter
    expect(fieldsReadBy(post, 'count', { where: { authorId_title: { authorId: 1, title: 'x' } } })).toBeUndefined()
    expect(fieldsReadBy(post, 'count', { where: { views: { gt: { name: 'id', modelName: 'Post' } } } })).toEqual(['views']) // a plain object is a value
    expect(fieldsReadBy(post, 'count', { where: { views: { gt: new (class FieldRef {})() } } })).toBeUndefined() // a field reference
    expect(fieldsReadBy(post, 'count', { take: 10 })).toBeUndefined()
    expect(fieldsReadBy(post, 'aggregate', { cursor: { id: 1 }, _count: true })).toBeUndefined()
    expect(fieldsReadBy(post, 'count', { nonsense: 1 })).toBeUndefined()
    expect(fieldsReadBy(post, 'groupBy', { by: ['authorId'], orderBy: { authorId: 'asc' }, take: 2 })).toBeUndefined()
    expect(fieldsReadBy(post, 'groupBy', { by: ['author'] })).toBeUndefined()
  })
})
