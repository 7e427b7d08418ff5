// Profiles the hit path: `node --cpu-prof --import tsx bench/profile-hit.ts` (then read
// the .cpuprofile); used to find what a hit spends beyond the physical floor.
import { PrismaPg } from '@prisma/adapter-pg'
import { PrismaClient } from '../prisma/generated/client/client.ts'
import { datamodel } from '../prisma/generated/cacheops/index.ts'
import { cacheops } from '../src/index.ts'
import { freshDatabase, REDIS_URL } from '../test/helpers.ts'

const base = new PrismaClient({ adapter: new PrismaPg({ connectionString: await freshDatabase('bench_profile') }) })
const prisma = base.$extends(cacheops({ redis: REDIS_URL, datamodel, prefix: 'bench-profile:', models: { '*': { ops: 'all', timeout: 600 } } }))
const author = await base.user.create({ data: { email: 'profile@x.io' } })
const post = await base.post.create({ data: { title: 'p', authorId: author.id } })
const n = Number(process.env.N ?? 20_000)
await Promise.all(Array.from({ length: Number(process.env.C ?? 64) }, async () => {
  for (let i = 0; i < n / Number(process.env.C ?? 64); i++) await prisma.post.findUnique({ where: { id: post.id } })
}))
await prisma.$cacheops.invalidateAll()
await prisma.$cacheops.close()
await base.$disconnect()
