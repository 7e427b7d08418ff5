// Test harness: a real PostgreSQL database per test file (cloned from the reference
// database that `npm run db:reset` builds) and a Redis prefix per client.
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { resetDatabase } from '../scripts/db-reset.ts'
import { Redis, type RedisOptions } from 'ioredis'
import { PrismaPg } from '@prisma/adapter-pg'
import { PrismaClient } from '../prisma/generated/client/client.ts'
import { datamodel } from '../prisma/generated/cacheops/index.ts'
import { cacheops, memoryStore, type CacheopsOptions, type MemoryStore } from '../src/index.ts'
import { scripts } from '../src/redis/scripts.ts'

export const DATABASE_URL = process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/cacheops_test'
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/0'
export { datamodel }

/**
 * The store the behavioural tests run on: Redis, or with CACHEOPS_STORE=memory the memory
 * store (vitest.config.ts runs the conformance files once per store). One memory store per
 * test file, shared by its clients as clients of one Redis share it.
 */
export const STORE: 'redis' | 'memory' = process.env.CACHEOPS_STORE === 'memory' ? 'memory' : 'redis'
const sharedMemoryStore: MemoryStore | undefined = STORE === 'memory' ? memoryStore() : undefined
/** What a client is configured with to use the store under test. */
export const storeConfig = (): { redis: string } | { store: MemoryStore } => (sharedMemoryStore ? { store: sharedMemoryStore } : { redis: REDIS_URL })

/**
 * Creates (or recreates) database `<DATABASE_URL's name>_<name>` with the reference
 * schema from the checked-in migration: every test file has its own, empty database.
 */
export async function freshDatabase(name: string): Promise<string> {
  const url = new URL(DATABASE_URL)
  // The memory-store run of a file gets its own database (both runs may go in parallel).
  const run = STORE === 'memory' ? '_mem' : ''
  url.pathname = `/${`${decodeURIComponent(url.pathname.slice(1))}_${name}${run}`.replace(/[^a-zA-Z0-9_]/g, '_')}`
  await resetDatabase(url.toString())
  return url.toString()
}

export interface TestClient {
  base: PrismaClient
  prisma: ReturnType<typeof makeCached>
  /** SQL statements run so far (reset with `sql.length = 0`). */
  sql: string[]
  prefix: string
  close(): Promise<void>
}

/** A client's config in tests: the store comes from storeConfig() unless `redis` is given. */
export type TestConfig = Partial<CacheopsOptions<typeof datamodel>> & { readonly redis?: string | RedisOptions | Redis; readonly store?: MemoryStore }

function makeCached(base: PrismaClient, config: TestConfig & { prefix: string }) {
  const { redis, store, ...options } = config
  const location = redis !== undefined ? { redis } : store !== undefined ? { store } : storeConfig()
  return base.$extends(cacheops({ datamodel, models: { '*': { ops: 'all', timeout: 300 } }, ...options, ...location }))
}

export function newPrefix(): string {
  return `cacheops-test:${randomBytes(4).toString('hex')}:`
}

/** A PrismaClient on `url` logging its SQL, extended with cacheops. */
export function testClient(url: string, config: TestConfig = {}): TestClient {
  const base = new PrismaClient({ adapter: new PrismaPg({ connectionString: url }), log: [{ emit: 'event', level: 'query' }] })
  const sql: string[] = []
  base.$on('query', (e) => sql.push(e.query))
  const prefix = config.prefix ?? newPrefix()
  const prisma = makeCached(base, { ...config, prefix })
  return {
    base,
    prisma,
    sql,
    prefix,
    async close() {
      await prisma.$cacheops.close()
      await base.$disconnect()
    },
  }
}

/**
 * Makes `redis` record every command it sends, by name: a script by its name
 * (`deleteConjKeys`, ...), any other command lower-case (`del`, `hget`, ...); with
 * `scriptsOnly`, scripts alone. The commands still run. Returns the list it appends to.
 */
export function recordCommands(redis: Redis, scriptsOnly = false): string[] {
  const sent: string[] = []
  const conn = redis as unknown as { sendCommand: (command: { name: string; args: unknown[] }, ...rest: unknown[]) => unknown }
  const send = conn.sendCommand.bind(redis)
  conn.sendCommand = (command, ...rest) => {
    if (command.name === 'evalsha') {
      const sha = String(command.args[0])
      sent.push(Object.entries(scripts).find(([, s]) => s.sha === sha)?.[0] ?? sha)
    } else if (!scriptsOnly) sent.push(command.name)
    return send(command, ...rest)
  }
  return sent
}

/** recordCommands of scripts alone (`invalidateRows`, `deleteConjKeys`, ...). */
export const recordScripts = (redis: Redis): string[] => recordCommands(redis, true)

/** A plain Redis connection for inspecting keys. */
export function rawRedis(): Redis {
  return new Redis(REDIS_URL)
}

export async function deleteKeys(redis: Redis, prefix: string): Promise<void> {
  const keys = await redis.keys(`${prefix}*`)
  if (keys.length) await redis.del(...keys)
}

/** True when `read` is answered from the cache (ran no SQL). */
export async function servedFromCache(t: TestClient, read: () => Promise<unknown>): Promise<boolean> {
  return (await countSql(t, read)).sql === 0
}

/** Runs `fn` and returns its value with the number of SQL statements it ran. */
export async function countSql<T>(t: TestClient, fn: () => Promise<T>): Promise<{ value: T; sql: number }> {
  const before = t.sql.length
  const value = await fn()
  return { value, sql: t.sql.length - before }
}

/**
 * The client with an extension inside cacheops that pauses the first `model.operation`
 * until `release()`: before its database query, or after it (between the database read and
 * the cache store). `paused` resolves when it is held. Used to interleave races exactly.
 */
export function pauseFirst(t: TestClient, model: string, operation: string, at: 'before' | 'after') {
  let armed = true
  let release!: () => void
  const gate = new Promise<void>((r) => (release = r))
  let reached!: () => void
  const paused = new Promise<void>((r) => (reached = r))
  const hold = async () => {
    if (!armed) return
    armed = false
    reached()
    await gate
  }
  const hook = async ({ args, query }: { args: unknown; query: (a: unknown) => Promise<unknown> }) => {
    if (at === 'before') await hold()
    const result = await query(args)
    if (at === 'after') await hold()
    return result
  }
  // Computed keys defeat Prisma's extension typing; the shape is checked at run time.
  const client = t.prisma.$extends({ query: { [model]: { [operation]: hook } } as never })
  return { client, paused, release }
}

/** A redis-server of a test's own on a spare loopback port (never the shared one). */
export interface ThrowawayRedis {
  readonly port: number
  readonly url: string
  readonly process: ChildProcess
  /** SIGKILL, resolved once it exited. */
  kill(): Promise<void>
}

/** Starts `redis-server` with no persistence (unless `args` say otherwise) and waits for PING. */
export async function startThrowawayRedis(port: number, args: readonly string[] = []): Promise<ThrowawayRedis> {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...args], { stdio: 'ignore' })
  const url = `redis://127.0.0.1:${port}/0`
  const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => 50 })
  probe.on('error', () => {}) // refused until the server is up
  for (let i = 0; i < 100 && !(await probe.ping().then(() => true, () => false)); i++) await new Promise((r) => setTimeout(r, 50))
  probe.disconnect()
  return {
    port,
    url,
    process: child,
    kill: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return
      const exited = new Promise((r) => child.once('exit', r))
      child.kill('SIGCONT')
      child.kill('SIGKILL')
      await exited
    },
  }
}

/** Reads of the fault tests' workload: per-author lists, a count, an include, an aggregate. */
export function workloadReads(p: TestClient['prisma'] | TestClient['base'], authors: readonly number[]): (() => Promise<unknown>)[] {
  return [
    ...authors.map((a) => async () => await p.post.findMany({ where: { authorId: a }, orderBy: { id: 'asc' } })),
    async () => await p.post.count({ where: { published: true } }),
    async () => await p.user.findMany({ include: { posts: { orderBy: { id: 'asc' } } }, orderBy: { id: 'asc' } }),
    async () => await p.post.aggregate({ _sum: { views: true } }),
  ]
}

/** How many workload reads through the cached client differ from the database now. */
export async function staleWorkloadReads(t: TestClient, authors: readonly number[]): Promise<number> {
  const text = (v: unknown) => JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? `${x}n` : x))
  const cached = workloadReads(t.prisma, authors)
  const fresh = workloadReads(t.base, authors)
  let stale = 0
  for (let i = 0; i < cached.length; i++) if (text(await cached[i]!()) !== text(await fresh[i]!())) stale++
  return stale
}
