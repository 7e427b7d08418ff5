import type { Redis } from 'ioredis'
import type { ParsedConfig } from '../config/schema.js'
import type { ModelInfo } from '../datamodel/types.js'
import { CacheopsError, CacheopsRedisError, message } from '../errors.js'
import type { Invalidation } from '../prisma/transactions.js'
import { DEFAULT_DNF_OPTIONS, type DnfOptions } from '../query/dnf.js'
import { RedisStore } from '../redis/store.js'
import type { BegunWrite, CacheStore, UpdateTransform } from '../store/types.js'
import { boundTagsKeyOf, tagKeyOf } from '../query/dependencies.js'
import { EventHub } from './events.js'
import { NearCache } from './nearCache.js'
import { Tracking } from '../redis/tracking.js'
import { PreparedReads } from './preparedReads.js'
import type { EntryEnv } from './leaseProtocol.js'

/** Retry delays of invalidations that could not reach Redis (doubling up to the max). */
const RETRY_MIN_MS = 100
const RETRY_MAX_MS = 5_000

/** The cache itself: read path, write path and invalidation, independent of Prisma's hook API. */
export class CacheopsRuntime {
  readonly store: CacheStore
  readonly dnfOptions: DnfOptions
  readonly events: EventHub
  /** Misses being computed in this process, by entry key (see readPath.ts, single-flight). */
  readonly inFlight = new Map<string, Promise<Buffer | undefined>>()
  /** Entry keys and dependencies of reads, per query (readPath.ts). */
  readonly prepared: PreparedReads
  /**
   * The near cache and the Redis client tracking that keeps it coherent (config nearCache;
   * Redis store only): a layer in front of the store.
   */
  readonly near: { readonly cache: NearCache; readonly tracking: Tracking; readonly store: RedisStore; readonly maxStaleMs: number | undefined } | undefined
  private nearTimer: NodeJS.Timeout | undefined
  /** What the lease protocol (leaseProtocol.ts) needs: the store, reporting, events, limits. */
  readonly entryEnv: EntryEnv

  constructor(readonly config: ParsedConfig, readonly notFoundError: (model: string) => Error) {
    this.events = new EventHub(config.onEvent)
    // A restarted Redis may have come back from a snapshot older than some invalidations.
    const onRestart = () => this.events.emit({ type: 'invalidate', model: undefined, cause: 'Redis restart', rows: 0, modelWide: Object.keys(config.datamodel.models), tags: [] })
    const redisStore = config.store ? undefined : RedisStore.open(config.redis!, config.prefix, onRestart)
    this.store = config.store ? config.store.forPrefix(config.prefix) : redisStore!
    this.entryEnv = { store: this.store, report: (e) => this.report(e), degradeOnFailure: config.degradeOnFailure, events: this.events, maxResultBytes: config.maxResultBytes }
    this.dnfOptions = { ...DEFAULT_DNF_OPTIONS, maxInValues: config.maxInValues }
    this.prepared = new PreparedReads(config.datamodel, this.dnfOptions, Object.keys(config.boundTags))
    this.views = new Set(Object.values(config.datamodel.models).filter((m) => m.isView).map((m) => m.name))
    const near = config.nearCache
    if (near && redisStore) {
      const cache = new NearCache(near)
      const tracking = new Tracking(redisStore.redis as Redis, (keys) => cache.invalidateKeys(keys), () => cache.clear())
      this.near = { cache, tracking, store: redisStore, maxStaleMs: near.maxStaleMs }
      // Bounded mode: the channel proves itself alive by a PING well within the bound.
      if (near.maxStaleMs !== undefined) {
        this.nearTimer = setInterval(() => void (tracking.live ? tracking.fence().catch(() => {}) : tracking.start().catch(() => {})), Math.max(5, near.maxStaleMs / 4))
        this.nearTimer.unref()
      }
    } else this.near = undefined
  }

  /**
   * Whether a near entry may be served now without a fence (bounded mode: the channel
   * proved alive within maxStaleMs); strict mode always fences. Starts tracking if it is
   * not live (meanwhile nothing is served from, or filled into, the near cache).
   */
  nearReady(): boolean {
    const near = this.near
    if (!near) return false
    if (!near.tracking.live) {
      near.tracking.start().catch(() => {})
      return false
    }
    return true
  }

  /** What this process's own invalidation changes goes from the near cache at once. */
  private dropNear(inv: Invalidation): void {
    const near = this.near?.cache
    if (!near) return
    near.dropModels(inv.model !== undefined ? [inv.model, ...inv.modelWide] : inv.modelWide)
    if (inv.tags?.length) near.invalidateKeys(inv.tags.map((t) => this.near!.store.conjStampKey(tagKeyOf(t))))
  }

  /** Tags bound to `model` for these rows (config `tags`); a throwing function is reported. */
  boundTags(model: string, rows: readonly Record<string, unknown>[]): { tags: string[]; unknown: boolean } {
    const fn = this.config.boundTags[model]
    if (!fn || rows.length === 0) return { tags: [], unknown: false }
    const tags = new Set<string>()
    try {
      for (const row of rows) for (const tag of fn(row)) tags.add(tag)
      return { tags: [...tags], unknown: false }
    } catch (err) {
      this.report(new CacheopsError(`prisma-cacheops: tags function of ${model} threw: ${message(err)}`))
      return { tags: [], unknown: true }
    }
  }

  /** Models that are views (never cached: what changes their rows is not in the datamodel). */
  readonly views: ReadonlySet<string> = new Set()

  /** Whether reads and writes of `model` must carry full rows for bound tags. */
  hasBoundTags(model: string): boolean {
    return this.config.boundTags[model] !== undefined
  }

  model(name: string): ModelInfo {
    const m = this.config.datamodel.models[name]
    if (!m) throw new CacheopsError(`prisma-cacheops: unknown model "${name}"`)
    return m
  }

  /** Schemes of the model's cached reads (see CacheStore.beginWrite); undefined if the store failed. */
  async beginWrite(model: string, guard: boolean, transform?: UpdateTransform): Promise<BegunWrite | undefined> {
    try {
      return await this.store.beginWrite(model, guard, transform)
    } catch (err) {
      this.report(new CacheopsRedisError(`cache write preparation failed for ${model}: ${message(err)}`, 'invalidate', model, err))
      return undefined
    }
  }

  /**
   * Applies invalidations; a Redis failure is reported, never thrown at the writer. The near
   * cache drops what they change before and after Redis does (a fill racing the write).
   */
  async invalidate(inv: Invalidation): Promise<void> {
    this.dropNear(inv)
    try {
      await this.invalidateInStore(inv)
    } finally {
      this.dropNear(inv)
    }
  }

  private async invalidateInStore(inv: Invalidation): Promise<void> {
    try {
      // Tags, and the bound-tags stamp of models whose changed rows are not all known.
      const bound = this.config.boundTags
      const unknownBound = [...inv.modelWide, ...(inv.boundTagsUnknown ?? [])].filter((m) => bound[m])
      if (inv.tags?.length || unknownBound.length > 0) {
        await this.store.invalidateStamps([...(inv.tags ?? []).map(tagKeyOf), ...new Set(unknownBound.map(boundTagsKeyOf))])
      }
      if (inv.modelWide.length > 0) await this.store.invalidateModels(inv.modelWide)
      if (inv.model !== undefined) {
        const whole = inv.modelWide.includes(inv.model)
        // Even when the model went whole, a raised write-in-progress counter must come down.
        if (!whole) {
          const { seenSchemes, endWrite, endTransform, changedFields, transformsAtStart } = inv
          await this.store.invalidateRows(inv.model, inv.rows, { seenSchemes, endWrite, endTransform, changedFields, transformsAtStart })
        } else if (inv.endWrite || inv.endTransform) {
          await this.store.invalidateRows(inv.model, [], { endWrite: inv.endWrite, endTransform: inv.endTransform })
        }
      }
      this.events.emit({ type: 'invalidate', model: inv.model, cause: inv.cause, rows: inv.rows.length, modelWide: inv.modelWide, tags: inv.tags ?? [] })
    } catch (err) {
      this.report(new CacheopsRedisError(`invalidation after ${inv.cause} failed: ${message(err)}`, 'invalidate', inv.model, err))
      const coarse = coarseFormOf(inv)
      // Redis answered with an error (OOM, a script error): it is up, and plain DELs are
      // accepted even when out of memory, so the coarse form goes at once instead of
      // leaving other processes a retry delay in which to serve what this write changed.
      if (err instanceof Error && err.name === 'ReplyError') {
        try {
          await this.applyCoarse(coarse)
          this.events.emit({ type: 'invalidate', model: undefined, cause: coarse.cause, rows: 0, modelWide: coarse.modelWide, tags: coarse.tags ?? [] })
          return
        } catch {
          // kept and retried below
        }
      }
      this.retryLater(coarse)
    }
  }

  /** Drops what the coarse form of an invalidation names: its models whole, its tags. */
  private async applyCoarse(inv: Invalidation): Promise<void> {
    await this.store.invalidateStamps([...(inv.tags ?? []).map(tagKeyOf), ...inv.modelWide.filter((m) => this.config.boundTags[m]).map(boundTagsKeyOf)])
    await this.store.invalidateModels(inv.modelWide)
  }

  /**
   * Models (and tags) with an invalidation that could not reach Redis yet: until it has,
   * this process reads them from the database only (readPath.ts).
   */
  readonly pendingModels = new Map<string, number>()
  pendingTags = 0
  private readonly retries: Invalidation[] = []
  get pendingInvalidations(): number {
    return this.retries.length
  }
  private retryTimer: NodeJS.Timeout | undefined
  private retryDelay = RETRY_MIN_MS

  /**
   * Keeps a failed invalidation (in its coarse form, see coarseFormOf) and retries it
   * until Redis takes it.
   */
  private retryLater(retry: Invalidation): void {
    for (const m of retry.modelWide) this.pendingModels.set(m, (this.pendingModels.get(m) ?? 0) + 1)
    if (retry.tags?.length) this.pendingTags++
    this.retries.push(retry)
    this.scheduleRetry()
  }

  private scheduleRetry(): void {
    if (this.retryTimer || this.retries.length === 0) return
    this.retryTimer = setTimeout(() => void this.runRetries(), this.retryDelay)
    this.retryTimer.unref()
  }

  /** Retries every kept invalidation once, in order; stops at the first failure. */
  async runRetries(): Promise<void> {
    this.retryTimer = undefined
    while (this.retries.length > 0) {
      const inv = this.retries[0]!
      try {
        await this.applyCoarse(inv)
      } catch {
        this.retryDelay = Math.min(this.retryDelay * 2, RETRY_MAX_MS)
        this.scheduleRetry()
        return
      }
      this.retries.shift()
      for (const m of inv.modelWide) {
        const n = (this.pendingModels.get(m) ?? 1) - 1
        if (n <= 0) this.pendingModels.delete(m)
        else this.pendingModels.set(m, n)
      }
      if (inv.tags?.length) this.pendingTags--
      this.events.emit({ type: 'invalidate', model: undefined, cause: inv.cause, rows: 0, modelWide: inv.modelWide, tags: inv.tags ?? [] })
    }
    this.retryDelay = RETRY_MIN_MS
  }

  async flush(pending: readonly Invalidation[]): Promise<void> {
    for (const inv of pending) await this.invalidate(inv)
  }

  report(error: CacheopsError): void {
    this.events.emit({ type: 'error', error })
    try {
      this.config.onError(error)
    } catch {
      // A throwing error handler must not turn a cache problem into a failed query.
    }
  }

  async close(): Promise<void> {
    if (this.retryTimer) clearTimeout(this.retryTimer)
    if (this.retries.length > 0) await this.runRetries() // a last try; what still fails is reported already
    if (this.retryTimer) clearTimeout(this.retryTimer)
    if (this.nearTimer) clearInterval(this.nearTimer)
    if (this.near) {
      await this.near.tracking.close()
      this.near.cache.clear()
    }
    await this.store.close()
  }
}

/**
 * The coarse, repeatable form of an invalidation (its models whole, its tags), used when
 * the exact one failed: that may have half happened, and a guard counter must not come
 * down twice.
 */
function coarseFormOf(inv: Invalidation): Invalidation {
  const models = [...new Set([...(inv.model !== undefined ? [inv.model] : []), ...inv.modelWide])]
  return { model: undefined, rows: [], modelWide: models, tags: inv.tags, cause: `retry of ${inv.cause}` }
}
