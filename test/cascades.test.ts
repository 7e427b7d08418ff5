import { describe, expect, it } from 'vitest'
import { datamodel } from '../prisma/generated/cacheops/index.ts'
import { modelsChangedByDelete, modelsChangedByKeyUpdate, modelsTouchedByNestedWrite } from '../src/invalidation/cascades.ts'
import type { CacheopsDatamodel, FieldInfo, ReferentialAction } from '../src/datamodel/types.ts'

const sorted = (s: Set<string>) => [...s].sort()

/** A tiny synthetic datamodel: Node (self tree, cascade) ← Leaf (SET NULL) ← Twig (cascade on Leaf.code). */
function synthetic(): CacheopsDatamodel {
  const scalar = (type = 'Int'): FieldInfo => ({ kind: 'scalar', type, dbName: 'x', isList: false, isRequired: false, isId: false, isUnique: false, isUpdatedAt: false, hasDefault: false })
  const rel = (type: string, from: string[], to: string[], onDelete: ReferentialAction, onUpdate: ReferentialAction = 'Cascade'): FieldInfo => ({ kind: 'relation', type, isList: false, isRequired: false, relationName: `${type}${from}`, fromFields: from, toFields: to, onDelete, onUpdate })
  const model = (name: string, fields: Record<string, FieldInfo>) => ({ name, dbName: name, idFields: ['id'], compoundUniques: [], fields })
  return {
    version: 1,
    provider: 'postgresql',
    implicitManyToMany: [],
    models: {
      Node: model('Node', { id: scalar(), parentId: scalar(), parent: rel('Node', ['parentId'], ['id'], 'Cascade') }),
      Leaf: model('Leaf', { id: scalar(), code: scalar(), nodeId: scalar(), node: rel('Node', ['nodeId'], ['id'], 'SetNull') }),
      Twig: model('Twig', { id: scalar(), leafCode: scalar(), leaf: rel('Leaf', ['leafCode'], ['code'], 'Restrict', 'Restrict') }),
      Bud: model('Bud', { id: scalar(), leafNode: scalar(), leaf: rel('Leaf', ['leafNode'], ['nodeId'], 'Cascade') }),
    },
  }
}

describe('referential actions', () => {
  it('follow cascades transitively on the reference schema', () => {
    expect(sorted(modelsChangedByDelete(datamodel, 'User'))).toEqual(['Comment', 'Membership', 'Post', 'Profile'])
    expect(sorted(modelsChangedByDelete(datamodel, 'Post'))).toEqual(['Comment'])
    expect(sorted(modelsChangedByDelete(datamodel, 'Category'))).toEqual(['Post']) // SET NULL, no further
    expect(sorted(modelsChangedByDelete(datamodel, 'Tag'))).toEqual([])
  })

  it('follow ON UPDATE only when a referenced key changes', () => {
    expect(sorted(modelsChangedByKeyUpdate(datamodel, 'User', ['name']))).toEqual([])
    expect(sorted(modelsChangedByKeyUpdate(datamodel, 'User', ['id']))).toEqual(['Comment', 'Membership', 'Post', 'Profile'])
    expect(sorted(modelsChangedByKeyUpdate(datamodel, 'Group', ['slug']))).toEqual(['Membership'])
  })

  it('handle self relations and SET NULL chains that re-key further', () => {
    const dm = synthetic()
    expect(sorted(modelsChangedByDelete(dm, 'Node'))).toEqual(['Bud', 'Leaf', 'Node'])
    expect(sorted(modelsChangedByKeyUpdate(dm, 'Leaf', ['code']))).toEqual([]) // Twig restricts
    expect(sorted(modelsChangedByKeyUpdate(dm, 'Node', ['id']))).toEqual(['Bud', 'Leaf', 'Node'])
  })

  it('nested writes reach every related model and what deleting them cascades to', () => {
    expect(sorted(modelsTouchedByNestedWrite(datamodel, 'User', { posts: { create: { title: 'x', comments: { create: { body: 'b', authorId: 1 } } } } }))).toEqual(['Comment', 'Post'])
    expect(sorted(modelsTouchedByNestedWrite(datamodel, 'Post', { title: 'x', tags: { connect: [{ id: 1 }] } }))).toEqual(['Tag'])
    expect(sorted(modelsTouchedByNestedWrite(datamodel, 'Post', { title: 'only scalars' }))).toEqual([])
  })
})
