import { describe, expect, it } from 'vitest'
import { datamodel } from '../prisma/generated/cacheops/index.ts'
import { modelsChangedByDelete, modelsChangedByKeyUpdate, relatedModelsChangedBy } from '../src/invalidation/cascades.ts'
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

  it('nested writes reach every related model (at any depth) and what the database does in turn', () => {
    const reach = (model: string, op: string, args: unknown) => sorted(relatedModelsChangedBy(datamodel, model, op, args))
    expect(reach('User', 'update', { where: { id: 1 }, data: { posts: { create: { title: 'x', comments: { create: { body: 'b', authorId: 1 } } } } } })).toEqual(['Comment', 'Post'])
    expect(reach('Post', 'update', { where: { id: 1 }, data: { title: 'x', tags: { connect: [{ id: 1 }] } } })).toEqual(['Tag'])
    expect(reach('Post', 'update', { where: { id: 1 }, data: { title: 'only scalars' } })).toEqual([])
    expect(reach('Post', 'updateMany', { data: { title: 'only scalars' } })).toEqual([])
    // A nested delete cascades; a nested update of a referenced key re-keys.
    expect(reach('User', 'update', { where: { id: 1 }, data: { posts: { delete: { id: 3 } } } })).toEqual(['Comment', 'Post'])
    expect(reach('Org', 'update', { where: { id: 1 }, data: { settings: { update: { orgId: 9 } } } })).toEqual(['Doc', 'OrgSettings'])
    // A self-relation reaches the model itself, at two depths.
    expect(reach('Team', 'create', { data: { name: 'p', children: { create: { name: 'c', children: { create: { name: 'gc' } } } } } })).toEqual(['Team'])
  })

  it('a write’s reach follows foreign keys that relation operations set, and referential actions at every depth', () => {
    const reach = (model: string, op: string, args: unknown) => sorted(relatedModelsChangedBy(datamodel, model, op, args))
    // connect re-points OrgSettings.orgId, which Doc.orgId references (ON UPDATE CASCADE).
    expect(reach('OrgSettings', 'update', { where: { id: 1 }, data: { org: { connect: { id: 2 } } } })).toEqual(['Doc', 'Org'])
    // the related rows hold the key: connecting them re-points their foreign key.
    expect(reach('Org', 'update', { where: { id: 1 }, data: { settings: { connect: { id: 2 } } } })).toEqual(['Doc', 'OrgSettings'])
    // deletes: cascades at every depth, SET NULL children, a primary key that is a foreign key.
    expect(reach('Org', 'delete', { where: { id: 1 } })).toEqual(['Doc', 'OrgProfile', 'OrgSettings'])
    expect(reach('Org', 'deleteMany', {})).toEqual(['Doc', 'OrgProfile', 'OrgSettings'])
    expect(reach('Category', 'delete', { where: { id: 1 } })).toEqual(['Post'])
    expect(reach('Team', 'delete', { where: { id: 1 } })).toEqual(['Team'])
    // a changed referenced key (a String primary key; an id two levels up).
    expect(reach('Locale', 'update', { where: { code: 'en' }, data: { code: 'en-GB' } })).toEqual(['Label'])
    expect(reach('Org', 'update', { where: { id: 1 }, data: { id: 2 } })).toEqual(['Doc', 'OrgProfile', 'OrgSettings'])
    expect(reach('Org', 'upsert', { where: { id: 1 }, create: { name: 'x' }, update: { id: 2 } })).toEqual(['Doc', 'OrgProfile', 'OrgSettings'])
    expect(reach('Locale', 'updateMany', { data: { code: 'x' } })).toEqual(['Label'])
    // new rows are referenced by nobody yet.
    expect(reach('Org', 'create', { data: { name: 'x', settings: { create: { theme: 'dark' } } } })).toEqual(['OrgSettings'])
    expect(reach('Org', 'update', { where: { id: 1 }, data: { settings: { create: { theme: 'dark' } } } })).toEqual(['OrgSettings'])
    expect(reach('Org', 'create', { data: { id: 5, name: 'x' } })).toEqual([])
    expect(reach('Org', 'createMany', { data: [{ name: 'x' }] })).toEqual([])
  })
})
