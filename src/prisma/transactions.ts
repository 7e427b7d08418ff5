import { AsyncLocalStorage } from 'node:async_hooks'

/** One invalidation: rows of one model (granular) and models invalidated whole. */
export interface Invalidation {
  readonly model: string | undefined
  readonly rows: readonly (readonly (readonly [string, string])[])[]
  readonly modelWide: readonly string[]
  /** What caused it, for reports: `Post.update`, `$executeRaw`, ... */
  readonly cause: string
  /** Schemes the writer saw before writing (rows carry only their fields); see begin_write.lua. */
  readonly seenSchemes?: readonly string[]
  /**
   * Fields of `model` the write changed, when it only updated rows (with `@updatedAt`
   * fields); undefined when unknown or when it created or deleted rows.
   */
  readonly changedFields?: readonly string[]
  /** Lower the model's write-in-progress counter raised for this write. */
  readonly endWrite?: string
  /** End this writer's update transform (see begin_write.lua). */
  readonly endTransform?: string
  /**
   * An updateMany's: the update transforms active when it began (its own among them), to be
   * applied to its rows by the writer itself (see delete_conj_keys.lua).
   */
  readonly transformsAtStart?: readonly string[]
  /** Tags whose entries go too. */
  readonly tags?: readonly string[]
  /** Models whose bound tags are unknown for some changed row (see boundTagsKeyOf). */
  readonly boundTagsUnknown?: readonly string[]
}

/**
 * State of one `$transaction` call as seen by the cache. Invalidations are queued and run
 * after the outermost transaction commits (a nested one hands them to its parent when it
 * succeeds); a transaction that throws drops its queue, since its writes rolled back.
 */
export interface TxScope {
  readonly kind: 'itx' | 'batch'
  /** Once true, reads in this transaction neither read nor fill the cache. */
  wrote: boolean
  readonly pending: Invalidation[]
  readonly parent: TxScope | undefined
  /** The interactive transaction's client, for reading pre-images inside it. */
  client?: unknown
}

const current = new AsyncLocalStorage<TxScope>()

/**
 * Interactive transactions by Prisma's transaction id: a query through `tx` made from work
 * started outside the callback (a queue, an emitter set up before) carries the id but not
 * the callback's async context.
 */
const byTxId = new Map<string, TxScope>()

/**
 * The scope of a query Prisma runs in a transaction: the one its transaction id names, else
 * the async context's. `txId` comes from the query's `__internalParams.transaction`.
 */
export function scopeOfQuery(txId: string | undefined): TxScope | undefined {
  return (txId !== undefined ? byTxId.get(txId) : undefined) ?? current.getStore()
}

/** Ties an interactive transaction's id to its scope, until the scope ends. */
export function registerTransaction(scope: TxScope, txId: string): void {
  const outer = byTxId.get(txId) // a nested transaction may share its parent's id
  byTxId.set(txId, scope)
  ended.set(scope, () => {
    if (byTxId.get(txId) !== scope) return
    if (outer) byTxId.set(txId, outer)
    else byTxId.delete(txId)
  })
}
const ended = new WeakMap<TxScope, () => void>()

export function currentScope(): TxScope | undefined {
  return current.getStore()
}

/**
 * Runs `start` (which calls Prisma's own `$transaction`) inside a new scope, then either
 * flushes the queue (outermost, committed), hands it to the parent (nested, committed),
 * or drops it (rejected, unless `keepOnReject`).
 */
export async function inTransactionScope<T>(
  kind: TxScope['kind'],
  start: (scope: TxScope) => Promise<T>,
  flush: (pending: readonly Invalidation[]) => Promise<void>,
  /** The queue is kept even when the transaction throws (its writes may not all roll back). */
  keepOnReject = false,
): Promise<T> {
  const parent = current.getStore()
  const scope: TxScope = { kind, wrote: false, pending: [], parent }
  let result: T
  try {
    result = await current.run(scope, () => start(scope))
  } catch (err) {
    if (keepOnReject) {
      if (parent) parent.pending.push(...scope.pending)
      else await flush(scope.pending)
    }
    throw err
  } finally {
    ended.get(scope)?.()
  }
  if (parent) {
    parent.pending.push(...scope.pending)
    parent.wrote ||= scope.wrote
  } else {
    await flush(scope.pending)
  }
  return result
}

/** Runs `fn` with `scope` current (used to re-enter the scope inside the callback). */
export function withScope<T>(scope: TxScope, fn: () => T): T {
  return current.run(scope, fn)
}

const suspended = new AsyncLocalStorage<true>()

/** Whether the current call runs inside `$cacheops.noInvalidation(...)`. */
export function invalidationSuspended(): boolean {
  return suspended.getStore() === true
}

/** Runs `fn` with invalidation suspended for the writes it makes (awaited inside). */
export function withoutInvalidation<T>(fn: () => T | PromiseLike<T>): Promise<T> {
  return suspended.run(true, async () => await fn())
}
