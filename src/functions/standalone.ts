import { Redis } from 'ioredis'
import { assertTags } from '../config/profiles.js'
import { redisConnectionIssue } from '../config/schema.js'
import { CacheopsConfigError, type CacheopsError } from '../errors.js'
import { tagKeyOf } from '../query/dependencies.js'
import { CacheStore } from '../redis/store.js'
import { memoize, type MemoizeOptions, type MemoizedFunction } from './memoize.js'

export interface StandaloneCachedOptions<A extends unknown[]> extends MemoizeOptions<A> {
  /** An ioredis client (used as is), or a URL (one connection per URL, kept for the process). */
  readonly redis: Redis | string
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
  const connection = redisConnectionIssue(options.redis)
  if (connection) throw new CacheopsConfigError(`prisma-cacheops: cached(): ${connection.path}: ${connection.message}`, [connection])
  let redis = options.redis
  if (typeof redis === 'string') {
    const url = redis
    redis = byUrl.get(url) ?? new Redis(url, { maxRetriesPerRequest: 1, connectTimeout: 2000 }) // deadlines: CacheStore
    if (!byUrl.has(url)) {
      redis.on('error', () => {})
      byUrl.set(url, redis)
    }
  }
  const store = new CacheStore(redis, options.prefix ?? 'cacheops:')
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
