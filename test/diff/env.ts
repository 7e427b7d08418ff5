// A schema's test environment: the prepared schema, its two databases, the plain clients on
// A and B, and a cached client on A (a new one, with a new Redis prefix, per replay).
import { randomBytes } from 'node:crypto'
import { pathToFileURL } from 'node:url'
import { PrismaPg } from '@prisma/adapter-pg'
import { Redis } from 'ioredis'
import path from 'node:path'
import { REPO } from './prepare.ts'
import type { CacheopsDatamodel } from '../../src/datamodel/types.ts'
import { createDatabase, DbHandle } from './db.ts'
import type { AnyClient } from './exec.ts'
import { prepareSchema, type PreparedSchema } from './prepare.ts'

type Lib = typeof import('../../src/index.ts')
import { loadSchemaInfo, type SchemaInfo } from './schema.ts'

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/0'

type ClientClass = new (opts: { adapter: unknown }) => AnyClient & { $disconnect(): Promise<void>; $extends(ext: unknown): unknown }
type CachedClient = AnyClient & { $cacheops: { close(): Promise<void> } }

export interface DiffEnv {
  schema: PreparedSchema
  info: SchemaInfo
  plainA: AnyClient
  plainB: AnyClient
  dbA: DbHandle
  dbB: DbHandle
  /** A cached client on A with a fresh Redis prefix (the previous one is closed). */
  freshCached(): Promise<AnyClient>
  /** Empties both databases (identities restarted). */
  reset(): Promise<void>
  close(): Promise<void>
}

export interface EnvOptions {
  /** The library's entry module (default: the repository's src/index.ts), e.g. an older copy. */
  lib?: string
  /** Added to the database names, so that concurrent users of one schema do not collide. */
  dbTag?: string
}

export async function openEnv(schemaFile: string, o: EnvOptions = {}): Promise<DiffEnv> {
  const { cacheops } = (await import(pathToFileURL(path.resolve(o.lib ?? path.join(REPO, 'src/index.ts'))).href)) as Lib
  const schema = prepareSchema(schemaFile)
  const info = loadSchemaInfo(schema.dmmfJson)
  const base = `cacheops_diff_${schema.name}${o.dbTag ? `_${o.dbTag.replace(/[^a-zA-Z0-9_]/g, '_')}` : ''}`
  const urlA = await createDatabase(`${base}_a`, schema.sql)
  const urlB = await createDatabase(`${base}_b`, schema.sql)
  const { PrismaClient } = (await import(pathToFileURL(schema.clientModule).href)) as { PrismaClient: ClientClass }
  const { datamodel } = (await import(pathToFileURL(schema.datamodelModule).href)) as { datamodel: CacheopsDatamodel }
  const make = (url: string) => new PrismaClient({ adapter: new PrismaPg({ connectionString: url }) })
  const plainA = make(urlA)
  const plainB = make(urlB)
  const dbA = await DbHandle.open(urlA)
  const dbB = await DbHandle.open(urlB)
  const redis = new Redis(REDIS_URL)
  const prefixes: string[] = []
  let cached: CachedClient | undefined
  const dropCached = async () => {
    if (cached) await cached.$cacheops.close()
    cached = undefined
    const prefix = prefixes.pop()
    if (prefix) {
      let cursor = '0'
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000)
        cursor = next
        if (keys.length) await redis.del(...keys)
      } while (cursor !== '0')
    }
  }
  return {
    schema,
    info,
    plainA,
    plainB,
    dbA,
    dbB,
    async freshCached() {
      await dropCached()
      const prefix = `cacheops-diff:${schema.name}:${randomBytes(4).toString('hex')}:`
      prefixes.push(prefix)
      cached = plainA.$extends(cacheops({ redis: REDIS_URL, datamodel, models: { '*': { ops: 'all', timeout: 300 } }, prefix })) as CachedClient
      return cached
    },
    async reset() {
      await dbA.truncate()
      await dbB.truncate()
    },
    async close() {
      await dropCached()
      redis.disconnect()
      await dbA.close()
      await dbB.close()
      await (plainA as unknown as { $disconnect(): Promise<void> }).$disconnect()
      await (plainB as unknown as { $disconnect(): Promise<void> }).$disconnect()
    },
  }
}
