import type { CacheopsError } from '../errors.js'

/** What the cache did, as `onEvent` / `$cacheops.on(type, listener)` report it. */
export type CacheopsEvent =
  /** `stale`: an expired entry served while it is refreshed (stale-while-revalidate). */
  | { readonly type: 'hit'; readonly model: string; readonly operation: string; readonly key: string; readonly durationMs: number; readonly stale?: true }
  /** A read that went to the database; durationMs includes the database. */
  | { readonly type: 'miss'; readonly model: string; readonly operation: string; readonly key: string; readonly durationMs: number }
  | { readonly type: 'store'; readonly model: string; readonly key: string }
  /**
   * A result not stored: `invalidated` when a write changed what it read while it was
   * computed (a lost race, cacheops issue 302), `unencodable` when it could not be encoded,
   * `too-large` when its encoding exceeded `maxResultBytes` (`bytes` says by how much).
   */
  | { readonly type: 'skip'; readonly model: string; readonly key: string; readonly reason: 'invalidated' | 'unencodable' | 'too-large'; readonly bytes?: number }
  /** An invalidation, with what caused it (`Post.update`, `$executeRaw`, `invalidateTags(home)`, ...). */
  | {
      readonly type: 'invalidate'
      readonly model: string | undefined
      readonly cause: string
      /** Row images invalidated granularly. */
      readonly rows: number
      /** Models invalidated as a whole. */
      readonly modelWide: readonly string[]
      readonly tags: readonly string[]
    }
  | { readonly type: 'error'; readonly error: CacheopsError }

export type CacheopsEventType = CacheopsEvent['type']
export type CacheopsEventOf<T extends CacheopsEventType> = Extract<CacheopsEvent, { type: T }>

/** Counters of one model, or of all of them. */
export interface CacheCounters {
  hits: number
  /** Hits on expired entries served while being refreshed (counted in `hits` too). */
  staleHits: number
  /** Hits answered before Prisma's per-call pipeline (the fast path; counted in `hits` too). */
  fastHits: number
  /** Hits answered from the near cache, in process memory (counted in `hits` and `fastHits` too). */
  nearHits: number
  misses: number
  stores: number
  /** Results not stored because a write invalidated them while they were computed. */
  skippedStores: number
  /** Results not stored because they exceeded `maxResultBytes`. */
  tooLarge: number
  invalidations: number
  errors: number
}

/** `prisma.$cacheops.stats()`: totals and per model, since the client was created. */
export interface CacheStats extends CacheCounters {
  readonly byModel: { readonly [model: string]: CacheCounters }
  /**
   * Invalidations that could not reach Redis yet and are being retried (meanwhile this
   * process reads their models from the database). 0 in a healthy system.
   */
  readonly pendingInvalidations: number
  /** Entries and payload bytes the near cache holds now (0 when it is off). */
  readonly nearEntries: number
  readonly nearBytes: number
}

const zero = (): CacheCounters => ({ hits: 0, staleHits: 0, fastHits: 0, nearHits: 0, misses: 0, stores: 0, skippedStores: 0, tooLarge: 0, invalidations: 0, errors: 0 })

/** Counts every event and hands it to the listeners; a throwing listener is ignored. */
export class EventHub {
  private readonly totals = zero()
  private readonly byModel = new Map<string, CacheCounters>()
  private readonly listeners = new Map<CacheopsEventType, Set<(e: CacheopsEvent) => void>>()

  constructor(private readonly onEvent: ((e: CacheopsEvent) => void) | undefined) {}

  /** Whether anyone listens: lets the hot path skip building events nobody reads. */
  get observed(): boolean {
    return this.onEvent !== undefined || this.listeners.size > 0
  }

  on<T extends CacheopsEventType>(type: T, listener: (e: CacheopsEventOf<T>) => void): () => void {
    const set = this.listeners.get(type) ?? new Set()
    set.add(listener as (e: CacheopsEvent) => void)
    this.listeners.set(type, set)
    return () => {
      set.delete(listener as (e: CacheopsEvent) => void)
      if (set.size === 0) this.listeners.delete(type)
    }
  }

  /** Counts without building an event (the hot path when nobody listens). */
  count(model: string | undefined, counter: keyof CacheCounters): void {
    this.totals[counter]++
    if (model === undefined) return
    let m = this.byModel.get(model)
    if (!m) this.byModel.set(model, (m = zero()))
    m[counter]++
  }

  emit(event: CacheopsEvent): void {
    const model = 'model' in event ? event.model : undefined
    switch (event.type) {
      case 'hit':
        this.count(model, 'hits')
        if (event.stale) this.count(model, 'staleHits')
        break
      case 'miss': this.count(model, 'misses'); break
      case 'store': this.count(model, 'stores'); break
      case 'skip':
        if (event.reason === 'invalidated') this.count(model, 'skippedStores')
        else if (event.reason === 'too-large') this.count(model, 'tooLarge')
        break
      case 'invalidate': this.count(model, 'invalidations'); break
      case 'error': this.count(event.error instanceof Error && 'model' in event.error ? (event.error as { model?: string }).model : undefined, 'errors'); break
    }
    this.deliver(event)
  }

  private deliver(event: CacheopsEvent): void {
    for (const listener of [this.onEvent, ...(this.listeners.get(event.type) ?? [])]) {
      if (!listener) continue
      try {
        listener(event)
      } catch {
        // An observer must not break the query it observes.
      }
    }
  }

  stats(): Omit<CacheStats, 'pendingInvalidations' | 'nearEntries' | 'nearBytes'> {
    return { ...this.totals, byModel: Object.fromEntries([...this.byModel].map(([k, v]) => [k, { ...v }])) }
  }
}
