// Leases taken with plain commands (CacheStore.plainLease) against read_or_lease.lua, at
// the Redis layer alone (no database).
import fc from 'fast-check'
import type { Redis } from 'ioredis'
import { afterAll, describe, expect, it } from 'vitest'
import { RedisStore as CacheStore, type RedisLease as Lease } from '../src/redis/store.ts'
import type { LeaseRequest, ReadResult } from '../src/store/types.ts'
import { deleteKeys, newPrefix, rawRedis, recordCommands } from './helpers.ts'

const redis = rawRedis()
const connections: Redis[] = [redis]
const prefixes: string[] = []
afterAll(async () => {
  for (const p of prefixes) await deleteKeys(redis, p)
  for (const c of connections) c.disconnect()
})

/**
 * A store of its own (a process) on a connection of its own, recording what it sends;
 * made once the connection is up, so that it has asked which Redis it talks to before
 * its first lease comes back.
 */
async function processOn(prefix: string): Promise<{ store: CacheStore; sent: string[] }> {
  const conn = rawRedis()
  connections.push(conn)
  await conn.ping()
  const sent = recordCommands(conn)
  return { store: new CacheStore(conn, prefix), sent }
}
function freshPrefix(): string {
  const p = newPrefix()
  prefixes.push(p)
  return p
}
const PLAIN = ['mget', 'hmget', 'set', 'expire']
function missOf(r: ReadResult): Lease {
  if (r.hit) throw new Error('expected a miss')
  return r as unknown as Lease
}
const byId = (id: number): LeaseRequest => ({ models: [{ name: 'Post', schemes: ['id'] }], conjKeys: [`Post:id=${id}`], checkOnlyKeys: [] })

describe('plain leases', () => {
  it('after one lease through the script, leases of known schemes are plain commands with the stamps the script gives', async () => {
    const prefix = freshPrefix()
    const mine = await processOn(prefix)
    const other = await processOn(prefix)
    const e = (n: string) => mine.store.entryKey(n)
    missOf(await mine.store.readOrLease(e('a'), byId(1), 'tok-a', 100))
    expect(mine.sent).toContain('readOrLease') // the first: registers the scheme, learns the registry
    mine.sent.length = 0
    const plain = missOf(await mine.store.readOrLease(e('b'), byId(1), 'tok-b', 100))
    expect(mine.sent).toEqual(PLAIN)
    // The same stamps as the script, taken by another process for another entry of them.
    const scripted = missOf(await other.store.readOrLease(e('c'), byId(1), 'tok-c', 100))
    expect({ header: plain.header, checkOnly: plain.checkOnly }).toEqual({ header: scripted.header, checkOnly: scripted.checkOnly })
    expect(plain.header).toContain('c tok-a Post:id=1') // the first lease made the stamp
    // A stamp not there yet is made with the caller's token; one with less time left is
    // extended to the lease's TTL.
    await redis.set(`${prefix}c:Post:id=3`, 'old', 'EX', 10)
    mine.sent.length = 0
    expect(missOf(await mine.store.readOrLease(e('d'), byId(2), 'tok-d', 100)).header).toContain('c tok-d Post:id=2')
    expect(missOf(await mine.store.readOrLease(e('e'), byId(3), 'tok-e', 100)).header).toContain('c old Post:id=3')
    expect(mine.sent).toEqual([...PLAIN, ...PLAIN])
    expect(await redis.ttl(`${prefix}c:Post:id=2`)).toBeGreaterThan(90)
    expect(await redis.ttl(`${prefix}c:Post:id=3`)).toBeGreaterThan(90)
    // Stored under a plain lease; another process that never saw the entry gets a hit from
    // the same commands, no script either.
    expect(await mine.store.storeIfFresh(e('b'), plain, Buffer.from('payload-b'), 60)).toBe(true)
    missOf(await other.store.readOrLease(e('f'), byId(1), 'tok-f', 100))
    other.sent.length = 0
    expect(await other.store.readOrLease(e('b'), byId(1), 'tok-g', 100)).toEqual({ hit: true, payload: Buffer.from('payload-b') })
    expect(other.sent).toEqual(PLAIN)
  })

  it('whatever the commands cannot vouch for goes to the script', async () => {
    const prefix = freshPrefix()
    const mine = await processOn(prefix)
    const other = await processOn(prefix)
    const e = (n: string) => mine.store.entryKey(n)
    missOf(await mine.store.readOrLease(e('a'), byId(1), 'tok-a', 100))
    const viaScript = async (key: string, request: LeaseRequest, token: string) => {
      mine.sent.length = 0
      const r = await mine.store.readOrLease(key, request, token, 100)
      return { r, sent: [...mine.sent] }
    }
    // A scheme this process has not registered: the script registers it first.
    const byTitle: LeaseRequest = { models: [{ name: 'Post', schemes: ['title'] }], conjKeys: ['Post:title=x'], checkOnlyKeys: [] }
    expect((await viaScript(e('b'), byTitle, 'tok-b')).sent).toEqual(['readOrLease'])
    expect(await redis.hexists(`${prefix}e:Post`, 's:title')).toBe(1)
    expect((await viaScript(e('c'), byTitle, 'tok-c')).sent).toEqual(PLAIN)
    // The registry was dropped and made again by another process: it may lack the schemes
    // this process knew, and its model stamp is new.
    await redis.del(`${prefix}e:Post`, `${prefix}m:Post`)
    missOf(await other.store.readOrLease(e('x'), byTitle, 'tok-x', 100))
    const remade = await viaScript(e('d'), byId(1), 'tok-d')
    expect(remade.sent).toEqual([...PLAIN, 'readOrLease'])
    expect(missOf(remade.r).header).toContain(`m ${await redis.get(`${prefix}m:Post`)} Post`)
    expect(await redis.hexists(`${prefix}e:Post`, 's:id')).toBe(1)
    expect((await viaScript(e('e'), byId(1), 'tok-e')).sent).toEqual(PLAIN)
    // A model stamp gone on its own (evicted): the script makes a new one.
    await redis.del(`${prefix}m:Post`)
    const stampless = await viaScript(e('f'), byId(1), 'tok-f')
    expect(stampless.sent).toEqual([...PLAIN, 'readOrLease'])
    // With a token of its own: the plain commands may have made stamps with the first.
    const remadeStamp = missOf(stampless.r).token
    expect(remadeStamp).not.toBe('tok-f')
    expect(await redis.get(`${prefix}m:Post`)).toBe(remadeStamp)
    expect(missOf(stampless.r).header).toContain(`m ${remadeStamp} Post`)
    // A void entry: the script deletes it (and its payload) as it takes the lease.
    const stored = missOf(await mine.store.readOrLease(e('g'), byId(1), 'tok-g', 100))
    expect(await other.store.storeIfFresh(e('g'), stored, Buffer.alloc(2000, 7), 60)).toBe(true)
    await redis.del(`${prefix}c:Post:id=1`)
    const fresh = await processOn(prefix) // knows neither the entry nor, after one lease, more than the registry
    missOf(await fresh.store.readOrLease(e('h'), byId(1), 'tok-h', 100))
    fresh.sent.length = 0
    expect(await fresh.store.readOrLease(e('g'), byId(1), 'tok-i', 100)).toMatchObject({ hit: false })
    expect(fresh.sent).toEqual([...PLAIN, 'readOrLease'])
    expect(await redis.exists(e('g'), `${e('g')}#p`)).toBe(0)
    // An entry whose header lists more than the lease (rows an include reached): the
    // script judges it, a hit.
    const withResult = missOf(await other.store.readOrLease(e('j'), byId(1), 'tok-j', 100))
    expect(await other.store.storeIfFresh(e('j'), withResult, Buffer.from('with-result'), 60, [{ scheme: 'authorId', key: 'Post:authorId=4' }])).toBe(true)
    fresh.sent.length = 0
    expect(await fresh.store.readOrLease(e('j'), byId(1), 'tok-k', 100)).toEqual({ hit: true, payload: Buffer.from('with-result') })
    expect(fresh.sent).toEqual([...PLAIN, 'readOrLease'])
    // With a lock or stale-while-revalidate, always the script.
    mine.sent.length = 0
    await mine.store.readOrLease(e('l'), byId(1), 'tok-l', 100, 1000)
    await mine.store.readOrLease(e('m'), byId(1), 'tok-m', 100, 0, 1000)
    expect(mine.sent.filter((c) => c === 'readOrLease')).toHaveLength(2)
  })

  // Random requests over a few models, schemes and conjunctions, on a random state (stamps
  // missing or short-lived, mass writes ended): the plain lease gives exactly the script's
  // lease and leaves Redis as the script does.
  const MODELS = ['A', 'B']
  const SCHEMES = ['', 'x', 'x,y']
  const request = fc
    .uniqueArray(fc.constantFrom(...MODELS), { minLength: 1, maxLength: 2 })
    .chain((models) =>
      fc.record({
        models: fc.constant(models),
        conjs: fc.uniqueArray(fc.tuple(fc.constantFrom(...models), fc.constantFrom('x=1', 'x=2', 'x=1&y=1', '')).map(([m, c]) => `${m}:${c}`), { maxLength: 4 }),
        checkOnly: fc.boolean(),
      }),
    )
    .map(({ models, conjs, checkOnly }): LeaseRequest => {
      const own = checkOnly ? conjs.filter((c) => !c.endsWith(':')) : conjs
      return { models: models.map((name) => ({ name, schemes: SCHEMES })), conjKeys: own, checkOnlyKeys: conjs.filter((c) => !own.includes(c)) }
    })
  const state = fc.record({ dropped: fc.subarray(['A:x=1', 'A:x=2', 'B:x=1', 'B:x=1&y=1', 'A:', 'B:']), short: fc.subarray(['A:x=1', 'B:x=1&y=1', 'B:']), ended: fc.subarray(MODELS) })

  it('gives the stamps and leaves the keys the script does (property)', async () => {
    await fc.assert(
      fc.asyncProperty(request, state, async (req, { dropped, short, ended }) => {
        const seedAll: LeaseRequest = { models: MODELS.map((name) => ({ name, schemes: SCHEMES })), conjKeys: ['A:x=1', 'A:x=2', 'B:x=1', 'B:x=1&y=1', 'A:', 'B:'], checkOnlyKeys: [] }
        const sides = await Promise.all(
          [0, 1].map(async () => {
            const prefix = freshPrefix()
            const p = await processOn(prefix)
            missOf(await p.store.readOrLease(p.store.entryKey('seed'), seedAll, 'seed', 500))
            for (const k of dropped) await redis.del(`${prefix}c:${k}`)
            for (const k of short) await redis.expire(`${prefix}c:${k}`, 5)
            for (const m of ended) await redis.hincrby(`${prefix}e:${m}`, 'ended', 1)
            return { prefix, ...p }
          }),
        )
        const [plain, script] = sides as [(typeof sides)[0], (typeof sides)[0]]
        plain.sent.length = 0
        const a = missOf(await plain.store.readOrLease(plain.store.entryKey('r'), req, 'lease', 300))
        expect(plain.sent).not.toContain('readOrLease')
        const b = missOf(await script.store.readOrLease(script.store.entryKey('r'), req, 'lease', 300, 1)) // a lock: the script
        // Each side's registry has an id of its own: the rest of each line is the same.
        const withoutIds = async (l: Lease, prefix: string) => {
          let text = l.checkOnly
          for (const m of MODELS) text = text.replace(`|${((await redis.hget(`${prefix}e:${m}`, '_')) ?? '').split(' ')[0]} ${m}\n`, `|id ${m}\n`)
          return text
        }
        expect(a.header).toBe(b.header)
        expect(await withoutIds(a, plain.prefix)).toBe(await withoutIds(b, script.prefix))
        expect(a.checkOnly).toContain('|') // the registry ids are there
        for (const k of [...req.conjKeys, ...req.checkOnlyKeys]) {
          expect(await redis.get(`${plain.prefix}c:${k}`)).toBe(await redis.get(`${script.prefix}c:${k}`))
          expect(await redis.ttl(`${plain.prefix}c:${k}`)).toBeGreaterThan(290)
          expect(await redis.ttl(`${script.prefix}c:${k}`)).toBeGreaterThan(290)
        }
      }),
      { numRuns: 40 },
    )
  })
})
