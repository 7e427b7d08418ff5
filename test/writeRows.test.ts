// Unit tests for the pure parts of src/invalidation/writes.ts that shape what a write sends
// to invalidate_rows.lua: a row's canonical values, whole or cut to the writer's schemes.
import { describe, expect, it } from 'vitest'
import { datamodel } from '../prisma/generated/cacheops/index.ts'
import { conjFieldsOf, preImageFields, rowValuesOf, updateChangesConjFields } from '../src/invalidation/writes.ts'

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
