/**
 * The store interface: what the cache protocol needs of the place entries and stamps live,
 * in its own terms. Two implementations: redis/store.ts (RedisStore: one standalone Redis
 * shared by every process) and store/memory.ts (MemoryStore: this process's memory). The
 * read path, the write path and memoized functions speak to a store through this and
 * nothing else; test/conformance/ runs the same behaviour against both.
 *
 * The protocol (docs/design.md, "Leases"): every cached result depends on *stamps* (one
 * per model, one per conjunction of field values it was read under, one per tag). A miss
 * takes a *lease*: the stamps as they are before the database is read, made if missing.
 * The result is stored only if every one of them is still the same (storeIfFresh). A
 * write deletes the stamps of the conjunctions its rows fall under, before and after it
 * (invalidateRows), so a result read before it commits is refused and an entry stored
 * before it is no hit again. Stamps are never reused.
 */

/** The dependencies of one entry: what a lookup leases (conj keys without any prefix). */
export interface LeaseRequest {
  /** Every model the entry depends on, with the conjunction schemes it registers. */
  readonly models: readonly { readonly name: string; readonly schemes: readonly string[] }[]
  /** `Model:f=v&g=w` for each conjunction (see src/query/dependencies.ts conjKeyOf). */
  readonly conjKeys: readonly string[]
  /** Conjunctions leased only to be checked at store time (whole models, narrowed later). */
  readonly checkOnlyKeys: readonly string[]
}

/** A conjunction found in the result, recorded at store time (rows an include reached). */
export interface ResultConjunction {
  readonly scheme: string
  readonly key: string
}

/**
 * A miss's lease. What it records is the store's own business; callers only hand it back
 * to storeIfFresh (or release its lock or refresh with its token).
 */
export interface Lease {
  /**
   * The token its missing stamps were made with: its store (and the lock or refresh it may
   * end) goes with this one. Every lookup takes a new token: a stamp made again with a
   * token some lease already recorded would pass that lease's store after a write deleted it.
   */
  readonly token: string
  /** The lease of a stale hit's refresh: its store ends the refresh. */
  readonly refreshes?: true
}

/** A miss's lock: taken by this call, held by another caller, or not asked for. */
export type LockState = 'acquired' | 'held' | 'none'

/**
 * A hit (`stale` when its time ran out but no write invalidated it; `refresh` is then the
 * lease to refresh it with, given to one caller only), or a miss with its lease.
 */
export type ReadResult =
  | { readonly hit: true; readonly payload: Buffer; readonly stale?: true; readonly refresh?: Lease }
  | ({ readonly hit: false; readonly lock: LockState } & Lease)

/** A row of one model as canonical field values (src/query/values.ts). */
export type RowValues = readonly (readonly [field: string, value: string])[]

/**
 * An updateMany's data as canonical field values, registered while it runs. Its token is
 * the data itself (sorted): writers setting the same values share one registration.
 */
export interface UpdateTransform {
  /** '' when the data sets no conjunction field: nothing to register. */
  readonly token: string
  readonly data: RowValues
}

export function transformOf(data: RowValues): UpdateTransform {
  const sorted = [...data].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  return { token: sorted.map(([f, v]) => `${f}\t${v}`).join('\t'), data: sorted }
}

/** What beginWrite found: the model's schemes, and with a transform, the active transforms. */
export interface BegunWrite {
  readonly schemes: readonly string[]
  readonly transforms: readonly string[]
  /**
   * With `guard`: the guard's generation, handed back at the write's end (`endWrite`). An
   * end whose guard lapsed or was made anew since makes its model whole.
   */
  readonly guard?: string | undefined
}

/** How invalidateRows treats the rows (see docs/design.md, "Writes"). */
export interface RowsChange {
  /**
   * The schemes the writer saw at beginWrite; undefined: the rows carry every field. A
   * scheme registered since (a read that leased during the write) may need fields the
   * writer did not read: the model then goes whole.
   */
  readonly seenSchemes?: readonly string[] | undefined
  /** Lower the write-in-progress guard beginWrite raised: its generation (BegunWrite.guard). */
  readonly endWrite?: string | undefined
  /** The update transform (its token) to end. */
  readonly endTransform?: string | undefined
  /**
   * Fields an update changed (undefined: unknown, or rows were created or deleted): a
   * field-scoped scheme none of whose read fields changed is skipped.
   */
  readonly changedFields?: readonly string[] | undefined
  /** The transforms an updateMany's beginWrite reported (its rows are keyed under them). */
  readonly transformsAtStart?: readonly string[] | undefined
}

/**
 * Where the cache lives. Every operation may fail (a store out of reach): callers report
 * it and go to the database; none of them may leave a stale entry behind by failing.
 */
export interface CacheStore {
  /** What it is, for messages and `stats()` ('redis', 'memory'). */
  readonly kind: string
  /** The key of an entry, from the hash of what identifies it. */
  entryKey(hash: string): string

  /**
   * The entry if every stamp it was stored with is current, else a lease on them; stamps
   * it makes live `ttl` seconds (the entry's TTL plus LEASE_MARGIN_SECONDS). `lockMs` > 0:
   * a miss also takes the entry's lock for that long (one caller computes). `refreshMs`
   * > 0: a stale entry (stale-while-revalidate) is served, and the first caller to see it
   * gets a lease to refresh it, held against other refreshers for that long.
   */
  readOrLease(entryKey: string, request: LeaseRequest, token: string, ttl: number, lockMs?: number, refreshMs?: number): Promise<ReadResult>
  /**
   * A hit-only check for the fast path: the payload of a fresh hit, or undefined (no lease
   * taken). Undefined at once when the store cannot tell without a lookup.
   */
  peek(entryKey: string): Promise<Buffer | undefined> | undefined
  /**
   * Stores unless a stamp of the lease changed since it was taken (or a mass write of one
   * of its models is under way or ended since). With `freshSeconds` (stale-while-
   * revalidate) the entry lives `ttl` seconds but is fresh only that long.
   */
  storeIfFresh(entryKey: string, lease: Lease, payload: Buffer, ttl: number, fromResult?: readonly ResultConjunction[], freshSeconds?: number): Promise<boolean>

  /** Releases an entry lock taken by readOrLease and wakes its waiters. */
  releaseLock(entryKey: string, token: string): Promise<void>
  /** Releases a stale entry's refresh after a failed refresh, so the next reader retries. */
  releaseRefresh(entryKey: string, token: string): Promise<void>
  /** Resolves when the entry's lock is released, or is not held, or after `timeoutMs`. */
  waitForUnlock(entryKey: string, timeoutMs: number): Promise<void>

  /**
   * Starts a write of `model`: the schemes cached reads of it depend on now. `guard` raises
   * its write-in-progress counter (stores of results depending on the model are refused
   * until invalidateRows ends it); `transform` registers an updateMany's data.
   */
  beginWrite(model: string, guard: boolean, transform?: UpdateTransform): Promise<BegunWrite>
  /** Voids the entries depending on conjunctions these rows fall under (or the model whole). */
  invalidateRows(model: string, rows: readonly RowValues[], change?: RowsChange): Promise<unknown>
  /** Voids every entry depending on these models. */
  invalidateModels(models: Iterable<string>): Promise<void>
  /** Voids every entry depending on these stamps (tags and bound tags; see tagKeyOf). */
  invalidateStamps(names: readonly string[]): Promise<void>
  /** Deletes these entries (memoized functions' invalidate). */
  deleteEntries(entryKeys: readonly string[]): Promise<void>
  /** Deletes everything this store holds under its prefix; how many keys went. */
  invalidateAll(): Promise<number>

  /** Lets go of what this client opened (connections, timers). */
  close(): Promise<void>
}

/** How long an entry lock lives (a holder that died), and how long waiters wait for it. */
export const LOCK_MS = 10_000
export const LOCK_WAIT_MS = 5_000
/** Extra seconds a conjunction stamp outlives the entry TTL while the result is computed. */
export const LEASE_MARGIN_SECONDS = 60
/** How long one caller owns the refresh of a stale entry (one refresher across processes). */
export const REFRESH_MS = 10_000
/** Seconds a write-in-progress counter outlives a writer that crashed before lowering it. */
export const WRITE_GUARD_SECONDS = 60
/**
 * How long an ended updateMany's data still applies to the model's invalidations: a writer
 * whose commit made a row enter the update's where clause may invalidate a little later.
 */
export const TRANSFORM_GRACE_MS = 30_000
