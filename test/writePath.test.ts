// The write path on its own: a recording stand-in for the runtime (WriteRuntime: schemes,
// invalidations) and for Prisma (the write and its pre-reads), no database, no store. What
// it checks is which strategy a write takes and the invalidation it ends with.
import { describe, expect, it } from 'vitest'
import { parseConfig } from '../src/config/schema.ts'
import type { Invalidation } from '../src/prisma/transactions.ts'
import { invalidatingWrite, type WriteCall, type WriteRuntime } from '../src/runtime/writePath.ts'
import { memoryStore } from '../src/index.ts'
import { datamodel } from './helpers.ts'

function runtime(schemes: readonly string[]) {
  const config = parseConfig({ datamodel, store: memoryStore(), models: { '*': { ops: 'all', timeout: 60 } } })
  const begun: { model: string; guard: boolean; transform: string | undefined }[] = []
  const invalidations: Invalidation[] = []
  const core: WriteRuntime = {
    config,
    model: (name) => config.datamodel.models[name]!,
    beginWrite: async (model, guard, transform) => {
      begun.push({ model, guard, transform: transform?.token })
      return { schemes, transforms: transform?.token ? [transform.token] : [], ...(guard ? { guard: 'generation-1' } : {}) }
    },
    invalidate: async (inv) => void invalidations.push(inv),
    boundTags: () => ({ tags: [], unknown: false }),
    hasBoundTags: () => false,
  }
  return { core, begun, invalidations }
}

/** A write call whose database is a list of rows of Post, and which records what it ran. */
function postWrite(operation: string, args: Record<string, unknown>, rows: Record<string, unknown>[]) {
  const ran: { op: string; args: unknown }[] = []
  const matches = (row: Record<string, unknown>, where: Record<string, unknown>): boolean =>
    Object.entries(where).every(([k, v]) => (k === 'AND' ? (v as Record<string, unknown>[]).every((w) => matches(row, w)) : row[k] === v))
  const c: WriteCall = {
    model: 'Post',
    operation,
    args,
    dataPath: [],
    scope: undefined,
    query: async (a) => {
      ran.push({ op: operation, args: a })
      const where = a.where as Record<string, unknown>
      const hit = rows.filter((r) => matches(r, where))
      if (operation === 'update') {
        if (hit.length === 0) throw Object.assign(new Error('not found'), { code: 'P2025' })
        Object.assign(hit[0]!, a.data)
        return { ...hit[0] }
      }
      for (const r of hit) Object.assign(r, a.data)
      return { count: hit.length }
    },
    read: (async (_model: string, op: string, where: Record<string, unknown>) => {
      ran.push({ op: `read ${op}`, args: where })
      const hit = rows.filter((r) => matches(r, where)).map((r) => ({ ...r }))
      return op === 'findUnique' ? (hit[0] ?? null) : hit
    }) as WriteCall['read'],
  }
  return { c, ran }
}

describe('the write path against a stand-in runtime', () => {
  it('an update of a keyed field: compare-and-set, then the row before and after', async () => {
    const { core, begun, invalidations } = runtime(['authorId'])
    const rows = [{ id: 7, title: 't', authorId: 1, categoryId: null, published: false, views: 0 }]
    const { c, ran } = postWrite('update', { where: { id: 7 }, data: { authorId: 2 } }, rows)
    await invalidatingWrite(core, c)
    expect(begun).toEqual([{ model: 'Post', guard: false, transform: undefined }])
    expect(ran.map((r) => r.op)).toEqual(['read findUnique', 'update'])
    // The write runs only if the row is still as read.
    expect(ran[1]!.args).toMatchObject({ where: { id: 7, AND: [{ authorId: 1 }] } })
    expect(invalidations).toHaveLength(1)
    expect(invalidations[0]!.rows).toEqual([[['authorId', '1']], [['authorId', '2']]])
    expect(invalidations[0]!.modelWide).toEqual([])
  })

  it('an update changing no keyed field: no pre-image, the result is the image', async () => {
    const { core, invalidations } = runtime(['authorId'])
    const rows = [{ id: 7, title: 't', authorId: 1, categoryId: null, published: false, views: 0 }]
    const { c, ran } = postWrite('update', { where: { id: 7 }, data: { views: 5 } }, rows)
    await invalidatingWrite(core, c)
    expect(ran.map((r) => r.op)).toEqual(['update'])
    expect(invalidations[0]!.rows).toEqual([[['authorId', '1']]])
  })

  it('an updateMany: under the write guard and its transform, pre-images read after the guard, both ended with the invalidation', async () => {
    const { core, begun, invalidations } = runtime(['published'])
    const rows = [
      { id: 1, title: 'a', authorId: 1, categoryId: null, published: false, views: 0 },
      { id: 2, title: 'b', authorId: 1, categoryId: null, published: true, views: 0 },
    ]
    const { c, ran } = postWrite('updateMany', { where: { authorId: 1 }, data: { published: true } }, rows)
    await invalidatingWrite(core, c)
    expect(begun).toEqual([{ model: 'Post', guard: true, transform: 'published\ttrue' }])
    expect(ran.map((r) => r.op)).toEqual(['read findMany', 'updateMany'])
    const inv = invalidations[0]!
    expect(inv).toMatchObject({ endWrite: 'generation-1', endTransform: 'published\ttrue', transformsAtStart: ['published\ttrue'], seenSchemes: ['published'] })
    expect(inv.rows).toEqual([[['published', 'false']], [['published', 'true']]])
  })

  it('the store failing at the start of a write: the write still runs, its model goes whole', async () => {
    const { core, invalidations } = runtime(['authorId'])
    core.beginWrite = async () => undefined
    const rows = [{ id: 7, title: 't', authorId: 1, categoryId: null, published: false, views: 0 }]
    const { c, ran } = postWrite('update', { where: { id: 7 }, data: { authorId: 2 } }, rows)
    expect(await invalidatingWrite(core, c)).toMatchObject({ id: 7, authorId: 2 })
    expect(ran.map((r) => r.op)).toEqual(['update'])
    expect(invalidations[0]!.modelWide).toContain('Post')
  })
})
