import type { CacheopsDatamodel } from '../datamodel/types.js'
import type { CacheopsRuntime } from '../runtime/core.js'
import type { CacheStats, CacheopsEventOf, CacheopsEventType } from '../runtime/events.js'
import { rowValuesOf } from '../invalidation/writes.js'
import { assertTags } from '../config/profiles.js'
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
  /** Listens to one kind of event; returns the function that stops listening. */
  on<T extends CacheopsEventType>(type: T, listener: (event: CacheopsEventOf<T>) => void): () => void
  /** Closes the Redis connection if prisma-cacheops opened it. */
  close(): Promise<void>
}

export function createApi<DM extends CacheopsDatamodel>(runtime: CacheopsRuntime): CacheopsApi<DM> {
  return {
    async invalidateObj(model, obj) {
      const info = runtime.model(model)
      await runtime.invalidate({ model, rows: [rowValuesOf(info, obj)], modelWide: [], cause: `invalidateObj(${model})` })
    },
    async invalidateModel(model) {
      runtime.model(model)
      await runtime.invalidate({ model, rows: [], modelWide: [model], cause: `invalidateModel(${model})` })
    },
    async invalidateAll() {
      await runtime.store.invalidateAll()
    },
    async invalidateTags(...tags) {
      assertTags(tags)
      const inv = { model: undefined, rows: [], modelWide: [], tags, cause: `invalidateTags(${tags.join(', ')})` }
      const scope = currentScope()
      if (scope) scope.pending.push(inv)
      else await runtime.invalidate(inv)
    },
    stats: () => runtime.events.stats(),
    noInvalidation: (fn) => withoutInvalidation(fn),
    on: (type, listener) => runtime.events.on(type, listener),
    close: () => runtime.close(),
  }
}
