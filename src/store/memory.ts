import { CacheopsConfigError } from '../errors.js'
import { conjKeysOfRows, rowsUnderTransforms } from '../invalidation/conjKeys.js'
import { keyOf } from '../redis/keys.js'
import {
  TRANSFORM_GRACE_MS, WRITE_GUARD_SECONDS,
  type BegunWrite, type CacheStore, type Lease, type LeaseRequest, type ReadResult, type ResultConjunction, type RowsChange, type RowValues, type UpdateTransform,
} from './types.js'

/**
 * The cache in this process's memory: the protocol of store/types.ts carried out on maps,
 * each operation in one synchronous step (as atomic as a Lua script is in Redis). It keeps
 * the same stamps, registries, leases, write guards and update transforms as the Redis
 * store does (docs/design.md, "Stores"): several async readers and writers of one process
 * interleave exactly as several processes do around Redis, so the same races need the
 * same answers. What it does not need: restart detection (it never outlives its data),
 * deadlines, a breaker, registry versions (it never ships keys anywhere).
 */

export interface MemoryStoreOptions {
  /**
   * Bytes kept at most (payloads, keys, stamps; estimated). Least recently used entries go
   * first, then the oldest stamps: losing either is a miss, never a stale hit. Default 64 MiB.
   */
  readonly maxBytes?: number
}

const DEFAULT_MAX_BYTES = 64 * 2 ** 20
/** Bookkeeping bytes counted per entry and per stamp beside their keys and payloads. */
const ENTRY_OVERHEAD = 96
const STAMP_OVERHEAD = 48

/** A stamp the entry or lease recorded: `model` when it is a model stamp (write guards). */
interface Dependency {
  readonly key: string
  readonly stamp: string
  readonly model?: string
}

interface Entry {
  /** When it was last used (see MemoryStore.clock): eviction goes by it. */
  used: number
  readonly dependencies: readonly Dependency[]
  readonly payload: Buffer
  readonly expiresAt: number
  /** When it goes stale (stale-while-revalidate); 0: fresh until it expires. */
  readonly freshUntil: number
  readonly bytes: number
}

interface Stamp {
  readonly value: string
  expiresAt: number
  /** When it was last made, extended or checked by a hit (see MemoryStore.clock). */
  used: number
}

interface Registry {
  /** Made anew when the registry is: counts of ended mass writes start over with it. */
  readonly id: string
  /** Replaced (never changed) when a scheme is added: writes memoize per array. */
  schemes: readonly string[]
  /** Mass writes of the model ended (see begin_write.lua's guard). */
  ended: number
}

/** What a memory lease recorded. */
interface MemoryLease extends Lease {
  readonly dependencies: readonly Dependency[]
  /** Checked at store time only (whole-model leases of models an include reaches). */
  readonly checks: readonly Dependency[]
  /** Per model: its registry key and "<ended>|<registry id>" at lease time. */
  readonly ended: readonly (readonly [registry: string, state: string])[]
}

let registryIds = 0
let guardGenerations = 0

/**
 * The part of every stamp's, registry's, guard's and transform's key that names its
 * prefix: its length, then the prefix. Without the length, prefixes `a:` and `a:u:` would
 * share keys (`a:` + `u:Post`, the transforms of Post, is `a:u:` + `Post`), and clearing
 * one would clear some of the other's state. Entry keys are the Redis store's (`key()` of
 * a memoized function shows them): clearing a prefix may drop entries of a longer one that
 * extends it, which is only a miss.
 */
function stateKeyPrefix(prefix: string): string {
  return `${prefix.length}:${prefix}`
}

/**
 * An in-process store. One may be shared by several `cacheops()` clients of the process
 * (they share its entries under the same prefix, as clients of one Redis do).
 */
export class MemoryStore {
  readonly maxBytes: number
  private readonly entries = new Map<string, Entry>()
  private readonly stamps = new Map<string, Stamp>()
  private readonly registries = new Map<string, Registry>()
  /**
   * Per model, mass writes under way (`count`, up to `expiresAt`: a crashed writer's guard
   * lapses) and the guard's generation `g`, made anew whenever the guard is (none, or
   * lapsed): an end whose generation is not the current one, or whose guard lapsed, makes
   * its model whole (see redis/lua/include/guard.lua, the same rule).
   */
  private readonly massWrites = new Map<string, { count: number; expiresAt: number; g: string }>()
  private readonly transforms = new Map<string, Map<string, { running: number; expires: number }>>()
  private readonly locks = new Map<string, { token: string; expiresAt: number }>()
  private readonly waiters = new Map<string, Set<() => void>>()
  private bytes = 0
  /**
   * A use counter: entries and stamps are each kept in the order they were last used (a
   * use moves one to the back of its map), and eviction takes whichever of the two front
   * ones was used longer ago. One order over both, so that stamps of one-off misses (which
   * live their TTL plus a margin) cannot crowd out the entries that are hit.
   */
  private clock = 0

  constructor(options: MemoryStoreOptions = {}) {
    const max = options.maxBytes ?? DEFAULT_MAX_BYTES
    if (!(Number.isInteger(max) && max > 0)) {
      throw new CacheopsConfigError(`prisma-cacheops: memoryStore(): maxBytes must be a positive whole number of bytes, got ${String(options.maxBytes)}`, [{ path: 'maxBytes', message: 'must be a positive whole number' }])
    }
    this.maxBytes = max
  }

  /** Entries held now. */
  get size(): number {
    return this.entries.size
  }

  /** Bytes held now (estimated: payloads, keys, stamps). */
  get totalBytes(): number {
    return this.bytes
  }

  /** The store under one key prefix (what a `cacheops()` client speaks to). */
  forPrefix(prefix: string): CacheStore {
    return new PrefixedMemoryStore(this, prefix)
  }

  // --- stamps ---------------------------------------------------------------------------

  /** A stamp's value, or undefined when it is missing or expired (then it goes); `use` it: most recently used. */
  stampOf(key: string, now: number, use = false): string | undefined {
    const s = this.stamps.get(key)
    if (s === undefined) return undefined
    if (s.expiresAt <= now) {
      this.deleteStamp(key)
      return undefined
    }
    if (use) this.touchStamp(key, s)
    return s.value
  }

  private touchStamp(key: string, s: Stamp): void {
    s.used = ++this.clock
    this.stamps.delete(key)
    this.stamps.set(key, s)
  }

  /** The stamp, made with `token` if missing; its life extended to at least `ttlMs`. */
  stampOrMake(key: string, token: string, ttlMs: number, now: number): string {
    const current = this.stampOf(key, now)
    if (current !== undefined) {
      const s = this.stamps.get(key)!
      if (s.expiresAt < now + ttlMs) s.expiresAt = now + ttlMs
      this.touchStamp(key, s)
      return current
    }
    this.setStamp(key, token, now + ttlMs)
    return token
  }

  setStamp(key: string, value: string, expiresAt: number): void {
    this.deleteStamp(key)
    this.stamps.set(key, { value, expiresAt, used: ++this.clock })
    this.bytes += key.length + value.length + STAMP_OVERHEAD
    this.evict()
  }

  deleteStamp(key: string): boolean {
    const s = this.stamps.get(key)
    if (s === undefined) return false
    this.stamps.delete(key)
    this.bytes -= key.length + s.value.length + STAMP_OVERHEAD
    return true
  }

  // --- entries --------------------------------------------------------------------------

  /** The entry if it is alive and every stamp it recorded is current; a dead one goes. */
  liveEntry(entryKey: string, now: number): Entry | undefined {
    const e = this.entries.get(entryKey)
    if (e === undefined) return undefined
    if (e.expiresAt > now && e.dependencies.every((d) => this.stampOf(d.key, now, true) === d.stamp)) {
      // Least recently used first in the map's order.
      e.used = ++this.clock
      this.entries.delete(entryKey)
      this.entries.set(entryKey, e)
      return e
    }
    this.deleteEntry(entryKey)
    return undefined
  }

  putEntry(entryKey: string, entry: Omit<Entry, 'used'>): boolean {
    this.deleteEntry(entryKey)
    if (entry.bytes > this.maxBytes) return false
    this.entries.set(entryKey, { ...entry, used: ++this.clock })
    this.bytes += entry.bytes
    this.evict()
    return this.entries.has(entryKey)
  }

  deleteEntry(entryKey: string): boolean {
    const e = this.entries.get(entryKey)
    if (e === undefined) return false
    this.entries.delete(entryKey)
    this.bytes -= e.bytes
    return true
  }

  /**
   * Over the budget: whatever was used longest ago goes, entry or stamp (a deleted stamp is
   * an invalidation: its entries are misses). Registries, write guards and transforms are
   * never evicted: a few per model.
   */
  private evict(): void {
    while (this.bytes > this.maxBytes) {
      const entry = this.entries.entries().next().value
      const stamp = this.stamps.entries().next().value
      if (entry === undefined && stamp === undefined) return
      if (stamp === undefined || (entry !== undefined && entry[1].used < stamp[1].used)) this.deleteEntry(entry![0])
      else this.deleteStamp(stamp[0])
    }
  }

  // --- registries, write guards, transforms ---------------------------------------------

  registry(key: string): Registry | undefined {
    return this.registries.get(key)
  }

  makeRegistry(key: string): Registry {
    const made = { id: `r${registryIds++}`, schemes: [], ended: 0 }
    this.registries.set(key, made)
    return made
  }

  dropRegistry(key: string): void {
    this.registries.delete(key)
  }

  /** Whether a mass write of the model is under way (its guard up and not expired). */
  massWriteUnderway(key: string, now: number): boolean {
    const w = this.massWrites.get(key)
    return w !== undefined && w.count > 0 && w.expiresAt > now
  }

  /** Raises the guard; returns its generation. */
  raiseGuard(key: string, now: number): string {
    let w = this.massWrites.get(key)
    if (w === undefined || w.count <= 0 || w.expiresAt <= now) this.massWrites.set(key, (w = { count: 0, expiresAt: 0, g: `g${guardGenerations++}` }))
    w.count++
    w.expiresAt = now + WRITE_GUARD_SECONDS * 1000
    return w.g
  }

  /** Lowers the guard of generation `g`; false (nothing lowered) when it lapsed or was made anew since. */
  lowerGuard(key: string, g: string, now: number): boolean {
    const w = this.massWrites.get(key)
    if (w === undefined || w.g !== g || w.count <= 0 || w.expiresAt <= now) return false
    if (--w.count === 0) this.massWrites.delete(key)
    return true
  }

  transformsOf(key: string): Map<string, { running: number; expires: number }> | undefined {
    return this.transforms.get(key)
  }

  transformsOrMake(key: string): Map<string, { running: number; expires: number }> {
    let t = this.transforms.get(key)
    if (!t) this.transforms.set(key, (t = new Map()))
    return t
  }

  dropTransforms(key: string): void {
    this.transforms.delete(key)
  }

  // --- locks ----------------------------------------------------------------------------

  lockHolder(key: string, now: number): string | undefined {
    const l = this.locks.get(key)
    if (l === undefined) return undefined
    if (l.expiresAt <= now) {
      this.locks.delete(key)
      return undefined
    }
    return l.token
  }

  /** Takes the lock unless someone holds it. */
  takeLock(key: string, token: string, ms: number, now: number): boolean {
    if (this.lockHolder(key, now) !== undefined) return false
    this.locks.set(key, { token, expiresAt: now + ms })
    return true
  }

  releaseLock(key: string, token: string): boolean {
    if (this.lockHolder(key, Date.now()) !== token) return false
    this.locks.delete(key)
    return true
  }

  wake(entryKey: string): void {
    for (const wake of [...(this.waiters.get(entryKey) ?? [])]) wake()
  }

  waitFor(entryKey: string, timeoutMs: number): Promise<void> {
    if (this.lockHolder(`${entryKey}#lock`, Date.now()) === undefined) return Promise.resolve()
    return new Promise<void>((resolve) => {
      const set = this.waiters.get(entryKey) ?? new Set()
      const done = () => {
        clearTimeout(timer)
        set.delete(done)
        if (set.size === 0) this.waiters.delete(entryKey)
        resolve()
      }
      const timer = setTimeout(done, timeoutMs)
      set.add(done)
      this.waiters.set(entryKey, set)
    })
  }

  /** Deletes everything of a prefix (entries under `entries`, the rest under `state`); how many keys went. */
  clearPrefix(entries: string, state: string): number {
    let n = 0
    for (const key of [...this.entries.keys()]) if (key.startsWith(entries) && this.deleteEntry(key)) n++
    for (const key of [...this.locks.keys()]) if (key.startsWith(entries) && this.locks.delete(key)) n++
    for (const key of [...this.waiters.keys()]) if (key.startsWith(entries)) this.wake(key)
    for (const key of [...this.stamps.keys()]) if (key.startsWith(state) && this.deleteStamp(key)) n++
    for (const map of [this.registries, this.massWrites, this.transforms]) {
      for (const key of [...map.keys()]) if (key.startsWith(state) && map.delete(key)) n++
    }
    return n
  }
}

/** "<ended>|<registry id>" of a registry (what a lease records and a store compares). */
function endedStateOf(r: Registry | undefined): string {
  return r === undefined ? '0|' : `${r.ended}|${r.id}`
}

/** Bytes an entry is counted for. */
function entryBytes(key: string, payload: Buffer, dependencies: readonly Dependency[]): number {
  let n = ENTRY_OVERHEAD + key.length + payload.length
  for (const d of dependencies) n += d.key.length + d.stamp.length + 16
  return n
}

/**
 * The store of one key prefix. Each method is one synchronous step on the shared maps;
 * the semantics are read_or_lease.lua, store_if_fresh.lua, begin_write.lua and
 * invalidate_rows.lua's, which their comments argue for.
 */
class PrefixedMemoryStore implements CacheStore {
  readonly kind = 'memory'
  /** Where this prefix's stamps, registries, guards and transforms are kept (see stateKeyPrefix). */
  private readonly prefix: string
  constructor(
    private readonly mem: MemoryStore,
    /** The configured prefix: entry keys are built from it, as the Redis store's are. */
    private readonly entryPrefix: string,
  ) {
    this.prefix = stateKeyPrefix(entryPrefix)
  }

  entryKey(hash: string): string {
    return keyOf.entry(this.entryPrefix, hash)
  }

  async readOrLease(entryKey: string, request: LeaseRequest, token: string, ttl: number, lockMs = 0, refreshMs = 0): Promise<ReadResult> {
    const { mem, prefix } = this
    const now = Date.now()
    let staleHit: Buffer | undefined
    const entry = mem.liveEntry(entryKey, now)
    if (entry !== undefined) {
      if (entry.freshUntil === 0 || now < entry.freshUntil) return { hit: true, payload: entry.payload }
      // Expired by time only (never invalidated): served stale while one caller refreshes.
      if (refreshMs > 0) {
        if (!mem.takeLock(`${entryKey}#swr`, token, refreshMs, now)) return { hit: true, payload: entry.payload, stale: true }
        staleHit = entry.payload
      }
    }
    const dependencies: Dependency[] = []
    const checks: Dependency[] = []
    const ended: [string, string][] = []
    for (const m of request.models) {
      const registryKey = keyOf.registry(prefix, m.name)
      const stampKey = keyOf.modelStamp(prefix, m.name)
      let registry = mem.registry(registryKey)
      let stamp: string
      if (registry === undefined) {
        // A new registry: schemes an older one held are gone, and writes would skip them,
        // so no entry built on the old model stamp may stay valid.
        registry = mem.makeRegistry(registryKey)
        mem.setStamp(stampKey, token, Infinity)
        stamp = token
      } else stamp = mem.stampOrMake(stampKey, token, Infinity, now)
      const added = m.schemes.filter((s) => !registry.schemes.includes(s))
      if (added.length > 0) registry.schemes = [...registry.schemes, ...added]
      dependencies.push({ key: stampKey, stamp, model: m.name })
      ended.push([registryKey, endedStateOf(registry)])
    }
    const ttlMs = ttl * 1000
    for (const k of request.conjKeys) {
      const key = keyOf.conjStamp(prefix, k)
      dependencies.push({ key, stamp: mem.stampOrMake(key, token, ttlMs, now) })
    }
    for (const k of request.checkOnlyKeys) {
      const key = keyOf.conjStamp(prefix, k)
      checks.push({ key, stamp: mem.stampOrMake(key, token, ttlMs, now) })
    }
    const lease: MemoryLease = { token, dependencies, checks, ended }
    if (staleHit !== undefined) return { hit: true, payload: staleHit, stale: true, refresh: { ...lease, refreshes: true } as MemoryLease }
    const lock = lockMs > 0 ? (mem.takeLock(`${entryKey}#lock`, token, lockMs, now) ? 'acquired' : 'held') : 'none'
    return { hit: false, ...lease, lock }
  }

  peek(entryKey: string): Promise<Buffer | undefined> {
    const entry = this.mem.liveEntry(entryKey, Date.now())
    // Stale-while-revalidate entries are judged by readOrLease (it may lease a refresh).
    return Promise.resolve(entry !== undefined && entry.freshUntil === 0 ? entry.payload : undefined)
  }

  async storeIfFresh(entryKey: string, leased: Lease, payload: Buffer, ttl: number, fromResult: readonly ResultConjunction[] = [], freshSeconds = 0): Promise<boolean> {
    const { mem, prefix } = this
    const lease = leased as MemoryLease
    const now = Date.now()
    // A refresh of a stale entry ends here, stored or not.
    if (lease.refreshes) mem.releaseLock(`${entryKey}#swr`, lease.token)
    const current = (d: Dependency) => {
      // A mass write of this model is under way: what was read may already be outdated.
      if (d.model !== undefined && mem.massWriteUnderway(keyOf.massWrites(prefix, d.model), now)) return false
      return mem.stampOf(d.key, now) === d.stamp
    }
    if (!lease.dependencies.every(current) || !lease.checks.every(current)) return false
    // A mass write that ended since the lease may have run while the result was read.
    if (!lease.ended.every(([registry, state]) => endedStateOf(mem.registry(registry)) === state)) return false
    const ttlMs = ttl * 1000
    const dependencies = [...lease.dependencies]
    for (const c of fromResult) {
      // Conjunctions the result reached, narrower than the whole-model stamps checked above
      // (still current: no write touched those models since the lease).
      const model = c.key.slice(0, c.key.indexOf(':'))
      const registry = mem.registry(keyOf.registry(prefix, model))
      if (registry === undefined) return false
      if (!registry.schemes.includes(c.scheme)) registry.schemes = [...registry.schemes, c.scheme]
      const key = keyOf.conjStamp(prefix, c.key)
      dependencies.push({ key, stamp: mem.stampOrMake(key, lease.token, ttlMs, now) })
    }
    // A stamp must outlive every entry that depends on it (a vanished stamp is a miss).
    for (const d of dependencies) if (d.model === undefined) mem.stampOrMake(d.key, lease.token, ttlMs, now)
    const put = mem.putEntry(entryKey, {
      dependencies,
      payload,
      expiresAt: now + ttlMs,
      freshUntil: freshSeconds > 0 ? now + freshSeconds * 1000 : 0,
      bytes: entryBytes(entryKey, payload, dependencies),
    })
    // Making the result's stamps may have evicted one just checked: then it is no entry.
    return put && mem.liveEntry(entryKey, now) !== undefined
  }

  async releaseLock(entryKey: string, token: string): Promise<void> {
    this.mem.releaseLock(`${entryKey}#lock`, token)
    this.mem.wake(entryKey)
  }

  async releaseRefresh(entryKey: string, token: string): Promise<void> {
    this.mem.releaseLock(`${entryKey}#swr`, token)
  }

  waitForUnlock(entryKey: string, timeoutMs: number): Promise<void> {
    return this.mem.waitFor(entryKey, timeoutMs)
  }

  async beginWrite(model: string, guard: boolean, transform?: UpdateTransform): Promise<BegunWrite> {
    const { mem, prefix } = this
    const now = Date.now()
    const raised = guard ? mem.raiseGuard(keyOf.massWrites(prefix, model), now) : undefined
    let transforms: readonly string[] = []
    if (transform?.token) {
      const active = mem.transformsOrMake(keyOf.transforms(prefix, model))
      const old = active.get(transform.token)
      const crashMs = WRITE_GUARD_SECONDS * 2000
      active.set(transform.token, { running: (old?.running ?? 0) + 1, expires: Math.max(old?.expires ?? 0, now + crashMs) })
      transforms = [...active.keys()]
    }
    return { schemes: mem.registry(keyOf.registry(prefix, model))?.schemes ?? [], transforms, ...(raised !== undefined ? { guard: raised } : {}) }
  }

  async invalidateRows(model: string, rows: readonly RowValues[], change: RowsChange = {}): Promise<void> {
    const { mem, prefix } = this
    const { seenSchemes, endWrite, endTransform = '', changedFields } = change
    if (rows.length === 0 && seenSchemes === undefined && !endWrite && !endTransform) return
    const now = Date.now()
    const registryKey = keyOf.registry(prefix, model)
    const stampKey = keyOf.modelStamp(prefix, model)
    // Every entry depending on the model goes (its model stamp), and its registry with it.
    const whole = () => {
      mem.dropRegistry(registryKey)
      mem.deleteStamp(stampKey)
    }
    // Active update transforms (expired ones pruned); the writer's own one ends.
    const transformsKey = keyOf.transforms(prefix, model)
    const active = mem.transformsOf(transformsKey)
    // The writer's own transform gone before its end: writers since did not apply it.
    let vanished = endTransform !== '' && !active?.has(endTransform)
    const transforms: string[] = []
    if (active) {
      for (const [data, t] of [...active]) {
        if (data === endTransform && --t.running <= 0) {
          t.running = 0
          t.expires = now + TRANSFORM_GRACE_MS
        }
        if (t.expires < now) active.delete(data)
        else transforms.push(data)
      }
      if (active.size === 0) mem.dropTransforms(transformsKey)
    }
    if (endWrite) {
      // The guard lapsed while the write ran (or was made anew since): results were stored
      // meanwhile that it should have refused.
      if (!mem.lowerGuard(keyOf.massWrites(prefix, model), endWrite, now)) vanished = true
      const registry = mem.registry(registryKey)
      if (registry) registry.ended++
    }
    if (vanished) return whole()
    const registry = mem.registry(registryKey)
    // No registry: nothing cached depends on the model, unless one was dropped while its
    // model stamp stayed (then entries may rely on schemes no write sees now).
    if (registry === undefined) {
      if (mem.stampOf(stampKey, now) !== undefined) whole()
      return
    }
    // A scheme registered during the write may need fields the writer did not read.
    if (seenSchemes && registry.schemes.some((s) => !seenSchemes.includes(s))) return whole()
    const images = rowsUnderTransforms(rows, transforms)
    // While a transform is active every scheme counts (it changes fields too).
    const keys = images && conjKeysOfRows(model, registry.schemes, images, transforms.length > 0 ? undefined : changedFields)
    if (!keys) return whole()
    for (const k of keys) mem.deleteStamp(keyOf.conjStamp(prefix, k))
  }

  async invalidateModels(models: Iterable<string>): Promise<void> {
    for (const m of new Set(models)) {
      this.mem.deleteStamp(keyOf.modelStamp(this.prefix, m))
      this.mem.dropRegistry(keyOf.registry(this.prefix, m))
    }
  }

  async invalidateStamps(names: readonly string[]): Promise<void> {
    for (const n of names) this.mem.deleteStamp(keyOf.conjStamp(this.prefix, n))
  }

  async deleteEntries(entryKeys: readonly string[]): Promise<void> {
    for (const k of entryKeys) this.mem.deleteEntry(k)
  }

  async invalidateAll(): Promise<number> {
    return this.mem.clearPrefix(keyOf.entry(this.entryPrefix, ''), this.prefix)
  }

  async close(): Promise<void> {
    // The data is the MemoryStore's: other clients may share it.
  }
}

/**
 * The cache in this process's memory: `cacheops({ datamodel, store: memoryStore(), models })`.
 * For tests, scripts and single-process apps; several processes need the Redis store.
 */
export function memoryStore(options: MemoryStoreOptions = {}): MemoryStore {
  return new MemoryStore(options)
}
