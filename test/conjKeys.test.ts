// The keys a write's rows fall under, built in TypeScript (conjKeysOfRows) and deleted by
// delete_conj_keys.lua, against what invalidate_rows.lua builds and deletes itself.
import fc from 'fast-check'
import { afterAll, describe, expect, it } from 'vitest'
import { conjKeysOfRows, rowsUnderTransforms } from '../src/invalidation/conjKeys.ts'
import { RedisStore as CacheStore } from '../src/redis/store.ts'
import { transformOf, type LeaseRequest, type RowValues } from '../src/store/types.ts'
import { deleteKeys, newPrefix, rawRedis, recordScripts } from './helpers.ts'

const redis = rawRedis()
// The connection the stores use records which scripts it runs.
const storeRedis = rawRedis()
const ran = recordScripts(storeRedis)
const prefixes: string[] = []
afterAll(async () => {
  for (const p of prefixes) await deleteKeys(redis, p)
  redis.disconnect()
  storeRedis.disconnect()
})

describe('conjKeysOfRows (no server)', () => {
  it('builds one key per row and scheme, fields in scheme order, duplicates once', () => {
    const rows: RowValues[] = [
      [['id', '1'], ['authorId', '7'], ['published', 'true']],
      [['id', '2'], ['authorId', '7'], ['published', 'true']],
    ]
    expect(conjKeysOfRows('Post', ['id', 'authorId,published', ''], rows, undefined)).toEqual(['Post:id=1', 'Post:authorId=7&published=true', 'Post:', 'Post:id=2'])
  })

  it('skips a field-scoped scheme whose read fields the update did not change', () => {
    const rows: RowValues[] = [[['authorId', '7'], ['views', '3']]]
    const schemes = ['authorId~views', 'authorId~title']
    expect(conjKeysOfRows('Post', schemes, rows, ['views'])).toEqual(['Post~views:authorId=7'])
    expect(conjKeysOfRows('Post', schemes, rows, undefined)).toEqual(['Post~views:authorId=7', 'Post~title:authorId=7'])
  })

  it('is null when a row lacks a field a scheme needs', () => {
    expect(conjKeysOfRows('Post', ['id', 'authorId'], [[['id', '1']]], undefined)).toBeNull()
  })
})

describe('rowsUnderTransforms (no server)', () => {
  it('gives each row with every combination of the values transforms set, once each', () => {
    const row: RowValues = [['id', '1'], ['a', '0'], ['b', '0']]
    const images = rowsUnderTransforms([row], [transformOf([['a', '1']]).token, transformOf([['b', '2']]).token, transformOf([['a', '3']]).token])!
    const text = images.map((r) => Object.fromEntries(r)).map((r) => `${r.a}${r.b}`).sort()
    expect(text).toEqual(['00', '02', '10', '12', '30', '32'])
    for (const r of images) expect(Object.fromEntries(r).id).toBe('1')
  })

  it('is null past 65 images a row (the full script then bounds it)', () => {
    const many = Array.from({ length: 7 }, (_, i) => transformOf([[`f${i}`, '1']]).token) // 2^7 = 128
    expect(rowsUnderTransforms([[['id', '1']]], many)).toBeNull()
    expect(rowsUnderTransforms([[['id', '1']]], many.slice(0, 6))).toHaveLength(64)
  })
})

// Rows and schemes over a few fields and values, so that keys collide across rows.
const FIELDS = ['a', 'b', 'c']
const scheme = fc.subarray(FIELDS).map((fs) => fs.join(','))
const scoped = fc.tuple(scheme, fc.subarray(FIELDS, { minLength: 1 })).map(([s, r]) => `${s}~${r.join(',')}`)
const row = fc.subarray(FIELDS).chain((fs) => fc.tuple(...fs.map((f) => fc.constantFrom('1', '2').map((v) => [f, v] as const)))).map((r) => r as RowValues)

const SEEDED = 'seed 0'

describe('delete_conj_keys.lua against invalidate_rows.lua (real Redis)', () => {
  /**
   * Every key any row could fall under, under a fresh prefix with the schemes registered
   * (registry version SEEDED).
   */
  async function seeded(schemes: readonly string[]): Promise<{ store: CacheStore; prefix: string; all: string[] }> {
    const prefix = newPrefix()
    prefixes.push(prefix)
    const all = conjKeysOfRows('M', schemes, [[['a', '1'], ['b', '1'], ['c', '1']], [['a', '2'], ['b', '2'], ['c', '2']], [['a', '1'], ['b', '2'], ['c', '1']], [['a', '2'], ['b', '1'], ['c', '2']], [['a', '1'], ['b', '1'], ['c', '2']], [['a', '2'], ['b', '2'], ['c', '1']], [['a', '1'], ['b', '2'], ['c', '2']], [['a', '2'], ['b', '1'], ['c', '1']]], undefined)!
    const pipe = redis.pipeline().set(`${prefix}m:M`, 'stamp').hset(`${prefix}e:M`, '_', SEEDED, ...schemes.flatMap((s) => [`s:${s}`, '1']))
    for (const k of all) pipe.set(`${prefix}c:${k}`, 'stamp')
    await pipe.exec()
    return { store: new CacheStore(storeRedis, prefix), prefix, all }
  }
  const remaining = async (prefix: string, all: string[]) => (await Promise.all(all.map(async (k) => ((await redis.exists(`${prefix}c:${k}`)) ? k : null)))).filter((k) => k !== null)

  it('deletes exactly the keys the full script deletes', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(fc.oneof(scheme, scoped), { minLength: 1, maxLength: 4 }), fc.array(row, { minLength: 1, maxLength: 3 }), fc.option(fc.subarray(FIELDS)), async (schemes, rows, changed) => {
        const changedFields = changed ?? undefined
        const full = await seeded(schemes)
        const direct = await seeded(schemes)
        const versioned = await seeded(schemes)
        const fullReply = (await full.store.deleteRowKeys('M', rows, { seenSchemes: schemes, changedFields })).deleted
        const keys = conjKeysOfRows('M', schemes, rows, changedFields)
        ran.length = 0
        const directReply = (await direct.store.deleteRowKeys('M', rows, { seenSchemes: schemes, changedFields, conjKeys: keys ?? undefined, transforms: [] })).deleted
        expect(directReply).toBe(fullReply)
        expect(ran).toEqual(keys === null ? ['invalidateRows'] : ['deleteConjKeys'])
        expect(await remaining(direct.prefix, direct.all)).toEqual(await remaining(full.prefix, full.all))
        // Knowing the registry version: the same keys, with no script at all.
        ran.length = 0
        const versionedReply = (await versioned.store.deleteRowKeys('M', rows, { seenSchemes: schemes, changedFields, conjKeys: keys ?? undefined, transforms: [], version: SEEDED })).deleted
        expect(versionedReply).toBe(fullReply)
        expect(ran).toEqual(keys === null ? ['invalidateRows'] : [])
        expect(await remaining(versioned.prefix, versioned.all)).toEqual(await remaining(full.prefix, full.all))
        // A row lacking a scheme's field: the model went whole in both.
        if (keys === null) expect(fullReply).toBe(-1)
      }),
      { numRuns: 60 },
    )
  })

  it('leaves a scheme the writer did not see, or an active transform, to the full script', async () => {
    const rows: RowValues[] = [[['a', '1'], ['b', '1']]]
    // A scheme registered since the writer looked: the model goes whole.
    const late = await seeded(['a', 'b'])
    ran.length = 0
    expect(await late.store.deleteRowKeys('M', rows, { seenSchemes: ['a'], conjKeys: conjKeysOfRows('M', ['a'], rows, undefined)!, transforms: [] })).toEqual({ deleted: -1, schemesDiffer: true })
    expect(await redis.exists(`${late.prefix}e:M`)).toBe(0)
    expect(ran).toEqual(['deleteConjKeys', 'invalidateRows'])
    // The registry was dropped and rebuilt with fewer schemes: the keys go all the same,
    // and the caller learns that its copy of the schemes is out of date.
    const fewer = await seeded(['a'])
    expect(await fewer.store.deleteRowKeys('M', rows, { seenSchemes: ['a', 'b'], conjKeys: conjKeysOfRows('M', ['a', 'b'], rows, undefined)!, transforms: [] })).toEqual({ deleted: 1, schemesDiffer: true, registered: ['a'], version: SEEDED })
    expect(await remaining(fewer.prefix, fewer.all)).not.toContain('M:a=1')
    // An updateMany's transform (b = 2) is active: the row's transformed image goes too.
    const transformed = await seeded(['b'])
    await redis.hset(`${transformed.prefix}u:M`, 'b\t2', `1\t${Date.now() + 60_000}`)
    ran.length = 0
    expect(transformed.store.transformsToApply('M')).toEqual([])
    expect(await transformed.store.deleteRowKeys('M', rows, { seenSchemes: ['b'], conjKeys: ['M:b=1'], transforms: [] })).toEqual({ deleted: 2, schemesDiffer: false, registered: ['b'], version: undefined }) // a transform is active
    expect(await remaining(transformed.prefix, transformed.all)).toEqual([])
    expect(ran).toEqual(['deleteConjKeys', 'invalidateRows'])
    // updateManys tend to recur: the model's next writes apply the transform themselves.
    expect(transformed.store.transformsToApply('M')).toEqual(['b\t2'])
    await redis.set(`${transformed.prefix}c:M:b=2`, 'stamp')
    const keys = conjKeysOfRows('M', ['b'], rowsUnderTransforms(rows, ['b\t2'])!, undefined)!
    expect(keys).toEqual(['M:b=1', 'M:b=2'])
    ran.length = 0
    expect(await transformed.store.deleteRowKeys('M', rows, { seenSchemes: ['b'], conjKeys: keys, transforms: ['b\t2'] })).toEqual({ deleted: 1, schemesDiffer: false, version: undefined })
    expect(ran).toEqual(['deleteConjKeys'])
    expect(await redis.exists(`${transformed.prefix}c:M:b=2`)).toBe(0)
    // Other models are not affected.
    expect(transformed.store.transformsToApply('N')).toEqual([])
  })

  it('a registry gone (evicted) takes the model stamp with it, in either script, or with no script for a writer that saw none', async () => {
    const rows: RowValues[] = [[['a', '1'], ['b', '1']]]
    const direct = await seeded(['a'])
    const full = await seeded(['a'])
    const versioned = await seeded(['a'])
    for (const s of [direct, full, versioned]) await redis.del(`${s.prefix}e:M`)
    ran.length = 0
    expect(await direct.store.deleteRowKeys('M', rows, { seenSchemes: [], conjKeys: [], transforms: [] })).toEqual({ deleted: 0, schemesDiffer: false, version: null })
    expect(await full.store.deleteRowKeys('M', rows, { seenSchemes: [] })).toEqual({ deleted: -1, schemesDiffer: true })
    expect(ran).toEqual(['deleteConjKeys', 'invalidateRows'])
    ran.length = 0
    expect(await versioned.store.deleteRowKeys('M', rows, { seenSchemes: [], conjKeys: [], transforms: [], version: null })).toEqual({ deleted: 1, schemesDiffer: false, version: null })
    expect(ran).toEqual([])
    for (const s of [direct, full, versioned]) expect(await redis.exists(`${s.prefix}m:M`)).toBe(0)
    // Never made (no model stamp either): nothing is cached, nothing goes whole.
    expect(await full.store.deleteRowKeys('M', rows, { seenSchemes: [] })).toEqual({ deleted: 0, schemesDiffer: false, registered: [], version: null })
  })

  // An updateMany's end: its rows with every transform active at its start applied, its
  // counter and its own transform lowered, in one short script.
  const transformData = fc.subarray(FIELDS, { minLength: 1 }).chain((fs) => fc.tuple(...fs.map((f) => fc.constantFrom('1', '2').map((v) => [f, v] as const)))).map((d) => transformOf(d).token)
  /** The generation of the guard updateManyRunning raises (see lua/include/guard.lua). */
  const GUARD = 'guard-generation-1'
  async function updateManyRunning(schemes: readonly string[], own: string, others: readonly string[]) {
    const s = await seeded(schemes)
    const until = Date.now() + 60_000
    await redis.hset(`${s.prefix}u:M`, ...[...new Set([own, ...others])].flatMap((t) => [t, `${t === own ? 2 : 1}\t${until}`]))
    await redis.hset(`${s.prefix}w:M`, 'n', 2, 'until', until, 'g', GUARD) // two writers under way (lua/include/guard.lua)
    return s
  }
  const transformState = async (prefix: string) => {
    const u = await redis.hgetall(`${prefix}u:M`)
    return { w: await redis.hget(`${prefix}w:M`, 'n'), ended: await redis.hget(`${prefix}e:M`, 'ended'), u: Object.fromEntries(Object.entries(u).map(([t, v]) => [t, v.split('\t')[0]])) }
  }

  it("an updateMany's end, or any write while transforms are active: the same keys deleted, counter and transform lowered, as by the full script", async () => {
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(fc.oneof(scheme, scoped), { minLength: 1, maxLength: 4 }), fc.array(row, { minLength: 0, maxLength: 3 }), transformData, fc.uniqueArray(transformData, { maxLength: 2 }), fc.boolean(), async (schemes, rows, own, others, ends) => {
        const full = await updateManyRunning(schemes, own, others)
        const direct = await updateManyRunning(schemes, own, others)
        const how = { seenSchemes: schemes, endWrite: ends ? GUARD : undefined, endTransform: ends ? own : '', changedFields: ['a'] }
        const fullReply = (await full.store.deleteRowKeys('M', rows, how)).deleted
        const transforms = [...new Set([own, ...others])]
        const keys = conjKeysOfRows('M', schemes, rowsUnderTransforms(rows, transforms)!, undefined)
        ran.length = 0
        const directReply = (await direct.store.deleteRowKeys('M', rows, { ...how, conjKeys: keys ?? undefined, transforms })).deleted
        expect(directReply).toBe(fullReply)
        expect(ran).toEqual(keys === null ? ['invalidateRows'] : ['deleteConjKeys'])
        expect(await remaining(direct.prefix, direct.all)).toEqual(await remaining(full.prefix, full.all))
        expect(await transformState(direct.prefix)).toEqual(await transformState(full.prefix))
        // The end counted in the registry (stores leased before it are refused) leaves the
        // registry check of the next direct deletion as it was.
        if (fullReply === -1) return
        expect((await transformState(direct.prefix)).ended).toBe(ends ? '1' : null)
        ran.length = 0
        await direct.store.deleteRowKeys('M', rows, { seenSchemes: schemes, changedFields: ['a'], conjKeys: keys ?? undefined, transforms })
        expect(ran).toEqual(keys === null ? ['invalidateRows'] : ['deleteConjKeys'])
      }),
      { numRuns: 60 },
    )
  })

  it('an end whose guard or own transform is gone (evicted, lapsed) makes the model whole, in either script', async () => {
    const rows: RowValues[] = [[['a', '1'], ['b', '1']]]
    const own = transformOf([['a', '2']]).token
    for (const lose of ['w', 'w lapsed', 'u'] as const) {
      const s = await updateManyRunning(['a', 'b'], own, [])
      if (lose === 'w') await redis.del(`${s.prefix}w:M`)
      // Its time ran out while it ran (a write longer than the crash timeout), and another
      // writer raised the guard since: the count alone would not show the loss.
      else if (lose === 'w lapsed') {
        await redis.hset(`${s.prefix}w:M`, 'until', Date.now() - 1)
        await s.store.runBeginWrite('M', true)
      } else await redis.hdel(`${s.prefix}u:M`, own)
      const keys = conjKeysOfRows('M', ['a', 'b'], rowsUnderTransforms(rows, [own])!, undefined)!
      ran.length = 0
      const reply = await s.store.deleteRowKeys('M', rows, { seenSchemes: ['a', 'b'], endWrite: GUARD, endTransform: own, conjKeys: keys, transforms: [own] })
      expect(ran).toEqual(['deleteConjKeys', 'invalidateRows'])
      expect(reply.deleted).toBe(-1)
      expect(await redis.exists(`${s.prefix}m:M`, `${s.prefix}e:M`)).toBe(0)
    }
  })

  it("a transform that began after the updateMany did leaves its end to the full script", async () => {
    const rows: RowValues[] = [[['a', '1'], ['b', '1']]]
    const own = transformOf([['a', '2']]).token
    const late = transformOf([['b', '2']]).token
    const s = await updateManyRunning(['a', 'b'], own, [late])
    const keys = conjKeysOfRows('M', ['a', 'b'], rowsUnderTransforms(rows, [own])!, undefined)!
    expect(keys).toEqual(['M:a=1', 'M:b=1', 'M:a=2'])
    ran.length = 0
    const reply = await s.store.deleteRowKeys('M', rows, { seenSchemes: ['a', 'b'], endWrite: GUARD, endTransform: own, conjKeys: keys, transforms: [own] })
    expect(ran).toEqual(['deleteConjKeys', 'invalidateRows'])
    // The late transform's image of the row (b = 2) went too, and the counter came down once.
    expect(reply.deleted).toBe(4)
    expect(await remaining(s.prefix, s.all)).not.toContain('M:b=2')
    expect(await transformState(s.prefix)).toEqual({ w: '1', ended: '1', u: { [own]: '1', [late]: '1' } })
  })
})

describe('registry versions (real Redis)', () => {
  const rows: RowValues[] = [[['a', '1'], ['b', '1']]]
  const lease = (schemes: string[]): LeaseRequest => ({ models: [{ name: 'M', schemes }], conjKeys: [], checkOnlyKeys: [] })
  const versionOf = (prefix: string) => redis.hget(`${prefix}e:M`, '_')
  const fresh = () => {
    const prefix = newPrefix()
    prefixes.push(prefix)
    return { prefix, store: new CacheStore(storeRedis, prefix) }
  }

  it('a registry is made with a version of its own, which every scheme it gains changes', async () => {
    const { prefix, store } = fresh()
    expect((await store.runBeginWrite('M', false)).version).toBeNull() // no registry
    await store.readOrLease(`${prefix}r:1`, lease(['a']), 'tok-1', 60)
    const first = await versionOf(prefix)
    expect(first).toMatch(/^tok-1@\d+\.\d+ 0$/)
    expect((await store.runBeginWrite('M', false)).version).toBe(first)
    await store.readOrLease(`${prefix}r:2`, lease(['a']), 'tok-2', 60) // nothing new
    expect(await versionOf(prefix)).toBe(first)
    await store.readOrLease(`${prefix}r:3`, lease(['a', 'b']), 'tok-3', 60)
    const second = await versionOf(prefix)
    expect(second).toBe(first!.replace(/ 0$/, ' 1'))
    // Dropped, and made again by the same token: another version all the same.
    await redis.del(`${prefix}e:M`)
    await new Promise((r) => setTimeout(r, 2))
    await store.readOrLease(`${prefix}r:4`, lease(['a']), 'tok-1', 60)
    expect([first, second]).not.toContain(await versionOf(prefix))
  })

  it('a write keyed by the schemes of an older version goes to the full script', async () => {
    const { prefix, store } = fresh()
    await store.readOrLease(`${prefix}r:1`, lease(['a']), 'tok-1', 60)
    const version = (await store.runBeginWrite('M', false)).version
    const keys = conjKeysOfRows('M', ['a'], rows, undefined)!
    ran.length = 0
    expect(await store.deleteRowKeys('M', rows, { seenSchemes: ['a'], conjKeys: keys, transforms: [], version })).toEqual({ deleted: 0, schemesDiffer: false, version })
    expect(ran).toEqual([])
    // Another process's read registers a scheme (b): the same write must not pass.
    await new CacheStore(redis, prefix).readOrLease(`${prefix}r:2`, lease(['b']), 'tok-2', 60)
    ran.length = 0
    expect(await store.deleteRowKeys('M', rows, { seenSchemes: ['a'], conjKeys: keys, transforms: [], version })).toEqual({ deleted: -1, schemesDiffer: true })
    expect(ran).toEqual(['invalidateRows'])
  })

  it("an updateMany's transform new to the model is a new version: a write that saw none applies it through the full script", async () => {
    const { prefix, store } = fresh()
    await store.readOrLease(`${prefix}r:1`, lease(['b']), 'tok-1', 60)
    const version = (await store.runBeginWrite('M', false)).version
    await redis.set(`${prefix}c:M:b=2`, 'stamp')
    const begun = await new CacheStore(redis, prefix).runBeginWrite('M', true, transformOf([['b', '2']]))
    expect(begun.version).toBeUndefined() // a transform is active: none to rely on
    ran.length = 0
    const reply = await store.deleteRowKeys('M', rows, { seenSchemes: ['b'], conjKeys: conjKeysOfRows('M', ['b'], rows, undefined)!, transforms: [], version })
    expect(ran).toEqual(['invalidateRows'])
    expect(reply.version).toBeUndefined()
    // The row as the running updateMany makes it (b = 2) went too.
    expect(await redis.exists(`${prefix}c:M:b=2`)).toBe(0)
  })

  it('a marker of the earlier layout gives writers no version, and the first scheme it gains a new one', async () => {
    const { prefix, store } = fresh()
    await redis.hset(`${prefix}e:M`, '_', '1', 's:a', '1')
    expect((await store.runBeginWrite('M', false)).version).toBeUndefined()
    expect((await store.deleteRowKeys('M', rows, { seenSchemes: ['a'] })).version).toBeUndefined()
    await store.readOrLease(`${prefix}r:1`, lease(['b']), 'tok-9', 60)
    expect(await versionOf(prefix)).toMatch(/^tok-9@\d+\.\d+ 0$/)
  })
})
