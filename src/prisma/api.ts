import type { CacheopsDatamodel } from '../datamodel/types.js'
import type { CacheopsRuntime } from '../runtime/core.js'
import type { CacheStats, CacheopsEventOf, CacheopsEventType } from '../runtime/events.js'
import { rowValuesOf } from '../invalidation/writes.js'
import { assertTags, profileFor } from '../config/profiles.js'
import type { ParsedConfig } from '../config/schema.js'
import { CacheopsConfigError } from '../errors.js'
import { planOfDependencies, type CachedAsDependency } from '../functions/dependencies.js'
import { memoize, type MemoizeEnv, type MemoizeOptions, type MemoizedFunction } from '../functions/memoize.js'
import type { ReadPlan } from '../query/dependencies.js'
import { leaseRequestOf } from '../query/leaseRequest.js'
import { currentScope, withoutInvalidation } from './transactions.js'
import type { ModelName } from '../config/schema.js'

/** `prisma.$cacheops`: operations tools. */
export interface CacheopsApi<DM extends CacheopsDatamodel = CacheopsDatamodel> {
  /** Invalidates what depends on one row: pass the row, or any object with the model's fields. */
  invalidateObj(model: ModelName<DM>, obj: Record<string, unknown>): Promise<void>
  /** Invalidates every cached read that depends on the model in any way. */
  invalidateModel(model: ModelName<DM>): Promise<void>
  /** Deletes every key under this cache's prefix (other prefixes are untouched). */
  invalidateAll(): Promise<void>
  /**
   * Invalidates every entry cached with one of these tags (`.cache({ tags })`): O(1) per
   * tag. Inside `$transaction(async tx => …)` it runs after the commit (not on rollback).
   */
  invalidateTags(...tags: string[]): Promise<void>
  /** Counters since this client was created: totals and per model. */
  stats(): CacheStats
  /**
   * Runs `fn` without invalidating for the writes it makes (also inside transactions it
   * opens, and nested calls). **Dangerous**: cached reads those writes change stay until
   * they expire or you invalidate them — meant for migrations and backfills of data that
   * is not cached, or followed by `invalidateModel`/`invalidateAll`.
   */
  noInvalidation<T>(fn: () => T | PromiseLike<T>): Promise<T>
  /**
   * A function cached like queries: invalidated when its dependencies change (a model,
   * `{ model, where }`, `{ model, obj }`), and never storing a result computed while one
   * of them was invalidated. Timeout: `options.timeout`, else the smallest timeout of the
   * dependencies' profiles.
   */
  cachedAs<A extends unknown[], R>(
    dependencies: readonly CachedAsDependency<DM>[],
    fn: (...args: A) => R | PromiseLike<R>,
    options?: MemoizeOptions<A>,
  ): MemoizedFunction<A, Awaited<R>>
  /** A function cached for `timeout` seconds (time-based; also tags and `invalidate`). */
  cached<A extends unknown[], R>(fn: (...args: A) => R | PromiseLike<R>, options: MemoizeOptions<A> & { readonly timeout: number }): MemoizedFunction<A, Awaited<R>>
  /** Listens to one kind of event; returns the function that stops listening. */
  on<T extends CacheopsEventType>(type: T, listener: (event: CacheopsEventOf<T>) => void): () => void
  /** Closes the Redis connection if prisma-cacheops opened it. */
  close(): Promise<void>
}

function envOf(runtime: CacheopsRuntime, plan: ReadPlan, options: { readonly tags?: readonly string[] }): MemoizeEnv {
  if (options.tags !== undefined) assertTags(options.tags)
  const models = [...plan.deps.keys()]
  const tagged = (options.tags?.length ?? 0) > 0
  return {
    bypass: () => models.some((m) => runtime.pendingModels.has(m)) || (tagged && runtime.pendingTags > 0),
    degradeOnFailure: runtime.config.degradeOnFailure,
    maxResultBytes: runtime.config.maxResultBytes,
    store: runtime.store,
    report: (e) => runtime.report(e),
    events: runtime.events,
    lease: leaseRequestOf(plan, [...new Set(options.tags ?? [])].sort(), Object.keys(runtime.config.boundTags)),
    scope: currentScope,
  }
}

function checked<O extends { readonly timeout?: number }>(options: O): O {
  if (options.timeout !== undefined && !(Number.isInteger(options.timeout) && options.timeout > 0)) {
    throw new CacheopsConfigError(`prisma-cacheops: timeout must be a positive whole number of seconds, got ${String(options.timeout)}`, [{ path: 'timeout', message: 'must be positive' }])
  }
  return options
}

/** cachedAs' default timeout: the smallest among its dependencies' profiles. */
function smallestTimeout(config: ParsedConfig, models: readonly string[]): number {
  const timeouts = models.map((m) => profileFor(config, m)?.timeout).filter((t): t is number => t !== undefined)
  if (timeouts.length === 0) {
    throw new CacheopsConfigError(`prisma-cacheops: cachedAs needs { timeout }: none of its dependencies (${models.join(', ')}) has a profile with one`, [{ path: 'timeout', message: 'required' }])
  }
  return Math.min(...timeouts)
}

export function createApi<DM extends CacheopsDatamodel>(runtime: CacheopsRuntime): CacheopsApi<DM> {
  return {
    async invalidateObj(model, obj) {
      const info = runtime.model(model)
      const bound = runtime.boundTags(model, [obj])
      await runtime.invalidate({ model, rows: [rowValuesOf(info, obj)], modelWide: [], cause: `invalidateObj(${model})`, tags: bound.tags, boundTagsUnknown: bound.unknown ? [model] : [] })
    },
    async invalidateModel(model) {
      runtime.model(model)
      await runtime.invalidate({ model, rows: [], modelWide: [model], cause: `invalidateModel(${model})` })
    },
    async invalidateAll() {
      runtime.near?.cache.clear()
      await runtime.store.invalidateAll()
      runtime.near?.cache.clear()
    },
    async invalidateTags(...tags) {
      assertTags(tags)
      const inv = { model: undefined, rows: [], modelWide: [], tags, cause: `invalidateTags(${tags.join(', ')})` }
      const scope = currentScope()
      if (scope) scope.pending.push(inv)
      else await runtime.invalidate(inv)
    },
    stats: () => ({
      ...runtime.events.stats(),
      pendingInvalidations: runtime.pendingInvalidations,
      nearEntries: runtime.near?.cache.size ?? 0,
      nearBytes: runtime.near?.cache.totalBytes ?? 0,
    }),
    noInvalidation: (fn) => withoutInvalidation(fn),
    cachedAs(dependencies, fn, options = {}) {
      const { config } = runtime
      const plan = planOfDependencies(config.datamodel, dependencies, runtime.dnfOptions)
      const timeout = options.timeout ?? smallestTimeout(config, [...plan.deps.keys()])
      return memoize(envOf(runtime, plan, options), fn, { ...checked(options), timeout })
    },
    cached(fn, options) {
      return memoize(envOf(runtime, { deps: new Map(), derived: new Set() }, options), fn, checked(options) as typeof options)
    },
    on: (type, listener) => runtime.events.on(type, listener),
    close: () => runtime.close(),
  }
}
