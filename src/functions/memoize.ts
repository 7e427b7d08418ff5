import { createHash } from 'node:crypto'
import { decodeResult } from '../codec/index.js'
import { CacheopsConfigError, CacheopsError } from '../errors.js'
import type { EventHub } from '../runtime/events.js'
import type { TxScope } from '../prisma/transactions.js'
import { canonicalArgs } from '../query/cacheKey.js'
import { LEASE_MARGIN_SECONDS, LOCK_MS, REFRESH_MS, type CacheStore, type Lease, type LeaseRequest } from '../store/types.js'
import { lookup, lookupWaitingForLock, refreshLeased, releaseLockOf, storeLeased, type EntryEnv, type EntryTarget } from '../runtime/leaseProtocol.js'
import { assertStaleWindow } from '../config/profiles.js'
import { DEFAULT_MAX_RESULT_BYTES } from '../config/schema.js'

/** Thrown by `peek()` when nothing is cached for those arguments. */
export class CacheMiss extends CacheopsError {
  override name = 'CacheMiss'
}

type ErrorClass = abstract new (...args: never[]) => Error

/** Options every memoized function takes (cachedAs adds its dependencies). */
export interface MemoizeOptions<A extends unknown[]> {
  /** Seconds a result lives at most. */
  readonly timeout?: number
  /** A stable name for the function, so keys survive redeploys (default: its source). */
  readonly key?: string
  /** Mixed into the key: a value, or a function of the arguments. */
  readonly extra?: unknown
  /** Entries can be dropped with `$cacheops.invalidateTags(...)`. */
  readonly tags?: readonly string[]
  /** What the key is built from, instead of the arguments themselves. */
  readonly argsRewrite?: (...args: A) => readonly unknown[]
  readonly onHit?: (args: A, value: unknown) => void
  readonly onMiss?: (args: A) => void
  /**
   * `false` makes the function a guard: it runs at most once per timeout for the same
   * arguments, and later calls return `true` without running it.
   */
  readonly storeResult?: boolean
  /** These exceptions are cached too, and re-thrown (as the same class) on a hit. */
  readonly cacheErrors?: readonly ErrorClass[]
  /**
   * cacheops' `keep_fresh`: never store a result whose dependencies were invalidated while
   * it was computed. Always the case here (leases), so only `true` is accepted; the option
   * exists so code ported from cacheops reads the same.
   */
  readonly keepFresh?: true
  /** On a miss, one caller (across processes) computes while the others wait for it. */
  readonly lock?: boolean
  /**
   * Seconds after `timeout` during which an expired (not invalidated) result is still
   * returned while one caller, across processes, recomputes it in the background.
   */
  readonly staleWhileRevalidate?: number
}

/** A memoized function: the function itself, plus what operations need. */
export interface MemoizedFunction<A extends unknown[], R> {
  (...args: A): Promise<R>
  /** Drops the entry for these arguments. */
  invalidate(...args: A): Promise<void>
  /** Computes and stores anew for these arguments. */
  refresh(...args: A): Promise<R>
  /** The cached value for these arguments, or a CacheMiss error; never computes. */
  peek(...args: A): Promise<R>
  /** The Redis key of these arguments (for debugging). */
  key(...args: A): string
}

/** What a memoizer needs of the cache around it. */
export interface MemoizeEnv {
  readonly store: CacheStore
  readonly report: (error: CacheopsError) => void
  /** Where hit/miss/store/skip events go (model `(function)`, operation: the function's name). */
  readonly events?: EventHub
  /** The dependencies every entry takes a lease on (models, conjunctions, tags). */
  readonly lease: LeaseRequest
  /** Current transaction scope, if any: after its first write, the cache is bypassed. */
  readonly scope?: () => TxScope | undefined
  /** True while an invalidation of a dependency could not reach Redis yet: bypass the cache. */
  readonly bypass?: () => boolean
  /** False: a failed cache lookup throws instead of running the function. */
  readonly degradeOnFailure?: boolean
  /** Larger encoded results are not stored (default DEFAULT_MAX_RESULT_BYTES). */
  readonly maxResultBytes?: number
}

/** A stored result: a value, or an error of one of the `cacheErrors` classes. */
type Stored = { v: unknown } | { e: { i: number; name: string; message: string; props: Record<string, unknown> } }

/** The `model` of events about memoized functions. */
export const FUNCTION_MODEL = '(function)'

/**
 * The memoization core behind `cachedAs` and `cached`: the same lease / store-if-fresh
 * protocol as cached queries, so a result computed while one of its dependencies was
 * invalidated is never stored (cacheops' keep_fresh, always on).
 */
export function memoize<A extends unknown[], R>(
  env: MemoizeEnv,
  fn: (...args: A) => R | PromiseLike<R>,
  options: MemoizeOptions<A> & { readonly timeout: number },
): MemoizedFunction<A, Awaited<R>> {
  if ((options as { keepFresh?: unknown }).keepFresh === false) {
    throw new CacheopsConfigError('prisma-cacheops: keepFresh: false is not supported: results computed during an invalidation are never stored', [{ path: 'keepFresh', message: 'only true' }])
  }
  if (options.staleWhileRevalidate !== undefined) assertStaleWindow(options.staleWhileRevalidate, 'staleWhileRevalidate')
  const stale = options.staleWhileRevalidate ?? 0
  const ttl = options.timeout + stale
  const identity = options.key ?? `source:${createHash('sha1').update(fn.toString()).digest('base64url')}`
  const name = options.key ?? (fn.name || 'anonymous')
  const emit = (type: 'hit' | 'miss', key: string, started: number) =>
    env.events?.emit({ type, model: FUNCTION_MODEL, operation: name, key, durationMs: performance.now() - started })
  /** What identifies the entry of these arguments (the store's key is made from it). */
  const hashOf = (args: A): string => {
    const keyArgs = options.argsRewrite ? options.argsRewrite(...args) : args
    const extra = typeof options.extra === 'function' ? (options.extra as (...a: A) => unknown)(...args) : options.extra
    const text = `fn\n${identity}\n${canonicalArgs(extra)}\n${canonicalArgs(keyArgs)}`
    return `f${createHash('sha1').update(text).digest('base64url')}`
  }
  const keyOf = (args: A): string => env.store.entryKey(hashOf(args))
  /**
   * Each entry depends on a stamp of its own besides the function's dependencies:
   * `invalidate(args)` deletes it, so a computation already running for those arguments
   * is not stored either (deleting the entry alone would let it land afterwards).
   */
  const ownStampOf = (hash: string): string => `#fn:${hash}`
  const unwrap = (stored: Stored): Awaited<R> => {
    if ('v' in stored) return stored.v as Awaited<R>
    const Cls = options.cacheErrors?.[stored.e.i] as unknown as new (message: string) => Error
    const err = Object.assign(new Cls(stored.e.message), stored.e.props)
    throw err
  }
  /** Runs the function: what to store, and what this call returns (or throws). */
  const compute = async (args: A): Promise<{ stored: Stored; outcome: Stored }> => {
    try {
      const value = await fn(...args)
      // A guard stores `true` and returns the function's own result this once.
      return { stored: { v: options.storeResult === false ? true : value }, outcome: { v: value } }
    } catch (err) {
      const i = options.cacheErrors?.findIndex((C) => err instanceof C) ?? -1
      if (i < 0 || !(err instanceof Error)) throw err
      const stored: Stored = { e: { i, name: err.name, message: err.message, props: { ...err } } }
      return { stored, outcome: stored }
    }
  }
  const entryEnv: EntryEnv = {
    store: env.store,
    report: env.report,
    degradeOnFailure: env.degradeOnFailure !== false,
    events: env.events,
    maxResultBytes: env.maxResultBytes ?? DEFAULT_MAX_RESULT_BYTES,
  }
  /** The entry of these arguments; `acceptStale`: served stale and refreshed (not inside a transaction). */
  const targetOf = (hash: string, acceptStale: boolean): EntryTarget => ({
    key: env.store.entryKey(hash),
    model: FUNCTION_MODEL,
    what: 'a memoized function',
    request: { ...env.lease, conjKeys: [...env.lease.conjKeys, ownStampOf(hash)] },
    leaseTtl: ttl + LEASE_MARGIN_SECONDS,
    refreshMs: acceptStale && stale > 0 ? REFRESH_MS : 0,
  })
  const decode = (payload: Buffer) => decodeResult(payload) as Stored
  const store = (target: EntryTarget, lease: Lease | undefined, stored: Stored, settled: () => void = () => {}): void => {
    if (!lease || env.scope?.()) return settled() // inside a transaction: never fill
    storeLeased(entryEnv, target, { lease, value: stored, ttl, freshSeconds: stale > 0 ? options.timeout : 0, settled })
  }

  const wrapper = async (...args: A): Promise<Awaited<R>> => {
    const scope = env.scope?.()
    if (scope?.wrote || env.bypass?.()) return await fn(...args)
    const started = performance.now()
    // Not inside a transaction: nothing could refresh a stale result after it ends.
    const target = targetOf(hashOf(args), !scope)
    const key = target.key
    const found = await lookupWaitingForLock(entryEnv, target, decode, options.lock ? LOCK_MS : 0)
    if (found.hit) {
      // A stale result this caller is to refresh: computed again after answering.
      if (found.refresh) refreshLeased(entryEnv, target, found.refresh, async () => ({ value: (await compute(args)).stored, ttl, freshSeconds: stale > 0 ? options.timeout : 0 }))
      emit('hit', key, started)
      options.onHit?.(args, 'v' in found.value ? found.value.v : undefined)
      return unwrap(found.value)
    }
    options.onMiss?.(args)
    let computed: Awaited<ReturnType<typeof compute>>
    try {
      computed = await compute(args)
    } catch (err) {
      releaseLockOf(entryEnv, target, found.lease) // the waiters compute themselves at once
      throw err
    }
    const { stored, outcome } = computed
    emit('miss', key, started)
    store(target, found.lease, stored, () => releaseLockOf(entryEnv, target, found.lease))
    return unwrap(outcome)
  }
  return Object.assign(wrapper, {
    async invalidate(...args: A) {
      const hash = hashOf(args)
      await env.store.invalidateStamps([ownStampOf(hash)])
      await env.store.deleteEntries([env.store.entryKey(hash)])
    },
    async refresh(...args: A): Promise<Awaited<R>> {
      const hash = hashOf(args)
      const target = targetOf(hash, false)
      // Older computations of these arguments still running are not stored after this one.
      await env.store.invalidateStamps([ownStampOf(hash)])
      await env.store.deleteEntries([target.key])
      const found = await lookup(entryEnv, target, decode)
      const { stored, outcome } = await compute(args)
      if (!found.hit) store(target, found.lease, stored)
      return unwrap(outcome)
    },
    async peek(...args: A): Promise<Awaited<R>> {
      const target = targetOf(hashOf(args), false)
      const found = await lookup(entryEnv, target, decode)
      if (!found.hit) throw new CacheMiss(`prisma-cacheops: nothing cached under ${target.key}`)
      return unwrap(found.value)
    },
    key: (...args: A) => keyOf(args),
  })
}
