// The peer library of the benchmark: prisma-extension-redis 5 (npm, MIT), configured as its
// README's Quick Start does: every read auto-cached, a write purging its model's auto-cached
// reads (`auto.invalidateOnWrite`), plus the settings this machine and the benchmark need
// (below). And a staleness count that runs the same scenario through any cached client.
//
// What the peer does, read from its dist/ (5.0.0):
// - a read: key `<prefix>:<Model>:op:<operation>:key:<hash of the args>`; a hit is one GET and a
//   JSON.parse; a miss runs the query, then MULTI SET + EXPIRE (awaited). Identical reads in
//   flight at once share one promise (and one result object).
// - a write (create/update/delete/upsert and their Many variants): the write, then a SCAN of the
//   whole Redis database with MATCH `<prefix>:<Model>:op:*` and UNLINK of what it finds.
//   Results of other models that embed the written one (include/select) are not invalidated
//   (its own docs say so; peerStaleness below measures it), nor anything after $executeRaw
//   (the hook is on model operations only). The purge runs after the write returns, apart from
//   it: a read missing meanwhile can store the old rows again, for ttl.
// - values go through JSON.stringify/JSON.parse: a hit returns DateTime as an ISO string,
//   Decimal as a string, Bytes as an object of indexes; a result holding a BigInt cannot be
//   stored at all (JSON.stringify throws; the peer reports it to onError, returns the database's
//   result and caches nothing; so in the reference schema any read returning a User row misses
//   every time).
import { Redis } from 'ioredis'
import { PrismaExtensionRedis, uncache } from 'prisma-extension-redis'

/** Anything `$extends` can be called on: a PrismaClient, or one already extended. */
interface Extendable {
  $extends: (...args: any[]) => any
}

/** Tools added to a peer client as `client.$peer` (as ours has `client.$cacheops`). */
export interface PeerApi {
  /** The peer's Redis connection (the peer never opens one itself: it uses the one given). */
  readonly redis: Redis
  /** Glob matching every key this client writes. */
  readonly keyPattern: string
  /** Errors the peer reported (cache reads and writes that failed), by message. */
  readonly errors: Map<string, number>
  /** Deletes every key of this client's prefix; returns how many. */
  flush(): Promise<number>
  /** Quits the Redis connection (the Prisma client itself is the caller's). */
  close(): Promise<void>
}

export interface PeerOptions {
  /** Time to live of an entry, seconds (the peer's `ttl`, for auto-cached reads too). */
  ttl?: number
  /** Called with every error the peer reports; by default, each distinct message is printed once. */
  onError?: (error: unknown) => void
}

/** The peer's keys for `prefix` start with `prefix` itself (with one ':' after it if it lacks one). */
export function peerKeyPrefix(prefix: string): string {
  return prefix.replace(/:+$/, '')
}

/**
 * `base` extended with prisma-extension-redis: all reads auto-cached for `ttl` (3600 s), no stale
 * window, a write to a model purging that model's auto-cached reads; its keys under `prefix`.
 * `$peer.close()` quits its Redis connection.
 */
export function peerClient<B extends Extendable>(base: B, redisUrl: string, prefix: string, options: PeerOptions = {}): B & { $peer: PeerApi } {
  const ttl = options.ttl ?? 3600
  const redis = new Redis(redisUrl)
  const errors = new Map<string, number>()
  const keyPrefix = peerKeyPrefix(prefix)
  const extension = PrismaExtensionRedis({
    config: {
      ttl,
      stale: 0, // no stale-while-revalidate: an entry is fresh until ttl, then gone
      // 'JSON' needs RedisJSON (Redis 8, Redis Stack, Dragonfly); the local Redis 7 has no module.
      type: 'STRING',
      auto: { invalidateOnWrite: true, ttl, stale: 0 },
      // The default case transformer (snake_case) would strip the ':' out of 'bench:peer:'
      // (keys 'benchpeer:post:op:find_unique:...'); this one keeps every part as it is, so the
      // keys start with the prefix given and are found by the bench's cleanup of its prefix.
      cacheKey: { prefix: keyPrefix, delimiter: ':', caseTransformer: (s: string) => s },
      onError: (error: unknown) => {
        const message = error instanceof Error ? error.message : String(error)
        const seen = errors.get(message) ?? 0
        errors.set(message, seen + 1)
        if (options.onError) options.onError(error)
        else if (seen === 0) console.error(`prisma-extension-redis (${keyPrefix}): ${message}`)
      },
    },
    client: redis,
  })
  const keyPattern = `${keyPrefix}:*`
  const api: PeerApi = {
    redis,
    keyPattern,
    errors,
    flush: () => flushPeerKeys(redis, prefix),
    close: async () => {
      await redis.quit().catch(() => redis.disconnect())
    },
  }
  return base.$extends(extension).$extends({ client: { $peer: api } })
}

/** Deletes every key the peer wrote under `prefix` (SCAN + UNLINK, through the peer's own helper). */
export async function flushPeerKeys(redis: Redis, prefix: string): Promise<number> {
  const { deleted } = await uncache({ redis, uncacheKeys: [`${peerKeyPrefix(prefix)}:*`], hasPattern: true })
  return deleted
}

/** Closes a cached client, ours (`$cacheops`) or the peer's (`$peer`). */
export async function closeCachedClient(client: unknown): Promise<void> {
  const c = client as { $cacheops?: { close(): Promise<void> }; $peer?: { close(): Promise<void> } }
  if (c.$cacheops) await c.$cacheops.close()
  else if (c.$peer) await c.$peer.close()
}

// ---- staleness -----------------------------------------------------------------------------

/** What the staleness scenario calls on a client (any Prisma client, cached or not). */
export interface StalenessClient {
  category: { findUnique(args: any): Promise<any> }
  post: { update(args: any): Promise<any> }
}
/** The plain client: it creates the scenario's rows and gives the database's answers. */
export interface StalenessBase extends StalenessClient {
  user: { create(args: any): Promise<{ id: number }>; delete(args: any): Promise<unknown> }
  category: StalenessClient['category'] & { createManyAndReturn(args: any): Promise<{ id: number; title: string }[]>; deleteMany(args: any): Promise<unknown> }
  post: StalenessClient['post'] & { createManyAndReturn(args: any): Promise<{ id: number; title: string }[]> }
}

export interface StalenessOptions {
  /** Statements the base client has run so far (e.g. counted with `$on('query')`): checks each trial's category was cached before the write. */
  queries?: () => number
  /** Deletes the rows it created, through the base client, at the end (default true). */
  cleanup?: boolean
}

export interface StalenessResult {
  trials: number
  /** Reads after the write whose answer differed from the database's. */
  stale: number
  /** Trials whose category read was a hit before the write (only with `options.queries`). */
  cachedBeforeWrite?: number
}

/** A result as a string, for comparing: included posts in id order; BigInt as a string; Dates as ISO strings (as JSON puts them). */
function canonical(value: unknown): string {
  const v = value as { posts?: { id: number }[] } | null
  const sorted = v && Array.isArray(v.posts) ? { ...v, posts: [...v.posts].sort((a, b) => a.id - b.id) } : v
  return JSON.stringify(sorted, (_, x) => (typeof x === 'bigint' ? x.toString() : x))
}

/**
 * How often a cached client serves a stale Category + its posts after a post moves into it:
 * per trial, read `category.findUnique({ include: { posts: true } })` through the cached client
 * (twice: the second read should be a hit), move another post into the category with
 * `post.update` through the same client, read again through it and compare with the database.
 *
 * `cached` is a client or a function making one (then closed at the end). Every trial has two
 * categories and two posts of its own, under a user of its own, deleted at the end (`cleanup`).
 */
export async function peerStaleness(
  base: StalenessBase,
  cached: StalenessClient | (() => StalenessClient | Promise<StalenessClient>),
  trials: number,
  options: StalenessOptions = {},
): Promise<StalenessResult> {
  const tag = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`
  const user = await base.user.create({ data: { email: `staleness-${tag}@bench.io`, name: 'staleness' } })
  const categories = await base.category.createManyAndReturn({
    data: Array.from({ length: trials }, (_, t) => [{ title: `staleness ${tag} ${t} target` }, { title: `staleness ${tag} ${t} source` }]).flat(),
    select: { id: true, title: true },
  })
  const categoryId = new Map(categories.map((c) => [c.title, c.id]))
  const posts = await base.post.createManyAndReturn({
    data: Array.from({ length: trials }, (_, t) => [
      { title: `staleness ${tag} ${t} resident`, authorId: user.id, categoryId: categoryId.get(`staleness ${tag} ${t} target`) },
      { title: `staleness ${tag} ${t} mover`, authorId: user.id, categoryId: categoryId.get(`staleness ${tag} ${t} source`) },
    ]).flat(),
    select: { id: true, title: true },
  })
  const postId = new Map(posts.map((p) => [p.title, p.id]))

  const made = typeof cached === 'function'
  const client = made ? await cached() : cached
  let stale = 0
  let cachedBeforeWrite = 0
  try {
    for (let t = 0; t < trials; t++) {
      const target = categoryId.get(`staleness ${tag} ${t} target`)!
      const mover = postId.get(`staleness ${tag} ${t} mover`)!
      const read = { where: { id: target }, include: { posts: true } }
      await client.category.findUnique(read)
      const before = options.queries?.()
      await client.category.findUnique(read)
      if (before !== undefined && options.queries!() === before) cachedBeforeWrite++
      await client.post.update({ where: { id: mover }, data: { categoryId: target } })
      const served = await client.category.findUnique(read)
      const truth = await base.category.findUnique(read)
      if (canonical(served) !== canonical(truth)) stale++
    }
  } finally {
    if (made) await closeCachedClient(client)
    if (options.cleanup ?? true) {
      await base.user.delete({ where: { id: user.id } }) // its posts go with it (onDelete: Cascade)
      await base.category.deleteMany({ where: { id: { in: categories.map((c) => c.id) } } })
    }
  }
  return options.queries ? { trials, stale, cachedBeforeWrite } : { trials, stale }
}
