// Unit tests for the pure parts of src/invalidation/writes.ts that shape what a write sends
// to invalidate_rows.lua: a row's canonical values, whole or cut to the writer's schemes;
// the prior images of rows a mass update returns.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { datamodel } from '../prisma/generated/cacheops/index.ts'
import type { ModelInfo, ScalarFieldInfo } from '../src/datamodel/types.ts'
import { conjFieldsOf, MAX_PRIOR_VARIANTS, preImageFields, priorValuesOf, rowValuesOf, updateChangesConjFields, withPriorValues } from '../src/invalidation/writes.ts'

const post = datamodel.models.Post!
const row = { id: 7, title: 'x', published: true, views: 3, authorId: 2, categoryId: null, createdAt: new Date(0) }

describe('rowValuesOf', () => {
  it('gives every conjunction field the row has, in canonical form', () => {
    const values = new Map(rowValuesOf(post, row))
    expect([...values.keys()].sort()).toEqual([...conjFieldsOf(post)].filter((f) => f in row).sort())
    expect(values.get('id')).toBe('7')
    expect(values.get('categoryId')).toBe('null')
  })
  it("with the writer's schemes, only their fields (the script needs no other)", () => {
    const cut = new Map(rowValuesOf(post, row, ['id', 'authorId,published']))
    expect([...cut.keys()].sort()).toEqual(['authorId', 'id', 'published'])
    expect(cut.get('published')).toBe('true')
    expect(rowValuesOf(post, row, [''])).toEqual([])
    expect(rowValuesOf(post, row, [])).toEqual([])
  })
})

describe('single-row update without a pre-read', () => {
  it('needs one only when the data sets a field of a cached scheme, or a relation', () => {
    const fields = preImageFields(post, ['authorId,published'])
    expect([...fields].sort()).toEqual(['authorId', 'id', 'published'])
    expect(updateChangesConjFields(post, ['views'], fields)).toBe(false)
    expect(updateChangesConjFields(post, ['published'], fields)).toBe(true)
    expect(updateChangesConjFields(post, ['author'], fields)).toBe(true)
    expect(updateChangesConjFields(post, ['nonsense'], fields)).toBe(true)
  })
})

describe('prior images of the rows a mass update returns', () => {
  const user = datamodel.models.User!
  it('list every value a keyed Boolean or enum field may have held; other fields may change freely', () => {
    const schemes = ['authorId,published', 'id']
    expect(priorValuesOf(post, { published: true }, schemes)).toEqual(new Map([['published', ['true', 'false']]]))
    expect(priorValuesOf(post, { published: { set: false } }, schemes)).toEqual(new Map([['published', ['true', 'false']]]))
    expect(priorValuesOf(post, { views: { increment: 1 }, title: 'x' }, schemes)).toEqual(new Map())
    expect(priorValuesOf(post, { published: true }, ['id'])).toEqual(new Map()) // not keyed
    expect(priorValuesOf(user, { role: 'ADMIN' }, ['role'])).toEqual(new Map([['role', ['"USER"', '"ADMIN"']]]))
  })
  it('are not listed for other keyed fields, unknown fields, or an enum whose values the datamodel lacks', () => {
    expect(priorValuesOf(post, { authorId: 3 }, ['authorId,published'])).toBeNull()
    expect(priorValuesOf(post, { categoryId: null }, ['categoryId'])).toBeNull()
    expect(priorValuesOf(post, { author: { connect: { id: 1 } } }, ['id'])).toBeNull()
    expect(priorValuesOf(post, { nonsense: 1 }, ['id'])).toBeNull()
    expect(priorValuesOf(post, 'not data', ['id'])).toBeNull()
    const { values: _dropped, ...roleWithoutValues } = user.fields.role as ScalarFieldInfo
    const olderUser: ModelInfo = { ...user, fields: { ...user.fields, role: roleWithoutValues } }
    expect(priorValuesOf(olderUser, { role: 'ADMIN' }, ['role'])).toBeNull()
  })
  it('each row under every combination, its own values among them', () => {
    const rows = [[['id', '1'], ['published', 'true']]] as const
    const images = withPriorValues(rows as never, new Map([['published', ['true', 'false']], ['kind', ['A', 'null']]]))
    expect(images.map((r) => Object.fromEntries(r))).toEqual([
      { id: '1', published: 'true', kind: 'A' },
      { id: '1', published: 'true', kind: 'null' },
      { id: '1', published: 'false', kind: 'A' },
      { id: '1', published: 'false', kind: 'null' },
    ])
  })

  // A model of every kind of field a mass update may set, and random updates of random rows:
  // whenever priorValuesOf lists prior values, the images hold the row as it was before.
  const scalar = (type: string, isRequired: boolean, values?: string[]): ScalarFieldInfo => ({
    kind: values ? 'enum' : 'scalar', type, dbName: type, isList: false, isRequired, isId: false, isUnique: false, isUpdatedAt: false, hasDefault: false, ...(values ? { values } : {}),
  })
  const model: ModelInfo = {
    name: 'M', dbName: 'M', idFields: ['id'], compoundUniques: [],
    fields: {
      id: { ...scalar('Int', true), isId: true },
      flag: scalar('Boolean', true),
      maybe: scalar('Boolean', false),
      kind: scalar('Kind', true, ['A', 'B', 'C']),
      maybeKind: scalar('Kind', false, ['A', 'B', 'C']),
      n: scalar('Int', true),
      s: scalar('String', false),
    },
  }
  const domains: Record<string, readonly unknown[]> = {
    id: [1, 2], flag: [true, false], maybe: [true, false, null], kind: ['A', 'B', 'C'], maybeKind: ['A', 'B', 'C', null], n: [0, 1, 5], s: ['x', 'y', null],
  }
  const names = Object.keys(domains).filter((f) => f !== 'id')
  const scheme = fc.subarray(Object.keys(domains), { minLength: 1 }).map((fs) => fs.join(','))
  const oldRow = fc.record(Object.fromEntries(Object.entries(domains).map(([f, d]) => [f, fc.constantFrom(...d)])))
  const data = fc.subarray(names, { minLength: 1 }).chain((fs) =>
    fc.tuple(...fs.map((f) => (f === 'n' ? fc.oneof(fc.constantFrom(...domains.n!), fc.constant({ increment: 2 })) : fc.constantFrom(...domains[f]!)).map((v) => [f, v] as const))),
  ).map((entries) => Object.fromEntries(entries))
  const canonical = (r: readonly (readonly [string, string])[]) => JSON.stringify([...r].sort(([a], [b]) => a.localeCompare(b)))

  it('property: whenever prior values are listed, the images hold the row as it was', () => {
    fc.assert(
      fc.property(fc.uniqueArray(scheme, { minLength: 1, maxLength: 4 }), oldRow, data, (schemes, before, set) => {
        const after: Record<string, unknown> = { ...before }
        for (const [f, v] of Object.entries(set)) after[f] = typeof v === 'object' && v !== null ? (after[f] as number) + 2 : v
        const prior = priorValuesOf(model, set, schemes)
        const keyed = new Set(schemes.flatMap((x) => x.split(',')))
        if (prior === null) {
          // Only when a keyed field's prior values cannot be listed, or there are too many.
          const unlisted = Object.keys(set).some((f) => keyed.has(f) && (f === 'n' || f === 's'))
          const variants = Object.keys(set).filter((f) => keyed.has(f)).reduce((p, f) => p * domains[f]!.length, 1) // null among them where optional
          expect(unlisted || variants > MAX_PRIOR_VARIANTS).toBe(true)
          return
        }
        const images = withPriorValues([rowValuesOf(model, after, schemes)], prior).map(canonical)
        expect(images).toContain(canonical(rowValuesOf(model, before, schemes)))
        expect(images).toContain(canonical(rowValuesOf(model, after, schemes)))
        expect(images.length).toBeLessThanOrEqual(MAX_PRIOR_VARIANTS)
      }),
      { numRuns: 2000 },
    )
  })
})
