// A short tour of prisma-cacheops on the reference schema: `npm run demo`.
// Cached reads run no SQL on a hit; a write drops only the reads its row matched
// before or after the write. SQL is counted through Prisma's `query` log event.
// With DATABASE_URL and REDIS_URL unset it runs on embedded PostgreSQL and the memory
// store (demo/backends.ts); with them set, on those servers (the database is reset).
import { PrismaClient } from '../prisma/generated/client/client.ts'
import { datamodel } from '../prisma/generated/cacheops/index.ts'
import { cacheops } from '../src/index.ts'
import { openBackends } from './backends.ts'

const backends = await openBackends()
console.log(backends.description)
const base = new PrismaClient({ adapter: backends.adapter, log: [{ emit: 'event', level: 'query' }] })
let sqlCount = 0
base.$on('query', () => void sqlCount++)
const prisma = base.$extends(cacheops({ ...backends.cache, datamodel, prefix: 'demo:', models: { '*': { ops: 'all', timeout: 300 } } }))

/** Runs `fn` and returns how many SQL statements it sent. */
async function sqlOf(fn: () => Promise<unknown>): Promise<number> {
  const before = sqlCount
  await fn()
  return sqlCount - before
}
const section = (title: string) => console.log(`\n== ${title} ${'='.repeat(Math.max(0, 66 - title.length))}`)
const pad = (s: string) => s.padEnd(44)

await prisma.$cacheops.invalidateAll() // leftovers of an earlier run under 'demo:'

section('Seed')
const [alice, bob, carol] = [
  await prisma.user.create({ data: { email: 'alice@example.com', name: 'Alice' } }),
  await prisma.user.create({ data: { email: 'bob@example.com', name: 'Bob' } }),
  await prisma.user.create({ data: { email: 'carol@example.com', name: 'Carol' } }),
]
const news = await prisma.category.create({ data: { title: 'News' } })
const tech = await prisma.category.create({ data: { title: 'Tech' } })
const post = (title: string, authorId: number, categoryId: number, published: boolean, views: number) =>
  prisma.post.create({ data: { title, authorId, categoryId, published, views } })
const p1 = await post('Hello world', alice.id, news.id, true, 10)
const p2 = await post('Prisma tips', alice.id, tech.id, true, 25)
const p3 = await post('Draft: caching', bob.id, tech.id, false, 0)
const p4 = await post('Redis 101', carol.id, news.id, true, 40)
console.log(`users: Alice=${alice.id} Bob=${bob.id} Carol=${carol.id}; categories: News=${news.id} Tech=${tech.id}`)
console.log(`posts: #${p1.id} Alice/News/published, #${p2.id} Alice/Tech/published, #${p3.id} Bob/Tech/draft, #${p4.id} Carol/News/published`)

// Each read, and what the write below (post #1 moves from Alice to Bob) should do to it.
interface Read { label: string; run: () => Promise<unknown>; after: 'invalidated' | 'cached'; why: string }
const reads: Read[] = [
  { label: `post.findUnique({ id: ${p1.id} })`, run: () => prisma.post.findUnique({ where: { id: p1.id } }),
    after: 'invalidated', why: 'it reads the very row that was written' },
  { label: `post.findMany({ authorId: Bob })`, run: () => prisma.post.findMany({ where: { authorId: bob.id } }),
    after: 'invalidated', why: 'the row matches authorId=Bob after the write' },
  { label: `post.aggregate(views, { authorId: Alice })`,
    run: () => prisma.post.aggregate({ where: { authorId: alice.id }, _sum: { views: true }, _count: true }),
    after: 'invalidated', why: 'the row matched authorId=Alice before the write' },
  { label: `post.findMany({ authorId: Carol })`, run: () => prisma.post.findMany({ where: { authorId: carol.id } }),
    after: 'cached', why: 'authorId was Alice then Bob, never Carol' },
  { label: `post.findMany(OR Tech / id in [${p3.id},${p4.id}])`,
    run: () => prisma.post.findMany({ where: { OR: [{ categoryId: tech.id }, { id: { in: [p3.id, p4.id] } }] } }),
    after: 'cached', why: `row #${p1.id} is in News and not in [${p3.id},${p4.id}], before and after` },
  { label: `post.count({ published: true })`, run: () => prisma.post.count({ where: { published: true } }),
    after: 'cached', why: 'a count reads only `published`, which the write did not change' },
  { label: `post.findMany({ Tech }, include author)`,
    run: () => prisma.post.findMany({ where: { categoryId: tech.id }, include: { author: true }, orderBy: { id: 'asc' } }),
    after: 'cached', why: 'the row is not in Tech, and no User row was written' },
]

section('Cached reads, each run twice')
console.log(`${pad('read')} 1st call   2nd call`)
for (const r of reads) {
  const first = await sqlOf(r.run)
  const second = await sqlOf(r.run)
  console.log(`${pad(r.label)} ${String(first).padStart(2)} SQL     ${second === 0 ? 'hit, 0 SQL' : `${second} SQL (!) expected a hit`}`)
  if (second !== 0) process.exitCode = 1
}

section(`Write: post #${p1.id} moves from Alice to Bob`)
const writeSql = await sqlOf(() => prisma.post.update({ where: { id: p1.id }, data: { authorId: bob.id } }))
console.log(`update ran ${writeSql} SQL (pre-image read + update) and invalidated the dependent reads`)

section('Same reads after the write')
for (const r of reads) {
  const n = await sqlOf(r.run)
  const got = n > 0 ? 'invalidated' : 'cached'
  const mark = got === r.after ? '' : `  (!) expected ${r.after}`
  if (mark) process.exitCode = 1
  console.log(`${pad(r.label)} ${got === 'cached' ? 'still cached' : `invalidated (${n} SQL)`}: ${r.why}${mark}`)
}

section('Per-call options')
const countOnly = () => prisma.post.cache({ ops: ['count'], timeout: 30 }).count({ where: { views: { gt: 5 } } })
console.log(`.cache({ ops: ['count'], timeout: 30 }).count(): ${await sqlOf(countOnly)} SQL, then ${await sqlOf(countOnly)} SQL`)
const bypass = () => prisma.post.nocache().findMany()
console.log(`.nocache().findMany():                          ${await sqlOf(bypass)} SQL, then ${await sqlOf(bypass)} SQL`)

section('Stats')
const s = prisma.$cacheops.stats()
console.log(`hits=${s.hits} misses=${s.misses} stores=${s.stores} invalidations=${s.invalidations} errors=${s.errors}`)

await prisma.$cacheops.invalidateAll()
await prisma.$cacheops.close()
await base.$disconnect()
await backends.close()
console.log('\ncache under "demo:" cleared; connections closed')
