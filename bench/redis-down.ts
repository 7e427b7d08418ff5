// What a Redis outage costs each request, measured in one run against a throwaway
// redis-server of its own: plain Prisma, then the cached client with Redis up, Redis
// killed (connections refused) and Redis hung (SIGSTOP: commands time out).
// `npm run bench:redis-down` (needs DATABASE_URL; uses database <name>_bench_down).
// Prints median / p99 / mean per request and the extra mean latency over plain Prisma;
// writes bench/results/redis-down.json. Ratios matter; absolute times are machine noise.
import { mkdirSync, writeFileSync } from 'node:fs'
import { PrismaPg } from '@prisma/adapter-pg'
import { PrismaClient } from '../prisma/generated/client/client.ts'
import { datamodel } from '../prisma/generated/cacheops/index.ts'
import { cacheops } from '../src/index.ts'
import { freshDatabase, startThrowawayRedis, type ThrowawayRedis } from '../test/helpers.ts'

const N = Number(process.env.BENCH_N ?? 400)
const port = 24000 + Math.floor(Math.random() * 1000)
const redisUrl = `redis://127.0.0.1:${port}/0`
let server!: ThrowawayRedis

async function startRedis(): Promise<void> {
  server = await startThrowawayRedis(port)
}

const url = await freshDatabase('bench_down')
const base = new PrismaClient({ adapter: new PrismaPg({ connectionString: url }) })
await startRedis()
let errors = 0
const prisma = base.$extends(cacheops({ redis: redisUrl, datamodel, prefix: 'bench-down:', models: { '*': { ops: 'all', timeout: 600 } }, onError: () => void errors++ }))
const author = await base.user.create({ data: { email: 'down@x.io' } })
const posts = await base.post.createManyAndReturn({ data: Array.from({ length: 50 }, (_, i) => ({ title: `p${i}`, authorId: author.id })) })

interface Row { scenario: string; medianUs: number; p99Us: number; meanUs: number; failed: number; waitedTimeout: number }
const rows: Row[] = []

async function time(scenario: string, fn: (i: number) => Promise<unknown>, n = N): Promise<Row> {
  const samples: number[] = []
  let failed = 0
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint()
    await fn(i).catch(() => failed++)
    samples.push(Number(process.hrtime.bigint() - t0) / 1000)
  }
  const sorted = [...samples].sort((a, b) => a - b)
  const row = {
    scenario,
    medianUs: sorted[Math.floor(n / 2)]!,
    p99Us: sorted[Math.floor(n * 0.99)]!,
    meanUs: samples.reduce((a, b) => a + b, 0) / n,
    failed,
    // Requests that waited out a command timeout (the breaker opens after 3 of them).
    waitedTimeout: samples.filter((us) => us >= 1_000_000).length,
  }
  rows.push(row)
  console.log(`${scenario.padEnd(40)} median ${row.medianUs.toFixed(0).padStart(8)} µs  p99 ${row.p99Us.toFixed(0).padStart(9)} µs  mean ${row.meanUs.toFixed(0).padStart(8)} µs  failed ${failed}  waited a timeout ${row.waitedTimeout}`)
  return row
}

const read = (i: number) => prisma.post.findUnique({ where: { id: posts[i % posts.length]!.id } })
const write = (i: number) => prisma.post.update({ where: { id: posts[i % posts.length]!.id }, data: { views: i } })
for (let i = 0; i < 200; i++) await read(i) // warm: every post cached

const plainRead = await time('plain Prisma findUnique', (i) => base.post.findUnique({ where: { id: posts[i % posts.length]!.id } }))
const plainWrite = await time('plain Prisma update', (i) => base.post.update({ where: { id: posts[i % posts.length]!.id }, data: { views: i } }))
await time('cached findUnique, Redis up (hits)', read)
await time('cached update, Redis up', write)

await server.kill() // refused connections
await new Promise((r) => setTimeout(r, 200))
const downRead = await time('cached findUnique, Redis killed', read)
const downWrite = await time('cached update, Redis killed', write)
await startRedis()
// Recovered: the kept invalidations went through and the cache serves hits again.
while (prisma.$cacheops.stats().pendingInvalidations > 0) await new Promise((r) => setTimeout(r, 50))
for (let i = 0; i < 100; i++) await read(i)

server.process.kill('SIGSTOP') // hung: every command waits for its timeout
// Fewer requests: the point is how the breaker bounds the command timeouts.
const hungRead = await time('cached findUnique, Redis hung', read, Math.min(N, 150))
const hungWrite = await time('cached update, Redis hung', write, Math.min(N, 150))
server.process.kill('SIGCONT')

const extra = (r: Row, plain: Row) => ({
  extraMeanUs: r.meanUs - plain.meanUs,
  meanRatio: r.meanUs / plain.meanUs,
  extraMedianUs: r.medianUs - plain.medianUs,
  waitedTimeout: r.waitedTimeout,
})
const summary = {
  killed: { read: extra(downRead, plainRead), write: extra(downWrite, plainWrite) },
  hung: { read: extra(hungRead, plainRead), write: extra(hungWrite, plainWrite) },
}
console.log('\nextra mean latency per request while Redis is down (vs plain Prisma, same run):')
for (const [mode, s] of Object.entries(summary)) {
  const show = (x: ReturnType<typeof extra>) =>
    `mean ${x.extraMeanUs.toFixed(0).padStart(7)} µs (${x.meanRatio.toFixed(2)}×), median ${x.extraMedianUs.toFixed(0).padStart(5)} µs, ${x.waitedTimeout} waited a timeout`
  console.log(`  ${mode.padEnd(7)} read  ${show(s.read)}`)
  console.log(`  ${mode.padEnd(7)} write ${show(s.write)}`)
}
console.log(`failed requests: ${rows.reduce((n, r) => n + r.failed, 0)}; Redis errors reported to onError: ${errors}`)
mkdirSync(new URL('./results/', import.meta.url), { recursive: true })
writeFileSync(new URL('./results/redis-down.json', import.meta.url), JSON.stringify({ date: new Date().toISOString(), n: N, rows, summary }, null, 2) + '\n')

await prisma.$cacheops.close().catch(() => undefined)
await base.$disconnect()
await server.kill()
