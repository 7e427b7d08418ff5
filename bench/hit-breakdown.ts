// Where a hit's time goes, layer by layer, in one run: `npx tsx bench/hit-breakdown.ts`.
// A Prisma extension returning a constant, one doing GET + decode, one sending the hit's
// MGET itself (entry, payload key, model and conjunction stamps; the check skipped), one
// calling the read script (what a hit of an entry this process does not know costs), the
// whole prisma-cacheops hit, and a raw GET; then the same at 64 concurrent callers. Used
// to tell what of a hit is Prisma's, Redis' and ours.
import { PrismaPg } from '@prisma/adapter-pg'
import { Redis } from 'ioredis'
import { PrismaClient } from '../prisma/generated/client/client.ts'
import { datamodel } from '../prisma/generated/cacheops/index.ts'
import { cacheops } from '../src/index.ts'
import { decodeResult, encodeResult } from '../src/codec/index.ts'
import { scripts } from '../src/redis/scripts.ts'
import { freshDatabase, REDIS_URL } from '../test/helpers.ts'
import { latency, throughput } from './lib/measure.ts'

const base = new PrismaClient({ adapter: new PrismaPg({ connectionString: await freshDatabase('bench_profile') }) })
const prefix = 'bench-breakdown:'
const prisma = base.$extends(cacheops({ redis: REDIS_URL, datamodel, prefix, models: { '*': { ops: 'all', timeout: 600 } } }))
const author = await base.user.create({ data: { email: 'profile@x.io' } })
const post = await base.post.create({ data: { title: 'p', authorId: author.id } })
const redis = new Redis(REDIS_URL)
await redis.set(`${prefix}raw`, encodeResult(post))
await prisma.post.findUnique({ where: { id: post.id } })
await new Promise((r) => setTimeout(r, 50)) // the store is sent in the background
const key = (await redis.keys(`${prefix}r:*`)).find((k) => !k.includes('#'))!
const hitArgs = [key, `${key}#p`, prefix, 'token', 700, 1, 'Post', 1, 'id', 1, `Post:id=${post.id}`, 0, 0, 0]
const ext = base.$extends({ query: { $allOperations: async () => post } })
const getDecode = base.$extends({ query: { $allOperations: async () => decodeResult((await redis.getBuffer(`${prefix}raw`))!) } })
// A small payload is kept inside its entry and comes back in the script's reply.
const script = base.$extends({ query: { $allOperations: async () => decodeResult(((await scripts.readOrLease.run(redis, hitArgs)) as Buffer[])[1]!) } })
const headerEnd = (entry: Buffer) => entry.indexOf(10) + 1 + Number(entry.toString('latin1', 0, entry.indexOf(32)))
const mgetKeys = [key, `${key}#p`, `${prefix}m:Post`, `${prefix}c:Post:id=${post.id}`]
const inlinePayload = (entry: Buffer) => entry.subarray(headerEnd(entry))
const mget = base.$extends({ query: { $allOperations: async () => decodeResult(inlinePayload(((await redis.mgetBuffer(...mgetKeys)) as Buffer[])[0]!)) } })
const variants = [
  ['extension returning a constant', () => ext.post.findUnique({ where: { id: post.id } })],
  ['extension doing GET + decode', () => getDecode.post.findUnique({ where: { id: post.id } })],
  ['extension sending the hit MGET', () => mget.post.findUnique({ where: { id: post.id } })],
  ['extension running the read script', () => script.post.findUnique({ where: { id: post.id } })],
  ['prisma-cacheops hit', () => prisma.post.findUnique({ where: { id: post.id } })],
  ['raw GET + decode', async () => decodeResult((await redis.getBuffer(`${prefix}raw`))!)],
] as const
for (let r = 0; r < 2; r++) for (const [name, fn] of variants) console.log(`median ${name.padEnd(34)} ${(await latency(name, 5000, fn)).medianUs.toFixed(1).padStart(7)} µs`)
for (const [name, fn] of variants) console.log(`64 concurrent ${name.padEnd(34)} ${(await throughput(64, 2000, fn)).perSecond.toFixed(0).padStart(7)} /s`)
await prisma.$cacheops.invalidateAll()
await prisma.$cacheops.close()
redis.disconnect()
await base.$disconnect()
