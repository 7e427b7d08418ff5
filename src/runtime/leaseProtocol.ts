import { randomBytes } from 'node:crypto'
import { encodeForStore } from '../codec/index.js'
import { CacheopsRedisError, CacheopsRefreshError, message, type CacheopsError } from '../errors.js'
import { LOCK_WAIT_MS, type CacheStore, type Lease, type LeaseRequest, type LockState, type ResultConjunction } from '../store/types.js'
import type { EventHub } from './events.js'

/**
 * The lease protocol one cache entry goes through, whatever computes it: a cached query
 * (readPath.ts) and a memoized function (functions/memoize.ts) look up, wait for a lock,
 * store if fresh and refresh a stale entry through these functions and nothing else.
 *
 *   lookup ── hit ──────────────────────────────────────────────▶ answer (refresh if handed one)
 *      └──── miss + lease (lock held by another: wait, look up once more)
 *              └─ compute ─▶ storeLeased (refused if a write touched a stamp) ─▶ answer
 */

/** What the protocol needs around it. */
export interface EntryEnv {
  readonly store: CacheStore
  readonly report: (error: CacheopsError) => void
  /** False: a failed lookup throws instead of computing. */
  readonly degradeOnFailure: boolean
  readonly events?: EventHub | undefined
  /** Larger encoded values are not stored (a `skip` event, reason too-large). */
  readonly maxResultBytes: number
}

/** What a lookup is for: the model its events and errors name, and how to say it. */
export interface EntryTarget {
  readonly key: string
  /** The model events carry (`(function)` for memoized functions). */
  readonly model: string
  /** For error messages: `Post.findMany`, `a memoized function`. */
  readonly what: string
  readonly request: LeaseRequest
  /** Seconds stamps made by the lease live (entry TTL plus LEASE_MARGIN_SECONDS). */
  readonly leaseTtl: number
  /** > 0: stale entries are served and refreshed by one caller (stale-while-revalidate). */
  readonly refreshMs: number
}

export type Lookup<T> =
  | { readonly hit: true; readonly value: T; readonly stale: boolean; readonly refresh?: Lease | undefined }
  | { readonly hit: false; readonly lease: (Lease & { readonly lock: LockState }) | undefined }

/**
 * Lease tokens: a random per-process part and a counter. Unique across processes and
 * restarts like a random token, without a crypto call on every read. A new one for every
 * lookup (see Lease.token).
 */
const TOKEN_PREFIX = randomBytes(6).toString('base64url')
let tokenCounter = 0
export function nextToken(): string {
  return `${TOKEN_PREFIX}${(tokenCounter++).toString(36)}`
}

/**
 * One round trip: the entry decoded if it is a hit, else a lease (and with `lockMs`, the
 * entry's lock). A store failure is reported and, degrading, a miss without a lease (the
 * caller computes and stores nothing); an entry that cannot be decoded is reported and a
 * miss without a lease too.
 */
export async function lookup<T>(env: EntryEnv, target: EntryTarget, decode: (payload: Buffer) => T, lockMs = 0): Promise<Lookup<T>> {
  let res
  try {
    res = await env.store.readOrLease(target.key, target.request, nextToken(), target.leaseTtl, lockMs, target.refreshMs)
  } catch (err) {
    const error = new CacheopsRedisError(`cache read failed for ${target.what}: ${message(err)}`, 'read', modelOf(target), err)
    env.report(error)
    if (!env.degradeOnFailure) throw error
    return { hit: false, lease: undefined }
  }
  if (!res.hit) return { hit: false, lease: res }
  try {
    return { hit: true, value: decode(res.payload), stale: res.stale === true, refresh: res.refresh }
  } catch (err) {
    env.report(new CacheopsRedisError(`cached entry of ${target.what} could not be decoded: ${message(err)}`, 'read', modelOf(target), err))
    return { hit: false, lease: undefined }
  }
}

/**
 * A lookup that, finding the entry locked by another caller (maybe in another process),
 * waits for its release without polling and looks once more without a lock: the entry is
 * then usually there. Not stored (an invalidation meanwhile, a failure, a timeout): the
 * second lookup's lease is this caller's to compute with.
 */
export async function lookupWaitingForLock<T>(env: EntryEnv, target: EntryTarget, decode: (payload: Buffer) => T, lockMs: number): Promise<Lookup<T>> {
  const found = await lookup(env, target, decode, lockMs)
  if (found.hit || found.lease?.lock !== 'held') return found
  await env.store.waitForUnlock(target.key, LOCK_WAIT_MS)
  return lookup(env, target, decode, 0)
}

/** Releases the entry lock a lookup took (waking its waiters); failures are reported. */
export function releaseLockOf(env: EntryEnv, target: EntryTarget, lease: (Lease & { readonly lock: LockState }) | undefined): void {
  if (lease?.lock !== 'acquired') return
  env.store.releaseLock(target.key, lease.token).catch((err: unknown) => env.report(new CacheopsRedisError(`lock release failed: ${message(err)}`, 'store', modelOf(target), err)))
}

/** How storeLeased stores a computed value. */
export interface StoreRequest {
  readonly lease: Lease
  readonly value: unknown
  /** Seconds the entry lives. */
  readonly ttl: number
  /** > 0: the entry is fresh only this long, then stale (stale-while-revalidate). */
  readonly freshSeconds: number
  /** Dependencies found in the result (rows an include reached). */
  readonly fromResult?: readonly ResultConjunction[]
  /** Called once the store is settled: the payload when stored, else undefined. */
  readonly settled?: (payload: Buffer | undefined) => void
}

/**
 * Encodes and stores a computed value under its lease, in the background: refused by the
 * store if a stamp of the lease changed (a write) since it was taken. Sent at once, so a
 * later lookup on the same connection is queued behind it. Emits store / skip events;
 * a value that is too large or cannot be encoded is skipped.
 */
export function storeLeased(env: EntryEnv, target: EntryTarget, s: StoreRequest): void {
  const settled = s.settled ?? (() => {})
  const { key, model } = target
  const encoded = encodeForStore(s.value, env.maxResultBytes)
  if (!('payload' in encoded)) {
    settled(undefined)
    if (encoded.skip === 'too-large') env.events?.emit({ type: 'skip', model, key, reason: 'too-large', bytes: encoded.bytes })
    else {
      env.events?.emit({ type: 'skip', model, key, reason: 'unencodable' })
      env.report(new CacheopsRedisError(`result of ${target.what} not stored: ${message(encoded.error)}`, 'store', modelOf(target), encoded.error))
    }
    return
  }
  const { payload } = encoded
  env.store.storeIfFresh(key, s.lease, payload, s.ttl, s.fromResult ?? [], s.freshSeconds).then(
    (stored) => {
      settled(stored ? payload : undefined)
      env.events?.emit(stored ? { type: 'store', model, key } : { type: 'skip', model, key, reason: 'invalidated' })
    },
    (err: unknown) => {
      settled(undefined)
      env.report(new CacheopsRedisError(`cache store failed for ${target.what}: ${message(err)}`, 'store', modelOf(target), err))
    },
  )
}

/**
 * Computes a stale entry again after its caller was answered, and stores it under the
 * lease the stale hit carried (refused, like any store, if a write invalidated it
 * meanwhile). A failed computation releases the refresh so that the next reader of the
 * stale entry tries again, and is reported as CacheopsRefreshError.
 */
export function refreshLeased(env: EntryEnv, target: EntryTarget, lease: Lease, compute: () => Promise<Omit<StoreRequest, 'lease'>>): void {
  compute().then(
    (s) => storeLeased(env, target, { ...s, lease }),
    (err: unknown) => {
      env.store.releaseRefresh(target.key, lease.token).catch(() => {})
      env.report(new CacheopsRefreshError(`background refresh of a stale ${target.what} failed: ${message(err)}`, modelOf(target), err))
    },
  )
}

/** The model errors name: none for memoized functions. */
function modelOf(target: EntryTarget): string | undefined {
  return target.model.startsWith('(') ? undefined : target.model
}
