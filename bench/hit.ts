// Quick one-run comparison of a cache hit against plain Prisma and the physical floors.
// `npx tsx bench/hit.ts` (needs DATABASE_URL / REDIS_URL; uses database <name>_bench).
// Ratios are what matter: absolute times on a shared machine are noise.
import { PrismaPg } from '@prisma/adapter-pg'
import { Redis } from 'ioredis'
import { PrismaClient } from '../prisma/generated/client/client.ts'
import { datamodel } from '../prisma/generated/cacheops/index.ts'
import { cacheops } from '../src/index.ts'
import { encodeResult, decodeResult } from '../src/codec/index.ts'
import { freshDatabase, REDIS_URL } from '../test/helpers.ts'

const N = Number(process.env.BENCH_N ?? 2000)
const url = await freshDatabase('bench')
const base = new PrismaClient({ adapter: new PrismaPg({ connectionString: url }) })
const prisma = base.$extends(cacheops({ redis: REDIS_URL, datamodel, prefix: 'bench:', models: { '*': { ops: 'all', timeout: 600 } } }))
const floor = base.$extends({ query: { $allOperations: async () => ({ id: 1 }) } })
const redis = new Redis(REDIS_URL)

const author = await base.user.create({ data: { email: 'bench@x.io' } })
await base.post.createMany({ data: Array.from({ length: 100 }, (_, i) => ({ title: `p${i}`, authorId: author.id })) })
const one = await base.post.findFirstOrThrow()
await redis.set('bench:raw', encodeResult(one))

async function time(name: string, fn: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < 200; i++) await fn()
  const samples: number[] = []
  for (let i = 0; i < N; i++) {
    const t0 = process.hrtime.bigint()
    await fn()
    samples.push(Number(process.hrtime.bigint() - t0) / 1000)
  }
  samples.sort((a, b) => a - b)
  const median = samples[Math.floor(N / 2)]!
  console.log(`${name.padEnd(44)} median ${median.toFixed(1).padStart(8)} µs   p99 ${samples[Math.floor(N * 0.99)]!.toFixed(1).padStart(8)} µs`)
  return median
}

const plainOne = await time('plain Prisma findUnique', () => base.post.findUnique({ where: { id: one.id } }))
const extFloor = await time('floor: extension returning a constant', () => floor.post.findUnique({ where: { id: one.id } }))
const getFloor = await time('floor: ioredis GET + decode', async () => decodeResult((await redis.getBuffer('bench:raw'))!))
const hitOne = await time('cacheops hit findUnique', () => prisma.post.findUnique({ where: { id: one.id } }))
const include = { where: { authorId: author.id }, include: { author: true } }
const plainMany = await time('plain Prisma findMany 100 rows + include', () => base.post.findMany(include))
const hitMany = await time('cacheops hit findMany 100 rows + include', () => prisma.post.findMany(include))

let flip = 0
const plainWrite = await time('plain Prisma update by id', () => base.post.update({ where: { id: one.id }, data: { views: flip++ } }))
await prisma.post.findMany({ where: { authorId: author.id } }) // a registered scheme to invalidate
const cachedWrite = await time('cacheops update by id (pre-read + CAS + invalidate)', () => prisma.post.update({ where: { id: one.id }, data: { views: flip++ } }))

console.log(`\nhot findUnique / (ext floor + GET floor): ${(hitOne / (extFloor + getFloor)).toFixed(2)}`)
console.log(`plain / hot, findUnique:                  ${(plainOne / hitOne).toFixed(2)}`)
console.log(`plain / hot, findMany include 100 rows:   ${(plainMany / hitMany).toFixed(2)}`)
console.log(`write with invalidation / plain write:     ${(cachedWrite / plainWrite).toFixed(2)}`)
await prisma.$cacheops.invalidateAll()
await prisma.$cacheops.close()
await redis.quit()
await base.$disconnect()
