import { z } from 'zod'
import type { Redis, RedisOptions } from 'ioredis'
import type { CacheopsDatamodel } from '../datamodel/types.js'
import { CacheopsConfigError, type CacheopsError } from '../errors.js'
import type { CacheopsEvent } from '../runtime/events.js'
import { MemoryStore } from '../store/memory.js'

/** Prisma read operations that can be cached (the `OrThrow` forms follow their base op). */
export const READ_OPS = ['findUnique', 'findFirst', 'findMany', 'count', 'aggregate', 'groupBy'] as const
export type ReadOp = (typeof READ_OPS)[number]

export interface ModelProfile {
  /** Operations cached automatically; `'all'` for every read op; none: only `.cache()`. */
  readonly ops?: readonly ReadOp[] | 'all'
  /** Seconds an entry lives at most (invalidation usually removes it sooner). */
  readonly timeout: number
  /** On a miss, one caller (across processes) computes while the others wait for it. */
  readonly lock?: boolean
  /**
   * Seconds after `timeout` during which an entry that merely expired (no write
   * invalidated it) is still served while one caller, across processes, refreshes it in
   * the background. Invalidated entries are never served stale.
   */
  readonly staleWhileRevalidate?: number
}

export type ModelName<DM extends CacheopsDatamodel> = Extract<keyof DM['models'], string>

/**
 * Where the cache lives: exactly one of `redis` (shared by every process using it) and
 * `store` (`memoryStore()`: this process only).
 */
export type CacheLocation =
  | {
      /** A Redis URL, ioredis options, or an ioredis `Redis` instance (not closed by us). */
      readonly redis: string | RedisOptions | Redis
      readonly store?: undefined
    }
  | {
      /** `memoryStore()`: the cache in this process's memory (tests, scripts, one-process apps). */
      readonly store: MemoryStore
      readonly redis?: undefined
    }

export type CacheopsConfig<DM extends CacheopsDatamodel = CacheopsDatamodel> = CacheopsOptions<DM> & CacheLocation

export interface CacheopsOptions<DM extends CacheopsDatamodel = CacheopsDatamodel> {
  /** `datamodel` from the prisma-cacheops generator's output. */
  readonly datamodel: DM
  /** Prepended to every Redis key; entries under different prefixes never meet. */
  readonly prefix?: string
  /** Profiles per Prisma model name, or `'*'` for every model; `null` forbids caching. */
  readonly models?: { readonly [K in ModelName<DM> | '*']?: ModelProfile | null }
  /** `in` lists up to this length become exact dependencies; longer ones are model-wide. */
  readonly maxInValues?: number
  /**
   * Encoded results larger than this many bytes are not stored (reported as a `skip`
   * event with reason `too-large`, and in `stats().tooLarge`). Default 4 MiB.
   */
  readonly maxResultBytes?: number
  /** Called with every Redis failure the cache recovered from. Default: console.warn. */
  readonly onError?: (error: CacheopsError) => void
  /** Called with every cache event (hit, miss, store, skip, invalidate, error). */
  readonly onEvent?: (event: CacheopsEvent) => void
  /**
   * `true` (default): when Redis fails, reads go to the database. `false`: a read whose
   * cache lookup fails throws the CacheopsRedisError. Writes never fail because of Redis.
   */
  readonly degradeOnFailure?: boolean
  /**
   * `true` (default): a cached read's hit is answered at the model delegate, before
   * Prisma's per-call pipeline, whenever that gives exactly what the pipeline would (no
   * query extension registered before cacheops, no computed fields; see README). `false`:
   * every read goes through Prisma's query extension pipeline.
   */
  readonly fastPath?: boolean
  /**
   * An in-process cache in front of Redis for fast-path hits (`true`: the defaults). Entries
   * are filled from hits validated against Redis and kept coherent by Redis client tracking.
   * `consistency: 'strict'` (default) serves one only after a fence (a PING on the
   * invalidation connection) proves every invalidation of a write completed before the read
   * began has arrived: as exact as a Redis hit. `{ maxStaleMs }` serves without a round trip
   * while the invalidation channel has proven itself alive within that bound: another
   * process's write may be seen up to about that late (this process's own writes never).
   */
  readonly nearCache?: boolean | NearCacheOptions
  /**
   * Tags bound to models: whenever a row of the model changes, the tags this returns for
   * its old and new values are invalidated (e.g. `Post: (row) => [\`category:${row.categoryId}\`]`).
   * The row holds the model's scalar fields except Json, lists and `@updatedAt`.
   */
  readonly tags?: { readonly [K in ModelName<DM>]?: (row: Record<string, unknown>) => readonly string[] }
  /**
   * Which models a `$executeRaw`/`$executeRawUnsafe` statement writes, when you know
   * better than the built-in detection (tables named after INSERT INTO/UPDATE/DELETE
   * FROM/..., or every model when none can be told). Return `undefined` to keep it.
   */
  readonly rawSqlModels?: (sql: string) => readonly ModelName<DM>[] | 'all' | undefined
}

/** Redis handles values up to 512 MB, but large ones stall it (scripts copy them): 4 MiB. */
export const DEFAULT_MAX_RESULT_BYTES = 4 * 1024 * 1024

const opSchema = z.enum(READ_OPS)
const profileSchema = z
  .object({
    ops: z.union([z.literal('all'), z.array(opSchema)]).optional(),
    timeout: z.number({ error: 'timeout must be a number of seconds' }).int('timeout must be a whole number of seconds').positive('timeout must be positive'),
    lock: z.boolean().optional(),
    staleWhileRevalidate: z.number().int('staleWhileRevalidate must be a whole number of seconds').min(0, 'staleWhileRevalidate must not be negative').optional(),
  })
  .strict()

const GENERATOR_HINT =
  'datamodel is required: add `generator cacheops { provider = "prisma-cacheops-generator"; output = "./generated/cacheops" }` ' +
  'to schema.prisma, run `prisma generate`, and pass `datamodel` imported from that output'

const datamodelSchema = z.custom<CacheopsDatamodel>(
  (v) => typeof v === 'object' && v !== null && (v as { version?: unknown }).version === 1 && typeof (v as { models?: unknown }).models === 'object',
  { error: GENERATOR_HINT },
)

const isRedisClient = (v: unknown): boolean =>
  typeof v === 'object' && v !== null && typeof (v as { evalsha?: unknown }).evalsha === 'function'

/**
 * Connection settings that cannot work, found before anything is sent. Keys are built
 * inside Lua scripts from the prefix, where ioredis' `keyPrefix` does not reach: the DELs
 * sent from here would get it and those built in Lua would not, so invalidations would
 * miss. Cluster: one script call touches keys of many hash slots.
 */
export function redisConnectionIssue(redis: unknown): { path: string; message: string } | undefined {
  if (typeof redis !== 'object' || redis === null) return undefined
  if ((redis as { isCluster?: unknown }).isCluster === true) {
    return { path: 'redis', message: 'Redis Cluster is not supported yet (one script call touches keys of many hash slots); use a standalone Redis or a primary with replicas' }
  }
  const options = isRedisClient(redis) ? (redis as { options?: { keyPrefix?: unknown } }).options : (redis as { keyPrefix?: unknown })
  if (options?.keyPrefix) {
    return { path: 'redis.keyPrefix', message: `ioredis keyPrefix "${String(options.keyPrefix)}" is not supported (keys built inside Lua scripts would not get it); use the \`prefix\` option instead` }
  }
  return undefined
}

const configSchema = z
  .object({
    redis: z.union([
      z.string().min(1, 'redis URL must not be empty'),
      z.custom<Redis>(isRedisClient),
      z.object({}).passthrough(),
    ], { error: 'redis must be a URL string, ioredis options or an ioredis instance' }).optional(),
    store: z.custom<MemoryStore>((v) => v instanceof MemoryStore, { error: 'store must be made by memoryStore() (for Redis, give `redis` instead)' }).optional(),
    datamodel: datamodelSchema,
    prefix: z.string().optional(),
    models: z.record(z.string(), profileSchema.nullable()).optional(),
    maxInValues: z.number().int().min(0).optional(),
    maxResultBytes: z.number().int('maxResultBytes must be a whole number of bytes').positive('maxResultBytes must be positive').optional(),
    onError: z.function().optional(),
    rawSqlModels: z.function().optional(),
    onEvent: z.function().optional(),
    tags: z.record(z.string(), z.function()).optional(),
    degradeOnFailure: z.boolean().optional(),
    fastPath: z.boolean().optional(),
    nearCache: z
      .union([
        z.boolean(),
        z
          .object({
            maxEntries: z.number().int('maxEntries must be a whole number').positive('maxEntries must be positive').optional(),
            maxBytes: z.number().int('maxBytes must be a whole number of bytes').positive('maxBytes must be positive').optional(),
            consistency: z
              .union([z.literal('strict'), z.object({ maxStaleMs: z.number().positive('maxStaleMs must be positive').finite() }).strict()], {
                error: "consistency must be 'strict' or { maxStaleMs: number }",
              })
              .optional(),
          })
          .strict(),
      ], { error: 'nearCache must be true, false or { maxEntries?, maxBytes?, consistency? }' })
      .optional(),
  })
  .strict()
  .superRefine((cfg, ctx) => {
    if (cfg.redis !== undefined && cfg.store !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['store'], message: 'give either redis or store, not both' })
    } else if (cfg.redis === undefined && cfg.store === undefined) {
      ctx.addIssue({ code: 'custom', path: ['redis'], message: 'required: a Redis URL, ioredis options or client (or `store: memoryStore()` for a cache in process memory)' })
    }
    const connection = redisConnectionIssue(cfg.redis)
    if (connection) ctx.addIssue({ code: 'custom', path: connection.path.split('.'), message: connection.message })
    if (cfg.store !== undefined && cfg.nearCache) {
      ctx.addIssue({ code: 'custom', path: ['nearCache'], message: 'the near cache keeps Redis hits in process memory; with the memory store they are there already (leave nearCache off)' })
    }
    const known = cfg.datamodel && typeof cfg.datamodel === 'object' ? Object.keys(cfg.datamodel.models ?? {}) : []
    for (const name of Object.keys(cfg.models ?? {})) {
      if (name !== '*' && !known.includes(name)) {
        ctx.addIssue({ code: 'custom', path: ['models', name], message: `unknown model "${name}" (models: ${known.join(', ')})` })
      }
    }
    for (const name of Object.keys(cfg.tags ?? {})) {
      if (!known.includes(name)) ctx.addIssue({ code: 'custom', path: ['tags', name], message: `unknown model "${name}" (models: ${known.join(', ')})` })
    }
  })

export interface ParsedConfig {
  /** Exactly one of the two (checked). */
  readonly redis: string | RedisOptions | Redis | undefined
  readonly store: MemoryStore | undefined
  readonly datamodel: CacheopsDatamodel
  readonly prefix: string
  readonly models: Readonly<Record<string, ModelProfile | null>>
  readonly maxInValues: number
  readonly maxResultBytes: number
  readonly onError: (error: CacheopsError) => void
  readonly rawSqlModels: ((sql: string) => readonly string[] | 'all' | undefined) | undefined
  readonly onEvent: ((event: CacheopsEvent) => void) | undefined
  readonly boundTags: Readonly<Record<string, (row: Record<string, unknown>) => readonly string[]>>
  readonly degradeOnFailure: boolean
  readonly fastPath: boolean
  /** The near cache, when on. */
  readonly nearCache: { readonly maxEntries: number; readonly maxBytes: number; readonly maxStaleMs: number | undefined } | undefined
}

export interface NearCacheOptions {
  /** Entries kept at most (least recently used go first). Default 10,000. */
  readonly maxEntries?: number
  /** Bytes of payload kept at most. Default 64 MiB. */
  readonly maxBytes?: number
  /** `'strict'` (default), or `{ maxStaleMs }`: see `nearCache`. */
  readonly consistency?: 'strict' | { readonly maxStaleMs: number }
}

/** Validates a user config; throws CacheopsConfigError naming every bad path. */
export function parseConfig(input: unknown): ParsedConfig {
  const result = configSchema.safeParse(input)
  if (!result.success) {
    const issues = result.error.issues.flatMap((i) => flattenIssue(i, []))
    throw new CacheopsConfigError(
      `prisma-cacheops: invalid config: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`,
      issues,
    )
  }
  const cfg = result.data
  return {
    redis: cfg.redis as ParsedConfig['redis'],
    store: cfg.store,
    datamodel: cfg.datamodel,
    prefix: cfg.prefix ?? 'cacheops:',
    models: (cfg.models ?? {}) as Record<string, ModelProfile | null>,
    maxInValues: cfg.maxInValues ?? 8,
    maxResultBytes: cfg.maxResultBytes ?? DEFAULT_MAX_RESULT_BYTES,
    onError: (cfg.onError as ParsedConfig['onError'] | undefined) ?? ((e) => console.warn(`[prisma-cacheops] ${e.message}`)),
    rawSqlModels: cfg.rawSqlModels as ParsedConfig['rawSqlModels'],
    onEvent: cfg.onEvent as ParsedConfig['onEvent'],
    boundTags: (cfg.tags ?? {}) as ParsedConfig['boundTags'],
    degradeOnFailure: cfg.degradeOnFailure ?? true,
    fastPath: cfg.fastPath ?? true,
    nearCache: nearCacheOf(cfg.nearCache),
  }
}

function nearCacheOf(option: boolean | NearCacheOptions | undefined): ParsedConfig['nearCache'] {
  if (!option) return undefined
  const o: NearCacheOptions = option === true ? {} : option
  const consistency = o.consistency ?? 'strict'
  return { maxEntries: o.maxEntries ?? 10_000, maxBytes: o.maxBytes ?? 64 * 2 ** 20, maxStaleMs: consistency === 'strict' ? undefined : consistency.maxStaleMs }
}

type ZodIssueLike = { path: PropertyKey[]; message: string; code?: string; errors?: ZodIssueLike[][] }

/**
 * A union failure names only the union's path; the branch that got furthest (`ops: ['x']`
 * fails inside the array branch, at `ops.0`) says more, so report that one.
 */
function flattenIssue(issue: ZodIssueLike, base: PropertyKey[]): { path: string; message: string }[] {
  const path = [...base, ...issue.path]
  if (issue.code === 'invalid_union' && issue.errors && issue.errors.length > 0) {
    const depth = (branch: ZodIssueLike[]) => Math.max(...branch.map((i) => i.path.length))
    const best = [...issue.errors].sort((x, y) => depth(y) - depth(x))[0]
    if (best && best.length > 0 && depth(best) > 0) return best.flatMap((i) => flattenIssue(i, path))
  }
  return [{ path: path.map(String).join('.') || '(root)', message: issue.message }]
}
