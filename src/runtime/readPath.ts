import { decodeResult } from '../codec/index.js'
import { decide, baseReadOp, type CacheCallOptions } from '../config/profiles.js'
import type { CacheopsDatamodel } from '../datamodel/types.js'
import type { TxScope } from '../prisma/transactions.js'
import { conjKeyOf, schemeOf } from '../query/dependencies.js'
import { resultDependencies } from '../query/resultDependencies.js'
import { LEASE_MARGIN_SECONDS, LOCK_MS, REFRESH_MS, type Lease, type ResultConjunction } from '../store/types.js'
import type { CacheopsRuntime } from './core.js'

/**
 * What the read path needs of the runtime (core.ts): its config and prepared reads, the
 * store and the lease protocol's environment, events, the near cache, and the state of
 * this process's misses and failed invalidations. Tests can give just this.
 */
export type ReadRuntime = Pick<
  CacheopsRuntime,
  'config' | 'prepared' | 'views' | 'pendingModels' | 'pendingTags' | 'store' | 'entryEnv' | 'events' | 'near' | 'nearReady' | 'inFlight' | 'notFoundError'
>
import type { Placeholder } from './nearCache.js'
import { lookupWaitingForLock, refreshLeased, releaseLockOf, storeLeased, type EntryTarget } from './leaseProtocol.js'

/** A read as the Prisma hook hands it over. */
export interface ReadCall {
  readonly model: string
  readonly operation: string
  readonly args: Record<string, unknown>
  readonly dataPath: readonly string[]
  readonly call: CacheCallOptions | false | undefined
  readonly scope: TxScope | undefined
  readonly query: (args: Record<string, unknown>) => Promise<unknown>
}


/**
 * Whether a read may use the cache, and under which entry: undefined sends it to the
 * database (not a cached operation, a batch, after a write in a transaction, a view, an
 * invalidation of its models not yet in Redis).
 */
function entryOf(core: ReadRuntime, c: Omit<ReadCall, 'query'>) {
  const op = baseReadOp(c.operation)
  const decision = op ? decide(core.config, c.model, op, c.call) : { cache: false as const }
  // In a batch every item must go to the database (mixing hangs it); after a write in
  // an interactive transaction, the cache no longer reflects what it sees.
  if (!op || !decision.cache || c.scope?.kind === 'batch' || c.scope?.wrote) return undefined
  // Tagged calls get their own entry: an untagged one must not answer for it.
  const tags = decision.tags.length > 0 ? [...new Set(decision.tags)].sort() : decision.tags
  const prepared = core.prepared.of(c.model, op, c.args, tags, c.dataPath)
  const plan = prepared.plan
  // A view's rows change with the tables it reads, which no write of ours names.
  if (core.views.size > 0 && [...plan.deps.keys(), ...plan.derived].some((m) => core.views.has(m))) return undefined
  // An invalidation of a model this read depends on has not reached Redis yet: the cache
  // may hold what it should have dropped.
  if (core.pendingModels.size > 0 || core.pendingTags > 0) {
    const touched = [...plan.deps.keys(), ...plan.derived].some((m) => core.pendingModels.has(m))
    if (touched || (tags.length > 0 && core.pendingTags > 0)) return undefined
  }
  return { decision, tags, prepared, entryKey: core.store.entryKey(prepared.key) }
}

/**
 * The fast path's lookup (prisma/fastPath.ts): a read outside any transaction, without
 * call options, answered from a hit found by the hit-only check (CacheStore.peek), exactly
 * as cachedRead — the specification — would answer it. Undefined when that cannot be said
 * without more (then cachedRead runs, through Prisma): no entry this process knows,
 * stale-while-revalidate, or the promise resolves to undefined (no hit; nothing leased).
 */
export function fastHit(core: ReadRuntime, model: string, operation: string, args: Record<string, unknown>): Promise<{ value: unknown } | undefined> | undefined {
  const c = { model, operation, args, dataPath: NO_PATH, call: undefined, scope: undefined }
  const target = entryOf(core, c)
  if (!target || target.decision.staleWhileRevalidate > 0) return undefined
  const started = core.events.observed ? performance.now() : 0
  const { entryKey } = target
  const serve = (value: unknown, near: boolean) => {
    core.events.count(model, 'fastHits')
    if (near) core.events.count(model, 'nearHits')
    return { value: servedHit(core, c, entryKey, started, value, false) }
  }
  const near = core.near && core.nearReady() ? core.near : undefined
  if (near && near.cache.holds(entryKey, Date.now())) {
    // Bounded: served while the invalidation channel proved alive within the bound.
    if (near.maxStaleMs !== undefined && performance.now() - near.tracking.lastProof <= near.maxStaleMs) {
      const found = near.cache.get(entryKey, Date.now())
      if (found) return Promise.resolve(serve(found.value, true))
    }
    // Strict: after a fence, the entry as it is then (an invalidation may have taken it,
    // and a fill made since then is as new as the fence).
    if (near.maxStaleMs === undefined) {
      return near.tracking.fence().then(
        () => {
          const now = near.cache.get(entryKey, Date.now())
          return now ? serve(now.value, true) : peekAndFill(core, target, near, serve)
        },
        () => peekAndFill(core, target, undefined, serve),
      )
    }
  }
  return peekAndFill(core, target, near, serve)
}
const NO_PATH: readonly string[] = []

/** The hit-only check; with the near cache, tracked and filling it through a placeholder. */
function peekAndFill(
  core: ReadRuntime,
  target: NonNullable<ReturnType<typeof entryOf>>,
  near: ReadRuntime['near'],
  serve: (value: unknown, near: boolean) => { value: unknown },
): Promise<{ value: unknown } | undefined> | undefined {
  const { entryKey, prepared, decision } = target
  let placeholder: Placeholder | undefined
  const peeked = near
    ? near.store.peek(entryKey, { tracking: near.tracking, before: (keys) => (placeholder = near.cache.begin(entryKey, keys, [...prepared.plan.deps.keys(), ...prepared.plan.derived])) })
    : core.store.peek(entryKey)
  if (!peeked) return undefined
  return peeked.then(
    (payload) => {
      if (payload === undefined) {
        if (placeholder) near!.cache.abandon(placeholder)
        return undefined
      }
      let value: unknown
      try {
        value = decodeResult(payload)
      } catch {
        if (placeholder) near!.cache.abandon(placeholder)
        return undefined // cachedRead reads it again and reports it (as a miss)
      }
      const installed = placeholder && near!.cache.complete(placeholder, value, payload.length, Date.now() + decision.timeout * 1000)
      return serve(installed ? installed(value) : value, false)
    },
    () => {
      if (placeholder) near!.cache.abandon(placeholder)
      return undefined // cachedRead reports the failure, and degrades or throws, as configured
    },
  )
}
/** Counts (or emits) a hit and returns its value; an OrThrow read's cached null throws. */
function servedHit(core: ReadRuntime, c: Pick<ReadCall, 'model' | 'operation'>, entryKey: string, started: number, value: unknown, stale: boolean): unknown {
  if (core.events.observed) {
    core.events.emit({ type: 'hit', model: c.model, operation: c.operation, key: entryKey, durationMs: performance.now() - started, ...(stale ? { stale } : {}) })
  } else {
    core.events.count(c.model, 'hits')
    if (stale) core.events.count(c.model, 'staleHits')
  }
  if (value === null && c.operation.endsWith('OrThrow')) throw core.notFoundError(c.model)
  return value
}

/**
 * The read path: one round trip on a hit; lease, database, conditional store on a miss
 * (the lease protocol of leaseProtocol.ts, shared with memoized functions).
 */
export async function cachedRead(core: ReadRuntime, c: ReadCall): Promise<unknown> {
  const found = entryOf(core, c)
  if (!found) return c.query(c.args)
  const { decision, prepared, entryKey } = found
  const plan = prepared.plan
  const orThrow = c.operation.endsWith('OrThrow')
  const started = core.events.observed ? performance.now() : 0
  // Stale-while-revalidate: entries live `stale` seconds past their timeout. Not inside a
  // transaction, whose reads cannot refresh anything after it ends.
  const stale = c.scope ? 0 : decision.staleWhileRevalidate
  const ttl = decision.timeout + stale
  const freshSeconds = stale > 0 ? decision.timeout : 0
  const target: EntryTarget = { key: entryKey, model: c.model, what: `${c.model}.${c.operation}`, request: prepared.lease, leaseTtl: ttl + LEASE_MARGIN_SECONDS, refreshMs: stale > 0 ? REFRESH_MS : 0 }
  const env = core.entryEnv

  // One round trip: the entry if fresh, else a lease (and, with `lock`, the entry's lock;
  // held by another caller: wait for it, then read again).
  const looked = await lookupWaitingForLock(env, target, decodeResult, decision.lock && !c.scope ? LOCK_MS : 0)
  if (looked.hit) {
    // A stale entry this caller is to refresh: the database is read after the answer.
    if (looked.refresh) refreshInBackground(core, c, target, plan.derived, looked.refresh, ttl, freshSeconds)
    return servedHit(core, c, entryKey, started, looked.value, looked.stale)
  }
  const lease = looked.lease
  const releaseLock = () => releaseLockOf(env, target, lease)

  // Single-flight: an identical miss already computing in this process (never inside a
  // transaction) is joined, as long as its result could be stored.
  const inFlight = lease !== undefined && !c.scope ? core.inFlight.get(entryKey) : undefined
  if (inFlight !== undefined) {
    // Shared only once the leader's conditional store succeeded: then no write invalidated
    // it between its lease and that store, which covers every write that finished before
    // we joined. Its errors are shared as they are.
    const shared = await inFlight.catch((err: unknown) => {
      releaseLock()
      throw err
    })
    if (shared !== undefined) {
      releaseLock() // stored by the flight we joined: our waiters can read it
      core.events.count(c.model, 'misses')
      const value = decodeResult(shared)
      if (orThrow && value === null) throw core.notFoundError(c.model)
      return value
    }
  }
  // Checked and started without an await in between, so concurrent misses see each other.
  const flight = lease !== undefined && !c.scope && inFlight === undefined ? startFlight(core, entryKey) : undefined

  let value: unknown
  let notFound: unknown
  try {
    value = await c.query(c.args)
  } catch (err) {
    // A not-found of an OrThrow read is a null result worth caching.
    if (!orThrow || (err as { code?: string }).code !== 'P2025') {
      flight?.fail(err)
      releaseLock() // the waiters compute themselves at once
      throw err
    }
    value = null
    notFound = err
  }
  if (core.events.observed) core.events.emit({ type: 'miss', model: c.model, operation: c.operation, key: entryKey, durationMs: performance.now() - started })
  else core.events.count(c.model, 'misses')
  // Inside an interactive transaction the snapshot may predate the lease: never store.
  if (lease !== undefined && !c.scope) {
    const fromResult = plan.derived.size > 0 ? resultConjunctions(core.config.datamodel, c.model, c.args, value, plan.derived) : []
    storeLeased(env, target, {
      lease, value, ttl, freshSeconds, fromResult,
      settled: (payload) => {
        releaseLock()
        flight?.settle(payload)
      },
    })
  } else {
    flight?.settle(undefined)
    releaseLock()
  }
  if (notFound !== undefined) throw notFound
  return value
}

/** A miss being computed in this process, for identical misses to join. */
interface Flight {
  /** The stored payload, or undefined when the result was not stored (then not shared). */
  settle(payload: Buffer | undefined): void
  fail(err: unknown): void
}

function startFlight(core: ReadRuntime, entryKey: string): Flight {
  let resolve!: (p: Buffer | undefined) => void
  let reject!: (e: unknown) => void
  const promise = new Promise<Buffer | undefined>((res, rej) => ((resolve = res), (reject = rej)))
  promise.catch(() => {}) // a flight nobody joined must not surface as unhandled
  core.inFlight.set(entryKey, promise)
  const done = () => {
    if (core.inFlight.get(entryKey) === promise) core.inFlight.delete(entryKey)
  }
  return {
    settle: (payload) => (done(), resolve(payload)),
    fail: (err) => (done(), reject(err)),
  }
}

/** A stale query read again in the background (refreshLeased), with its result's dependencies. */
function refreshInBackground(core: ReadRuntime, c: ReadCall, target: EntryTarget, derived: ReadonlySet<string>, lease: Lease, ttl: number, freshSeconds: number): void {
  const orThrow = c.operation.endsWith('OrThrow')
  refreshLeased(core.entryEnv, target, lease, async () => {
    const value = await c.query(c.args).catch((err: unknown) => {
      if (orThrow && (err as { code?: string }).code === 'P2025') return null
      throw err
    })
    const fromResult = derived.size > 0 ? resultConjunctions(core.config.datamodel, c.model, c.args, value, derived) : []
    return { value, ttl, freshSeconds, fromResult }
  })
}

/** The conjunctions an include's result reaches, for the derived models only. */
function resultConjunctions(dm: CacheopsDatamodel, model: string, args: unknown, value: unknown, derived: ReadonlySet<string>): ResultConjunction[] {
  const out: ResultConjunction[] = []
  const found = resultDependencies(dm, model, args, value)
  for (const m of derived) {
    // No conjunction for a model means the result has no parent row to reach it from: then
    // only a change of the read's own rows can change it, and those are covered already.
    for (const conj of found.get(m) ?? []) out.push({ scheme: schemeOf(conj), key: conjKeyOf(m, conj) })
  }
  // The own model can be reached too (implicit many-to-many links).
  for (const [m, conjs] of found) {
    if (derived.has(m)) continue
    for (const conj of conjs) out.push({ scheme: schemeOf(conj), key: conjKeyOf(m, conj) })
  }
  return out
}

