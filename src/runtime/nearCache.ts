/**
 * The near cache: validated hits kept in process memory, so that a hit transfers and decodes
 * nothing. Pure bookkeeping (no Redis here): each entry remembers every Redis key its
 * validity depends on (the entry, its payload, every stamp), the models it depends on, and
 * the connection epoch it was filled in; `invalidateKeys` (Redis client tracking,
 * redis/tracking.ts) and `dropModels` (this process's own writes) remove entries, `clear`
 * (a disconnect, a FLUSH, a lost subscriber) removes all and starts a new epoch. A fill goes
 * through a placeholder registered before the read is sent: an invalidation that arrives
 * before the reply voids it, so a value read before a write is never installed after it.
 * Bounded by entries and bytes (least recently used first) and by each entry's expiry.
 */
import { compileClone, type Cloner } from './clone.js'

export interface NearCacheLimits {
  readonly maxEntries: number
  readonly maxBytes: number
}

interface NearEntry {
  /** Never handed out: each caller gets its own copy (`clone`, compiled for this value). */
  readonly value: unknown
  readonly clone: Cloner
  readonly bytes: number
  readonly keys: readonly string[]
  readonly models: readonly string[]
  readonly expiresAt: number
}

/** A fill in progress: installed by `complete` unless an invalidation voided it meanwhile. */
export interface Placeholder {
  readonly entryKey: string
  readonly keys: readonly string[]
  readonly models: readonly string[]
  readonly epoch: number
  voided: boolean
}

export class NearCache {
  /** Entries by entry key, in least-recently-used order (a Map keeps insertion order). */
  private readonly entries = new Map<string, NearEntry>()
  /** Redis key → entry keys depending on it. */
  private readonly byKey = new Map<string, Set<string>>()
  private readonly byModel = new Map<string, Set<string>>()
  private readonly placeholders = new Map<string, Set<Placeholder>>()
  private bytes = 0
  /** Bumped by `clear`: fills begun in an earlier epoch are not installed. */
  epoch = 0

  constructor(private readonly limits: NearCacheLimits) {}

  get size(): number {
    return this.entries.size
  }

  get totalBytes(): number {
    return this.bytes
  }

  /** A copy of the entry's value if present and unexpired (it becomes the most recently used). */
  get(entryKey: string, now: number): { value: unknown } | undefined {
    const e = this.entries.get(entryKey)
    if (!e) return undefined
    if (e.expiresAt <= now) {
      this.remove(entryKey)
      return undefined
    }
    this.entries.delete(entryKey)
    this.entries.set(entryKey, e)
    return { value: e.clone(e.value) }
  }

  /** Whether an unexpired entry is there (no copy made, recency unchanged; an expired one goes). */
  holds(entryKey: string, now: number): boolean {
    const e = this.entries.get(entryKey)
    if (!e) return false
    if (e.expiresAt > now) return true
    this.remove(entryKey)
    return false
  }

  has(entryKey: string): boolean {
    return this.entries.has(entryKey)
  }

  /** Registers a fill before its read is sent (see Placeholder). */
  begin(entryKey: string, keys: readonly string[], models: readonly string[]): Placeholder {
    const p: Placeholder = { entryKey, keys, models, epoch: this.epoch, voided: false }
    for (const k of keys) add(this.placeholders, k, p)
    return p
  }

  /**
   * Ends a fill: installs the value unless voided, from another epoch, or too large. Returns
   * the installed value's copier (the caller must not keep the value itself), or undefined.
   */
  complete(p: Placeholder, value: unknown, bytes: number, expiresAt: number): Cloner | undefined {
    for (const k of p.keys) removeFrom(this.placeholders, k, p)
    if (p.voided || p.epoch !== this.epoch || bytes > this.limits.maxBytes) return undefined
    this.remove(p.entryKey)
    const clone = compileClone(value)
    this.entries.set(p.entryKey, { value, clone, bytes, keys: p.keys, models: p.models, expiresAt })
    this.bytes += bytes
    for (const k of p.keys) add(this.byKey, k, p.entryKey)
    for (const m of p.models) add(this.byModel, m, p.entryKey)
    this.evict()
    return clone
  }

  /** Abandons a fill (the read was no hit, or failed). */
  abandon(p: Placeholder): void {
    for (const k of p.keys) removeFrom(this.placeholders, k, p)
  }

  /** Redis says these keys changed: entries and fills depending on any of them go. */
  invalidateKeys(keys: Iterable<string>): void {
    for (const k of keys) {
      for (const p of this.placeholders.get(k) ?? []) p.voided = true
      for (const entryKey of [...(this.byKey.get(k) ?? [])]) this.remove(entryKey)
    }
  }

  /** This process wrote these models: entries depending on them go, and fills of them void. */
  dropModels(models: Iterable<string>): void {
    for (const m of models) {
      for (const entryKey of [...(this.byModel.get(m) ?? [])]) this.remove(entryKey)
    }
    const dropped = new Set(models)
    for (const set of this.placeholders.values()) for (const p of set) if (p.models.some((m) => dropped.has(m))) p.voided = true
  }

  /** Everything goes; fills under way are not installed (a new epoch). */
  clear(): void {
    this.epoch++
    this.entries.clear()
    this.byKey.clear()
    this.byModel.clear()
    for (const set of this.placeholders.values()) for (const p of set) p.voided = true
    this.placeholders.clear()
    this.bytes = 0
  }

  private remove(entryKey: string): void {
    const e = this.entries.get(entryKey)
    if (!e) return
    this.entries.delete(entryKey)
    this.bytes -= e.bytes
    for (const k of e.keys) removeFrom(this.byKey, k, entryKey)
    for (const m of e.models) removeFrom(this.byModel, m, entryKey)
  }

  private evict(): void {
    while (this.entries.size > this.limits.maxEntries || this.bytes > this.limits.maxBytes) {
      const oldest = this.entries.keys().next().value
      if (oldest === undefined) break
      this.remove(oldest)
    }
  }
}

function add<K, V>(map: Map<K, Set<V>>, key: K, value: V): void {
  let set = map.get(key)
  if (!set) map.set(key, (set = new Set()))
  set.add(value)
}

function removeFrom<K, V>(map: Map<K, Set<V>>, key: K, value: V): void {
  const set = map.get(key)
  if (!set) return
  set.delete(value)
  if (set.size === 0) map.delete(key)
}
