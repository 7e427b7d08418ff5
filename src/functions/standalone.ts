import { Redis } from 'ioredis'
import { assertTags } from '../config/profiles.js'
import { redisConnectionIssue } from '../config/schema.js'
import { CacheopsConfigError, type CacheopsError } from '../errors.js'
import { tagKeyOf } from '../query/dependencies.js'
import { RedisStore } from '../redis/store.js'
import { MemoryStore } from '../store/memory.js'
import type { CacheStore } from '../store/types.js'
import { memoize, type MemoizeOptions, type MemoizedFunction } from './memoize.js'

export type StandaloneCachedOptions<A extends unknown[]> = StandaloneOptions<A> &
  (
    | {
        /** An ioredis client (used as is), or a URL (one connection per URL, kept for the process). */
        readonly redis: Redis | string
        readonly store?: undefined
      }
    | {
        /** A store made by `memoryStore()` (this process only). */
        readonly store: MemoryStore
        readonly redis?: undefined
      }
  )

interface StandaloneOptions<A extends unknown[]> extends MemoizeOptions<A> {
  readonly timeout: number
  /** Key prefix (default `cacheops:`); use the same as your `cacheops()` to share tags. */
  readonly prefix?: string
  /** Redis failures the cache recovered from (the function then just runs). Default: console.warn. */
  readonly onError?: (error: CacheopsError) => void
  /** Larger encoded results are not stored (default 4 MiB). */
  readonly maxResultBytes?: number
}

const byUrl = new Map<string, Redis>()

/**
 * Time-based memoization with nothing but Redis (no Prisma): the same options and methods
 * as `prisma.$cacheops.cached`.
 */
export function cached<A extends unknown[], R>(fn: (...args: A) => R | PromiseLike<R>, options: StandaloneCachedOptions<A>): MemoizedFunction<A, Awaited<R>> {
  if (!(Number.isInteger(options.timeout) && options.timeout > 0)) {
    throw new CacheopsConfigError(`prisma-cacheops: cached() needs a positive whole number of seconds as timeout, got ${String(options.timeout)}`, [{ path: 'timeout', message: 'must be positive' }])
  }
  if (options.tags !== undefined) assertTags(options.tags)
  const store = storeOf(options)
  const tags = [...new Set(options.tags ?? [])].sort()
  return memoize(
    {
      store,
      report: options.onError ?? ((e) => console.warn(`[prisma-cacheops] ${e.message}`)),
      lease: { models: [], conjKeys: tags.map(tagKeyOf), checkOnlyKeys: [] },
      ...(options.maxResultBytes !== undefined ? { maxResultBytes: options.maxResultBytes } : {}),
    },
    fn,
    options,
  )
}

/** The store a standalone cached() speaks to: exactly one of `redis` and `store`. */
function storeOf(options: { readonly redis?: Redis | string; readonly store?: MemoryStore; readonly prefix?: string }): CacheStore {
  const prefix = options.prefix ?? 'cacheops:'
  if ((options.redis === undefined) === (options.store === undefined)) {
    throw new CacheopsConfigError('prisma-cacheops: cached() needs exactly one of `redis` (a Redis URL or client) and `store` (memoryStore())', [{ path: 'redis', message: 'exactly one of redis and store' }])
  }
  if (options.store !== undefined) {
    if (!(options.store instanceof MemoryStore)) throw new CacheopsConfigError('prisma-cacheops: cached(): store must be made by memoryStore()', [{ path: 'store', message: 'not a memoryStore()' }])
    return options.store.forPrefix(prefix)
  }
  const connection = redisConnectionIssue(options.redis)
  if (connection) throw new CacheopsConfigError(`prisma-cacheops: cached(): ${connection.path}: ${connection.message}`, [connection])
  let redis = options.redis!
  if (typeof redis === 'string') {
    const url = redis
    redis = byUrl.get(url) ?? new Redis(url, { maxRetriesPerRequest: 1, connectTimeout: 2000 }) // deadlines: RedisStore
    if (!byUrl.has(url)) {
      redis.on('error', () => {})
      byUrl.set(url, redis)
    }
  }
  return new RedisStore(redis, prefix)
}
