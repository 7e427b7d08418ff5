// The checker's world: the client every process builds, the small value domains reads and
// writes draw from (small, so reads repeat and hit the cache, and writes collide), the
// initial data, and the canonical form results are compared in.
import { PrismaPg } from '@prisma/adapter-pg'
import pg from 'pg'
import { Prisma, PrismaClient } from '../../prisma/generated/client/client.ts'
import { cacheops, type CacheopsError } from '../../src/index.ts'
import { datamodel, storeConfig } from '../helpers.ts'

/** One Prisma call as the application made it (below the cache: pre-image reads too). */
export interface TraceEntry {
  /** Start and end, ms since the epoch (comparable across processes). */
  t0: number
  t1: number
  model: string | undefined
  op: string
  args: unknown
  /** `ok`, or the error code. */
  outcome: string
}

export interface CheckerClient {
  /** Plain Prisma (traced), no cache: the sabotage switch's invalidation bypass. */
  base: ReturnType<typeof traced>
  /** The client under test: cacheops on top of `base`. */
  prisma: ReturnType<typeof withCache>
  /** Redis failures the cache recovered from (a lost invalidation explains a mismatch). */
  cacheErrors: string[]
  /** Calls since the last `trace.length = 0` while `tracing` is on. */
  trace: TraceEntry[]
  /** Simulated network latency (see LaggyPool); adjustable, e.g. off during checks. */
  latency: { ms: number }
  close(): Promise<void>
}

export const now = () => performance.timeOrigin + performance.now()

/**
 * Records every call (args by reference; serialized only if a mismatch is dumped). It is
 * applied before cacheops, so it sees what the application asked for, and also the
 * pre-image reads cacheops makes through the client below it.
 */
function traced(base: PrismaClient, trace: TraceEntry[], enabled: boolean) {
  // Off, it is not registered at all: a query extension before cacheops turns its fast path
  // off (src/prisma/fastPath.ts), and the checker must check the fast path too.
  if (!enabled) return base as unknown as ReturnType<typeof tracingClient>
  return tracingClient(base, trace)
}

function tracingClient(base: PrismaClient, trace: TraceEntry[]) {
  return base.$extends({
    name: 'checker-trace',
    query: {
      async $allOperations({ model, operation, args, query }) {
        const entry: TraceEntry = { t0: now(), t1: 0, model, op: operation, args, outcome: 'pending' }
        trace.push(entry)
        try {
          const result = await query(args)
          entry.outcome = 'ok'
          return result
        } catch (err) {
          entry.outcome = errorCode(err)
          throw err
        } finally {
          entry.t1 = now()
        }
      },
    },
  })
}

function withCache(client: ReturnType<typeof traced>, prefix: string, onError: (e: CacheopsError) => void, nearCache: boolean) {
  return client.$extends(cacheops({ ...storeConfig(), datamodel, prefix, onError, nearCache, models: { '*': { ops: 'all', timeout: 600 } } }))
}

/**
 * A pg pool that waits up to `latency.ms` (at random, half the time) before and after each
 * statement: network latency, which a local database lacks. It widens the windows races
 * live in — between a write's pre-image read and its UPDATE, a read's lease and its SELECT,
 * a commit and its invalidation — for every statement, cacheops' own included. (Applied
 * here, below Prisma, because a client extension stacked on top of cacheops breaks
 * `$transaction`.)
 */
class LaggyPool extends pg.Pool {
  constructor(config: pg.PoolConfig, private readonly latency: { ms: number }) {
    super(config)
  }

  private lag(): Promise<void> | undefined {
    const ms = this.latency.ms
    return ms > 0 && Math.random() < 0.5 ? new Promise((r) => setTimeout(r, Math.random() * ms)) : undefined
  }

  /** Promise-style statements of a checked-out client (transactions) get the delays too. */
  private wrap(client: pg.PoolClient): pg.PoolClient {
    const marked = client as pg.PoolClient & { laggy?: true }
    if (marked.laggy) return client
    marked.laggy = true
    const query = client.query.bind(client) as (...args: unknown[]) => unknown
    ;(client as unknown as { query: unknown }).query = (...args: unknown[]) => {
      if (typeof args[args.length - 1] === 'function') return query(...args) // callback style: pool.query's own
      return (async () => {
        await this.lag()
        const result = await query(...args)
        await this.lag()
        return result
      })()
    }
    return client
  }

  override connect(): Promise<pg.PoolClient>
  override connect(callback: (err: Error | undefined, client: pg.PoolClient | undefined, done: (release?: unknown) => void) => void): void
  override connect(callback?: (err: Error | undefined, client: pg.PoolClient | undefined, done: (release?: unknown) => void) => void): Promise<pg.PoolClient> | void {
    if (callback) return super.connect((err, client, done) => callback(err, client && this.wrap(client), done))
    return super.connect().then((client) => this.wrap(client))
  }

  override query(...args: unknown[]): never {
    const run = (super.query as (...a: unknown[]) => unknown).bind(this)
    if (typeof args[args.length - 1] === 'function') return run(...args) as never
    return (async () => {
      await this.lag()
      const result = await run(...args)
      await this.lag()
      return result
    })() as never
  }
}

export type Db = CheckerClient['prisma']

export function checkerClient(url: string, prefix: string, options: { trace?: boolean; latencyMs?: number; nearCache?: boolean } = {}): CheckerClient {
  const latency = { ms: options.latencyMs ?? 0 }
  const pool = new LaggyPool({ connectionString: url, max: 12 }, latency)
  pool.on('error', () => {}) // an idle connection dropped (e.g. the database being dropped at the end)
  const plain = new PrismaClient({ adapter: new PrismaPg(pool, { disposeExternalPool: true }) })
  const trace: TraceEntry[] = []
  const cacheErrors: string[] = []
  const base = traced(plain, trace, options.trace ?? false)
  const prisma = withCache(base, prefix, (e) => void (cacheErrors.length < 20 && cacheErrors.push(e.message)), options.nearCache ?? false)
  return {
    base,
    prisma,
    cacheErrors,
    trace,
    latency,
    async close() {
      await prisma.$cacheops.close()
      await plain.$disconnect()
    },
  }
}

// --- Domains -------------------------------------------------------------------------
// Users, posts, categories and tags always get explicit ids from these ranges (never the
// sequence), so a deleted row can come back under the same id and the same cached reads.
// Comments always use the sequence.

const span = (lo: number, hi: number) => Array.from({ length: hi - lo + 1 }, (_, i) => lo + i)

export const USERS = span(1, 8)
/** A user re-keyed away lives at this offset + its id until it is re-keyed back. */
export const SPARE_USER_OFFSET = 100
export const POSTS = span(1, 40)
/** Posts several workers and processes update at once (same row, same field). */
/** A post re-keyed away lives at this offset + its id until it is re-keyed back. */
export const SPARE_POST_OFFSET = 200
export const HOT_POSTS = [1, 2, 3]
/** The authors hot posts move between (few, so readers keep asking for the same ones). */
export const HOT_AUTHORS = [1, 2, 3]
export const COLD_POSTS = POSTS.filter((id) => !HOT_POSTS.includes(id))
export const CATEGORIES = span(1, 4)
export const TAGS = span(1, 5)
export const TITLES = span(0, 15).map((i) => `t${i}`)
export const VIEWS_GT = [0, 3, 10]
export const TENANTS = ['acme', 'globex']
export const SLUGS = ['a', 'b', 'c']
export const SETTING_KEYS = ['k0', 'k1', 'k2', 'k3']
export const ROLES = ['USER', 'ADMIN'] as const

/** A user's own address; `alt<k>` addresses are shared by all, so writes collide on them. */
export const emailOf = (userId: number) => `u${userId}@x.io`
export const EMAILS = [...USERS.map(emailOf), 'alt0@x.io', 'alt1@x.io']
export const hotTitle = (postId: number) => `hot-${postId}`

/** The starting data; written through the plain client before any process caches. */
export async function seedWorld(base: CheckerClient['base']): Promise<void> {
  for (const id of USERS) {
    await base.user.create({
      data: {
        id, email: emailOf(id), name: `user ${id}`, balance: new Prisma.Decimal(`${id}.50`), big: BigInt(id) * 1_000_000_000_000n,
        meta: { n: id }, profile: id % 2 ? { create: { bio: `bio ${id}` } } : undefined,
      },
    })
  }
  for (const id of CATEGORIES) await base.category.create({ data: { id, title: `cat-${id}` } })
  for (const id of TAGS) await base.tag.create({ data: { id, name: `tag-${id}` } })
  for (const id of POSTS) {
    if (id % 5 === 0) continue // leave gaps for creates
    const authorId = USERS[id % USERS.length]!
    await base.post.create({
      data: {
        id, authorId, title: HOT_POSTS.includes(id) ? hotTitle(id) : TITLES[Math.floor(id / USERS.length) % TITLES.length]!, published: id % 3 === 0,
        views: id % 7, categoryId: id % 4 ? CATEGORIES[id % CATEGORIES.length] : null,
        tags: { connect: TAGS.filter((t) => (id + t) % 3 === 0).map((t) => ({ id: t })) },
      },
    })
    if (id % 2 === 0) await base.comment.create({ data: { postId: id, authorId: USERS[(id + 3) % USERS.length]!, body: `c${id}` } })
  }
  for (const tenant of TENANTS) {
    for (const slug of SLUGS.slice(0, 2)) {
      await base.group.create({
        data: { tenant, slug, name: `${tenant}/${slug}`, members: { create: USERS.filter((u) => (u + slug.length + tenant.length) % 3 === 0).map((userId) => ({ userId })) } },
      })
    }
  }
  for (const key of SETTING_KEYS.slice(0, 2)) await base.setting.create({ data: { key, value: `${key}-0` } })
}

// --- Comparison ----------------------------------------------------------------------

/**
 * A result as text for exact comparison: every Prisma scalar type tagged (so 5n, '5' and 5
 * differ, and a Decimal compares by its digits), object keys sorted.
 */
export function canonical(value: unknown): string {
  return JSON.stringify(normalize(value))
}

function normalize(v: unknown): unknown {
  if (v === undefined) return { $undefined: true }
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return v
  if (typeof v === 'number') return Object.is(v, -0) ? { $num: '-0' } : Number.isFinite(v) ? v : { $num: String(v) }
  if (typeof v === 'bigint') return { $bigint: v.toString() }
  if (v instanceof Date) return { $date: Number.isNaN(v.getTime()) ? 'invalid' : v.toISOString() }
  if (v instanceof Uint8Array) return { $bytes: Buffer.from(v).toString('hex') }
  if (Prisma.Decimal.isDecimal(v)) return { $decimal: (v as Prisma.Decimal).toFixed() }
  if (Array.isArray(v)) return v.map(normalize)
  if (typeof v === 'object') {
    const out: Record<string, unknown> = {}
    for (const k of Object.keys(v).sort()) out[k] = normalize((v as Record<string, unknown>)[k])
    return out
  }
  return { $other: String(v) }
}

/** Prisma's error code, or the error's class name for errors without one. */
export function errorCode(err: unknown): string {
  const e = err as { code?: unknown; name?: unknown; constructor?: { name?: string } }
  if (typeof e?.code === 'string') return e.code
  if (typeof e?.name === 'string' && e.name !== 'Error') return e.name
  return e?.constructor?.name ?? typeof err
}
