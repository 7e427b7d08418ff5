// Where the demo runs: the servers named by DATABASE_URL and REDIS_URL when they are set,
// else embedded ones — PostgreSQL as PGlite (WebAssembly, in this process, schema from the
// checked-in migration) and the cache in process memory — so that `npm install && npm run
// demo` works on a machine with neither, and with no network at all.
import { readFileSync } from 'node:fs'
import { PrismaPg } from '@prisma/adapter-pg'
import type { SqlDriverAdapterFactory } from '@prisma/driver-adapter-utils'
import { memoryStore, type CacheLocation } from '../src/index.ts'
import { resetDatabase } from '../scripts/db-reset.ts'

export interface Backends {
  readonly adapter: SqlDriverAdapterFactory
  readonly cache: CacheLocation
  /** One line saying what runs where. */
  readonly description: string
  close(): Promise<void>
}

const MIGRATION = new URL('../prisma/migrations/0001_init/migration.sql', import.meta.url)

export async function openBackends(env: NodeJS.ProcessEnv = process.env): Promise<Backends> {
  const databaseUrl = env.DATABASE_URL
  const redisUrl = env.REDIS_URL
  let adapter: SqlDriverAdapterFactory
  let database: string
  let closeDatabase = async () => {}
  if (databaseUrl) {
    await resetDatabase(databaseUrl) // the reference schema, empty
    adapter = new PrismaPg({ connectionString: databaseUrl })
    database = `PostgreSQL at ${new URL(databaseUrl).host}`
  } else {
    // Loaded only here: a run against the servers needs neither package.
    const { PGlite } = await import('@electric-sql/pglite')
    const { PrismaPGlite } = await import('pglite-prisma-adapter')
    const pglite = new PGlite()
    await pglite.exec(readFileSync(MIGRATION, 'utf8'))
    adapter = new PrismaPGlite(pglite)
    database = 'embedded PostgreSQL (PGlite, in memory; DATABASE_URL is not set)'
    closeDatabase = () => pglite.close()
  }
  const cache: CacheLocation = redisUrl ? { redis: redisUrl } : { store: memoryStore() }
  const where = redisUrl ? `Redis at ${new URL(redisUrl).host}` : 'the memory store (REDIS_URL is not set)'
  return { adapter, cache, description: `database: ${database}\ncache:    ${where}`, close: closeDatabase }
}
