// The dog-pile, shown: 200 concurrent identical misses across two processes (100 each),
// with and without `lock: true`; prints how many database queries each run issued.
// `npx tsx demo/herd.ts` (DATABASE_URL / REDIS_URL as for the tests; uses database <name>_herd).
import { fork } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { PrismaPg } from '@prisma/adapter-pg'
import { PrismaClient } from '../prisma/generated/client/client.ts'
import { datamodel } from '../prisma/generated/cacheops/index.ts'
import { cacheops } from '../src/index.ts'
import { freshDatabase, REDIS_URL } from '../test/helpers.ts'

const PER_PROCESS = 100

if (process.argv[2] === 'child') {
  // One process: PER_PROCESS concurrent identical reads on its own client, after a go signal.
  const [, , , url, prefix, lock] = process.argv
  const base = new PrismaClient({ adapter: new PrismaPg({ connectionString: url! }), log: [{ emit: 'event', level: 'query' }] })
  let queries = 0
  base.$on('query', () => void queries++)
  const prisma = base.$extends(cacheops({ redis: REDIS_URL, datamodel, prefix: prefix!, models: { '*': { ops: 'all', timeout: 60, lock: lock === 'lock' } } }))
  await prisma.$connect()
  await prisma.user.nocache().count() // warm the connection pool
  queries = 0
  process.send!('ready')
  process.once('message', async () => {
    // A slow query, so that every caller misses while the first one computes.
    const slow = prisma.$extends({ query: { post: { async findMany({ args, query }) { await new Promise((r) => setTimeout(r, 200)); return query(args) } } } })
    await Promise.all(Array.from({ length: PER_PROCESS }, () => slow.post.findMany({ where: { published: true }, take: 10 })))
    process.send!(queries, async () => {
      await prisma.$cacheops.close()
      await base.$disconnect()
      process.exit(0)
    })
  })
} else {
  const url = await freshDatabase('herd')
  const setup = new PrismaClient({ adapter: new PrismaPg({ connectionString: url }) })
  const author = await setup.user.create({ data: { email: 'herd@h.io' } })
  await setup.post.createMany({ data: Array.from({ length: 20 }, (_, i) => ({ title: `h${i}`, authorId: author.id, published: true })) })
  await setup.$disconnect()

  for (const mode of ['lock', 'no lock']) {
    const prefix = `herd:${randomBytes(4).toString('hex')}:`
    const children = [0, 1].map(() => fork(fileURLToPath(import.meta.url), ['child', url, prefix, mode === 'lock' ? 'lock' : 'none'], { execArgv: ['--import', 'tsx'] }))
    await Promise.all(children.map((ch) => new Promise((r) => ch.once('message', r))))
    const counts = children.map((ch) => new Promise<number>((r) => ch.once('message', (n) => r(Number(n)))))
    for (const ch of children) ch.send('go')
    const queries = (await Promise.all(counts)).reduce((a, b) => a + b, 0)
    console.log(`${mode.padEnd(8)} ${2 * PER_PROCESS} concurrent identical misses in 2 processes → ${queries} database ${queries === 1 ? 'query' : 'queries'}`)
  }
  console.log('(without lock, in-process single-flight still makes it one query per process)')
}
