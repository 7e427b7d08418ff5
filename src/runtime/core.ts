import { Redis, type Cluster } from 'ioredis'
import type { ParsedConfig } from '../config/schema.js'
import type { ModelInfo } from '../datamodel/types.js'
import { CacheopsError, CacheopsRedisError, message } from '../errors.js'
import type { Invalidation } from '../prisma/transactions.js'
import { conjKeysOfRows, MAX_APPLIED_TRANSFORMS, rowsUnderTransforms } from '../invalidation/conjKeys.js'
import { DEFAULT_DNF_OPTIONS, type DnfOptions } from '../query/dnf.js'
import { LockWaiter } from '../redis/lockWaiter.js'
import { CacheStore, type BegunWrite, type RegistryVersion, type UpdateTransform } from '../redis/store.js'
import { boundTagsKeyOf, tagKeyOf } from '../query/dependencies.js'
import { EventHub } from './events.js'
import { NearCache } from './nearCache.js'
import { Tracking } from '../redis/tracking.js'
import { PreparedReads } from './preparedReads.js'

/** Retry delays of invalidations that could not reach Redis (doubling up to the max). */
const RETRY_MIN_MS = 100
const RETRY_MAX_MS = 5_000

/** The cache itself: read path, write path and invalidation, independent of Prisma's hook API. */
export class CacheopsRuntime {
  readonly store: CacheStore
  readonly redis: Redis | Cluster
  private readonly ownsRedis: boolean
  readonly dnfOptions: DnfOptions
  readonly events: EventHub
  readonly locks: LockWaiter
  /** Misses being computed in this process, by entry key (see readPath.ts, single-flight). */
  readonly inFlight = new Map<string, Promise<Buffer | undefined>>()
  /** Entry keys and dependencies of reads, per query (readPath.ts). */
  readonly prepared: PreparedReads
  /** The near cache and the Redis client tracking that keeps it coherent (config nearCache). */
  readonly near: { readonly cache: NearCache; readonly tracking: Tracking; readonly maxStaleMs: number | undefined } | undefined
  private nearTimer: NodeJS.Timeout | undefined

  constructor(readonly config: ParsedConfig, readonly notFoundError: (model: string) => Error) {
    const r = config.redis
    if (typeof r === 'object' && r !== null && typeof (r as Redis).evalsha === 'function') {
      this.redis = r as Redis | Cluster
      this.ownsRedis = false
    } else {
      // Bounded failure: a dead Redis must not hold database writes hostage. No ioredis
      // commandTimeout: CacheStore gives every command a deadline more cheaply.
      const defaults = { maxRetriesPerRequest: 1, connectTimeout: 2000 }
      this.redis = typeof r === 'string' ? new Redis(r, defaults) : new Redis({ ...defaults, ...(r as object) })
      this.ownsRedis = true
      this.redis.on('error', () => {}) // reported per command through onError instead
    }
    this.events = new EventHub(config.onEvent)
    // A restarted Redis may have come back from a snapshot older than some invalidations.
    this.store = new CacheStore(this.redis, config.prefix, () =>
      this.events.emit({ type: 'invalidate', model: undefined, cause: 'Redis restart', rows: 0, modelWide: Object.keys(config.datamodel.models), tags: [] }),
    )
    this.locks = new LockWaiter(this.store)
    this.dnfOptions = { ...DEFAULT_DNF_OPTIONS, maxInValues: config.maxInValues }
    this.prepared = new PreparedReads(config.datamodel, this.dnfOptions, Object.keys(config.boundTags))
    this.views = new Set(Object.values(config.datamodel.models).filter((m) => m.isView).map((m) => m.name))
    const near = config.nearCache
    if (near) {
      const cache = new NearCache(near)
      const tracking = new Tracking(this.redis as Redis, (keys) => cache.invalidateKeys(keys), () => cache.clear())
      this.near = { cache, tracking, maxStaleMs: near.maxStaleMs }
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
    if (inv.tags?.length) near.invalidateKeys(inv.tags.map((t) => this.store.conjStampKey(tagKeyOf(t))))
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

  /**
   * Schemes of each model's cached reads as this process last heard them from Redis. A
   * write that raises no guard uses them instead of asking (one round trip less): if a
   * scheme was registered since, invalidate_rows.lua sees one the writer did not and
   * invalidates the model whole, and we ask again next time. Extra schemes that are gone
   * from Redis only make pre-reads read a few more fields.
   */
  private readonly knownSchemes = new Map<string, readonly string[]>()

  /**
   * The registry version (registry_version.lua) each model's known schemes were learnt
   * with, no update transform active then: a write keyed by exactly those schemes deletes
   * its keys with a plain DEL and checks the version beside it. Absent: none known.
   */
  private readonly knownVersions = new Map<string, string | null>()

  /** A copy of the model's registered schemes, kept as the same array while it is the same. */
  private rememberSchemes(model: string, schemes: readonly string[], version: RegistryVersion): void {
    const known = this.knownSchemes.get(model)
    if (!known || known.length !== schemes.length || schemes.some((s) => !known.includes(s))) this.knownSchemes.set(model, schemes)
    if (version === undefined) this.knownVersions.delete(model)
    else this.knownVersions.set(model, version)
  }

  /** Schemes a lease of this process registered (see leaseRequestOf) keep the local copy current. */
  learnSchemes(model: string, schemes: readonly string[]): void {
    const known = this.knownSchemes.get(model)
    // A new array only when something is new: what writes derive from it is kept per array.
    // The registry has another version then, which the next write learns from its script.
    if (known && schemes.some((s) => !known.includes(s))) {
      this.knownSchemes.set(model, [...new Set([...known, ...schemes])])
      this.knownVersions.delete(model)
    }
  }

  /** Schemes of the model's cached reads (see begin_write.lua); undefined if Redis failed. */
  async beginWrite(model: string, guard: boolean, transform?: UpdateTransform): Promise<readonly string[] | undefined> {
    if (!guard && !transform) {
      const known = this.knownSchemes.get(model)
      if (known) return known
    }
    return (await this.beginWriteFully(model, guard, transform))?.schemes
  }

  /** beginWrite asking Redis, with the update transforms active (when `transform` is given). */
  async beginWriteFully(model: string, guard: boolean, transform?: UpdateTransform): Promise<BegunWrite | undefined> {
    try {
      const begun = await this.store.beginWrite(model, guard, transform)
      this.rememberSchemes(model, begun.schemes, begun.version)
      // The kept array: what is derived from a scheme list is memoized per array.
      return { ...begun, schemes: this.knownSchemes.get(model) ?? begun.schemes }
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
      await this.invalidateInRedis(inv)
    } finally {
      this.dropNear(inv)
    }
  }

  private async invalidateInRedis(inv: Invalidation): Promise<void> {
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
        if (!whole || inv.endWrite || inv.endTransform) {
          const rows = whole ? [] : inv.rows
          const seenSchemes = whole ? undefined : inv.seenSchemes
          // The keys are built here, with the rows under every update transform active (as
          // far as this process knows): an updateMany's own start tells, other writes go by
          // what was seen lately. Guards of nested writes end in the full script; so do
          // writes while many transforms are active (each one multiplies the keys).
          const known = inv.transformsAtStart ?? (inv.endWrite || inv.endTransform ? undefined : this.store.transformsToApply(inv.model))
          const transforms = known && known.length <= MAX_APPLIED_TRANSFORMS ? known : undefined
          // Rows with every field (created rows, read-back images) are keyed by the schemes
          // this process knows; Redis refuses the keys if the registry holds others.
          const keySchemes = seenSchemes ?? (rows.length > 0 ? this.knownSchemes.get(inv.model) : undefined)
          // Keyed by the schemes whose registry version this process knows: no script needed.
          const versionKnown = keySchemes !== undefined && keySchemes === this.knownSchemes.get(inv.model)
          // While a transform is active every scheme counts (it changes fields too).
          const images = keySchemes && transforms ? rowsUnderTransforms(rows, transforms) : null
          const keys = keySchemes && images ? conjKeysOfRows(inv.model, keySchemes, images, transforms!.length > 0 ? undefined : inv.changedFields) : null
          const done = await this.store.invalidateRows(inv.model, rows, {
            seenSchemes,
            endWrite: inv.endWrite,
            endTransform: inv.endTransform,
            changedFields: inv.changedFields,
            conjKeys: keys ?? undefined,
            keySchemes,
            transforms: keys ? transforms : undefined,
            version: versionKnown ? this.knownVersions.get(inv.model) : undefined,
          })
          // The full script ran: it tells what the registry holds now. Went whole, or our
          // copy of the schemes is out of date (a scheme we did not know, or one gone since
          // the registry was dropped and rebuilt): ask on the next write.
          if (done.registered) this.rememberSchemes(inv.model, done.registered, done.version)
          else if (done.schemesDiffer) {
            this.knownSchemes.delete(inv.model)
            this.knownVersions.delete(inv.model)
          } else if (keySchemes !== undefined && keys) this.rememberSchemes(inv.model, keySchemes, done.version)
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
    await this.locks.close()
    if (this.nearTimer) clearInterval(this.nearTimer)
    if (this.near) {
      await this.near.tracking.close()
      this.near.cache.clear()
    }
    if (this.ownsRedis) await this.redis.quit().catch(() => this.redis.disconnect())
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
