import type { CacheopsDatamodel } from '../datamodel/types.js'
import type { CacheStats, CacheopsRuntime } from '../runtime/core.js'
import { rowValuesOf } from '../invalidation/writes.js'
import type { ModelName } from '../config/schema.js'

/** `prisma.$cacheops`: operations tools. */
export interface CacheopsApi<DM extends CacheopsDatamodel = CacheopsDatamodel> {
  /** Invalidates what depends on one row: pass the row, or any object with the model's fields. */
  invalidateObj(model: ModelName<DM>, obj: Record<string, unknown>): Promise<void>
  /** Invalidates every cached read that depends on the model in any way. */
  invalidateModel(model: ModelName<DM>): Promise<void>
  /** Deletes every key under this cache's prefix (other prefixes are untouched). */
  invalidateAll(): Promise<void>
  /** Counters since this client was created. */
  stats(): CacheStats
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
    stats: () => ({ ...runtime.counters }),
    close: () => runtime.close(),
  }
}
