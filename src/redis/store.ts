import { keyOf, stampKeyOfDependency } from './keys.js'
import { randomBytes } from 'node:crypto'
import { Redis as IORedis, type Cluster, type Redis, type RedisOptions } from 'ioredis'
import { isNoScript, preloadScripts, scripts } from './scripts.js'
import { GenerationalMap } from '../util/generationalMap.js'
import type { Tracking } from './tracking.js'
import { CommandDeadlines } from './deadlines.js'
import { LockWaiter } from './lockWaiter.js'
import { beginWriteArgs, deleteConjKeysArgs, invalidateRowsArgs, readOrLeaseArgs, releaseLockArgs, storeIfFreshArgs } from './scriptArgs.js'
import { conjKeysOfRows, MAX_APPLIED_TRANSFORMS, rowsUnderTransforms } from '../invalidation/conjKeys.js'
import {
  LEASE_MARGIN_SECONDS, TRANSFORM_GRACE_MS, WRITE_GUARD_SECONDS,
  type BegunWrite, type CacheStore, type Lease, type LeaseRequest, type LockState, type ReadResult, type ResultConjunction, type RowsChange, type RowValues, type UpdateTransform,
} from '../store/types.js'

/**
 * A lease as the Redis store records it: the stamps it returned, as the entry header to
 * store with and the lines only checked at store time (see read_or_lease.lua).
 */
export interface RedisLease extends Lease {
  readonly header: string
  readonly checkOnly: string
  /** The connection generation it was taken in (see RedisStore: restarts). */
  readonly generation?: number
  /** When it was taken (ms, this process's clock): its stamps got LEASE_MARGIN_SECONDS of slack. */
  readonly takenAt?: number
}

/**
 * Payloads up to this size are kept inside their entry and come back in the read script's
 * reply; larger ones get a key of their own (see readOrLease).
 */
export const INLINE_PAYLOAD_BYTES = 1024

/** Where an entry's payload is kept when it is too large to keep inside the entry. */
const payloadKeyOf = keyOf.payload
/** Entries remembered as large (a bounded hint: forgetting one costs one inline copy). */
const MAX_LARGE_ENTRIES = 10_000
/** Entries whose header is remembered, per generation (see CacheStore.knownHeaders). */
const KNOWN_HEADERS_PER_GENERATION = 10_000

/**
 * An entry's dependencies as its header lists them: `names` one per header line, the line
 * without its stamp ("m Post", "c Post:id=7"), and the Redis keys of those stamps.
 */
interface KnownHeader {
  readonly names: readonly string[]
  readonly stampKeys: readonly string[]
  /** Set once a hit was checked the long way: see SeenEntry. */
  readonly seen?: SeenEntry
}
/**
 * An entry's first line and header, byte for byte (a copy), as a hit last found them, and
 * where in them each stamp is (start and end offsets, in header order). While the entry
 * starts with exactly these bytes, a hit is checked by comparing bytes instead of parsing
 * the header again (≈ 2 µs and a dozen strings less).
 */
interface SeenEntry {
  readonly start: Buffer
  readonly stampAt: readonly number[]
  readonly external: boolean
}
/** An entry only read_or_lease.lua can judge (stale-while-revalidate: Redis' clock). */
const SCRIPT_ONLY = 'script only'

/** A header line ("c <stamp> Post:id=7\n", newline cut) without its stamp: "c Post:id=7". */
function dependencyOfLine(line: string): string {
  return line[0]! + line.slice(line.indexOf(' ', 2))
}

function knownHeaderOf(prefix: string, names: readonly string[]): KnownHeader {
  return { names, stampKeys: names.map((n) => stampKeyOfDependency(prefix, n)) }
}

/** A store this soon after its lease leaves the lease's stamps alone (they outlive the entry). */
const STAMP_SLACK_MS = (LEASE_MARGIN_SECONDS - 10) * 1000

/** The id part of a registry marker ("<id> <n>"; see registry_version.lua). */
function registryIdOf(marker: string): string {
  const space = marker.indexOf(' ')
  return space < 0 ? marker : marker.slice(0, space)
}

/**
 * The stamps a lease returned, as the header (and check-only lines) to store with. After
 * the model and conjunction stamps come, per model, its count of mass writes ended, then
 * its registry's marker: checked at store time as "<count>|<registry id>", never kept in
 * the entry (see count_mass_write_end). The id makes a registry evicted and made again
 * since the lease, whose count starts over, refuse the store too.
 */
function leaseOf(lease: LeaseRequest, conjKeys: readonly string[], stamps: readonly string[], generation: number, token: string): RedisLease {
  let header = ''
  let checkOnly = ''
  const models = lease.models.length
  const ended = models + conjKeys.length
  lease.models.forEach((m, i) => {
    header += `m ${stamps[i]} ${m.name}\n`
    checkOnly += `w ${stamps[ended + i]}|${registryIdOf(stamps[ended + models + i] ?? '')} ${m.name}\n`
  })
  conjKeys.forEach((k, i) => {
    const line = `c ${stamps[models + i]} ${k}\n`
    if (i < lease.conjKeys.length) header += line
    else checkOnly += line
  })
  return { header, checkOnly, token, generation, takenAt: Date.now() }
}

/**
 * Connection failures in a row that open the circuit; how often a background PING probes
 * it while open (with the command deadline).
 */
const BREAKER_FAILURES = 3
const BREAKER_PROBE_MS = 1_000

/**
 * A command refused because the connection came back and it is not yet known whether
 * Redis restarted meanwhile (see CacheStore: restarts).
 */
export class UnverifiedRedisError extends Error {
  override name = 'UnverifiedRedisError'
  constructor() {
    super('Redis reconnected; the cache is skipped until it is known whether Redis restarted')
  }
}

/**
 * How long a command may take (see CommandDeadlines); a connection's own ioredis
 * `commandTimeout`, if shorter, applies too.
 */
export const COMMAND_DEADLINE_MS = 2_000

/** A command refused at once because Redis failed repeatedly just before. */
export class CircuitOpenError extends Error {
  override name = 'CircuitOpenError'
  constructor() {
    super('Redis failed repeatedly; commands are skipped for a moment (circuit open)')
  }
}

function isConnectionFailure(err: unknown): boolean {
  // Error replies (a script error, an unknown command) prove the connection works.
  return err instanceof Error && err.name !== 'ReplyError'
}

/** More conjunction keys than this for one write go through invalidate_rows.lua (Lua's stack). */
const MAX_DIRECT_KEYS = 1_000

/** Ids unique across processes (a random part and a counter), for new registry versions. */
const ID_PREFIX = randomBytes(6).toString('base64url')
let idCounter = 0
const freshId = () => `${ID_PREFIX}${(idCounter++).toString(36)}`

/**
 * A row invalidation as the Redis store carries it out: with the keys the rows fall under
 * built by the caller (RedisStore.invalidateRows), Redis only checks and deletes them.
 */
export interface RowInvalidation extends RowsChange {
  /** The keys the rows fall under for keySchemes (see conjKeysOfRows), built by the caller. */
  readonly conjKeys?: readonly string[] | undefined
  /** The schemes `conjKeys` were built for (default: seenSchemes); Redis checks them. */
  readonly keySchemes?: readonly string[] | undefined
  /**
   * The update transforms (data texts, see UpdateTransform) applied to the rows in
   * `conjKeys` (those beginWrite found active for an updateMany, or transformsToApply);
   * Redis checks that no other is active before deleting. Without it, or without
   * `conjKeys`, the full script builds the keys.
   */
  readonly transforms?: readonly string[] | undefined
  /**
   * The registry version `keySchemes` were learnt with, no transform active then (see
   * registry_version.lua). With none to apply and nothing to end, the keys go with a
   * plain DEL and the version is read beside it: no script.
   */
  readonly version?: RegistryVersion
}

/**
 * A model's registry version as a writer knows it (see registry_version.lua): null for no
 * registry, undefined for none to rely on.
 */
export type RegistryVersion = string | null | undefined

/** A registry version as the scripts report it. */
function registryVersionOf(reply: Buffer | string | undefined): RegistryVersion {
  const text = reply === undefined ? '*' : String(reply)
  return text === '*' ? undefined : text === '' ? null : text
}

/**
 * What invalidateRows did: keys deleted (-1: the model went whole). `schemesDiffer`: the
 * registry did not hold exactly the schemes the keys were built for; `registered`: the
 * schemes the full script found registered, when it ran and the model did not go whole.
 */
export interface RowsInvalidated {
  readonly deleted: number
  readonly schemesDiffer: boolean
  readonly registered?: readonly string[]
  /** The registry version the schemes the keys were built for, or `registered`, go with. */
  readonly version?: RegistryVersion
}

/**
 * Everything prisma-cacheops says to Redis. The keys it uses and what they hold:
 * redis/keys.ts (docs/design.md says how they are used).
 */
export class RedisStore implements CacheStore {
  readonly kind = 'redis'
  constructor(
    readonly redis: Redis | Cluster,
    readonly prefix: string,
    /** Told when a restart was detected and the prefix cleared (how many keys went). */
    private readonly onRestart: (deleted: number) => void = () => {},
    /** Whether close() closes the connection (the store opened it). */
    private readonly ownsConnection = false,
  ) {
    this.locks = new LockWaiter(redis, keyOf.unlockChannel(prefix), (entryKey) => this.lockHeld(entryKey))
    this.deadlines = new CommandDeadlines(COMMAND_DEADLINE_MS, (err) => this.noteOutcome(err))
    preloadScripts(redis)
    redis.on('ready', () => {
      // Redis restarted or failed over: its script cache is empty again.
      preloadScripts(redis)
      this.verifyServer()
    })
    redis.on('close', () => {
      this.generation++
      if (this.runId !== undefined) this.verified = false
      this.registries.clear()
    })
    if ((redis as Redis).status === 'ready') this.verifyServer()
  }

  /**
   * A store on a Redis given as a URL or ioredis options (a connection of its own, closed
   * with the store) or as an ioredis client (used as is, left open).
   */
  static open(connection: string | RedisOptions | Redis, prefix: string, onRestart?: (deleted: number) => void): RedisStore {
    if (typeof connection === 'object' && typeof (connection as Redis).evalsha === 'function') return new RedisStore(connection as Redis, prefix, onRestart)
    // Bounded failure: a dead Redis must not hold database writes hostage. No ioredis
    // commandTimeout: every command gets a deadline more cheaply (CommandDeadlines).
    const defaults = { maxRetriesPerRequest: 1, connectTimeout: 2000 }
    const redis = typeof connection === 'string' ? new IORedis(connection, defaults) : new IORedis({ ...defaults, ...(connection as RedisOptions) })
    redis.on('error', () => {}) // reported per command through onError instead
    return new RedisStore(redis, prefix, onRestart, true)
  }

  /** Every command's deadline: a hung Redis must not hold a database write forever. */
  private readonly deadlines: CommandDeadlines
  /** Where lock waiters wait (a subscriber connection, opened on first use). */
  private readonly locks: LockWaiter

  waitForUnlock(entryKey: string, timeoutMs: number): Promise<void> {
    return this.locks.wait(entryKey, timeoutMs)
  }

  async close(): Promise<void> {
    await this.locks.close()
    if (this.ownsConnection) await this.redis.quit().catch(() => this.redis.disconnect())
  }

  private get isCluster(): boolean {
    return (this.redis as Cluster).isCluster === true
  }

  /**
   * Restarts. A Redis that restarts from a snapshot (RDB/AOF) or fails over to a lagging
   * replica can come back *without* invalidations it had already taken: stamps a write
   * deleted are back, and the entries built on them would be served stale. So after a
   * reconnect, reads and stores are refused (and go to the database) until the server's
   * run_id is read: the same server → carry on; another → everything under the prefix is
   * deleted first. Leases taken before a disconnect are never stored after it.
   */
  private runId: string | undefined
  private verified = true
  private generation = 0

  private verifyServer(): void {
    if (this.isCluster) return // one run_id per node: not supported (nor is Cluster yet)
    const generation = this.generation
    this.deadlines
      .watch((this.redis as Redis).info('server'))
      .then(async (info) => {
        const id = /run_id:(\w+)/.exec(info)?.[1]
        if (id !== undefined && this.runId !== undefined && id !== this.runId) this.onRestart(await this.invalidateAll())
        if (generation !== this.generation) return // disconnected again meanwhile
        this.runId = id ?? this.runId
        // SET with both NX and GET, and EXPIRE GT, came with Redis 7.0.
        this.plainLeases = Number(/redis_version:(\d+)/.exec(info)?.[1] ?? 0) >= 7
        this.verified = true
      })
      .catch(() => {
        // Not known yet: try again shortly, unless the connection went (then 'ready' will).
        if (generation === this.generation) setTimeout(() => generation === this.generation && this.verifyServer(), 200).unref()
      })
  }

  private consecutiveFailures = 0
  private open = false

  /**
   * Every command goes through here: a circuit breaker. After BREAKER_FAILURES connection
   * failures in a row (timeouts, refused or closed connections — not Redis error replies),
   * commands fail at once instead of each waiting for its timeout, until a background PING
   * (every BREAKER_PROBE_MS) gets an answer: no request ever waits on a probe. Callers
   * treat the failure like any Redis failure.
   */
  private call<T>(command: () => Promise<T>): Promise<T> {
    if (this.open) return Promise.reject(new CircuitOpenError())
    if (!this.verified) return Promise.reject(new UnverifiedRedisError())
    let sent: Promise<T>
    try {
      sent = command()
    } catch (err) {
      sent = Promise.reject(err)
    }
    return this.deadlines.watch(sent)
  }

  /**
   * Commands issued by `send` leave in one socket write (one syscall, one packet) rather
   * than one each: measurably cheaper for a write's two-command invalidation.
   */
  private sentTogether<T>(send: () => T): T {
    const stream = (this.redis as { stream?: { cork(): void; uncork(): void } }).stream
    if (!stream) return send()
    stream.cork()
    try {
      return send()
    } finally {
      stream.uncork()
    }
  }

  /** The circuit breaker's count: how a command ended (undefined: answered). */
  private noteOutcome(err: unknown): void {
    if (err === undefined) this.consecutiveFailures = 0
    else if (isConnectionFailure(err) && ++this.consecutiveFailures >= BREAKER_FAILURES && !this.open) {
      this.open = true
      this.probeLater()
    }
  }

  private probeLater(): void {
    setTimeout(() => {
      // Not through call(), which refuses while the circuit is open.
      this.deadlines.watch(this.redis.ping()).then(() => {
        this.consecutiveFailures = 0
        this.open = false
      }, () => this.probeLater())
    }, BREAKER_PROBE_MS).unref()
  }

  /** The Redis key of a conjunction's (or tag's) stamp. */
  conjStampKey(conjKey: string): string {
    return keyOf.conjStamp(this.prefix, conjKey)
  }

  entryKey(hash: string): string {
    return keyOf.entry(this.prefix, hash)
  }

  /**
   * One round trip: the entry if all its stamps are current, else a lease (header).
   * `refreshMs` > 0 accepts stale entries (stale-while-revalidate): the first caller to
   * see one gets a lease to refresh it, held against other refreshers for that long.
   *
   * An entry whose header this process knows (it stored or read the entry) is checked with
   * a plain MGET of the entry, its external payload and its stamps, and read_or_lease.lua
   * runs only when that is no hit (a second round trip, on a miss or after a write): a Lua
   * call cost a hit ~18 µs more than a GET here, an MGET ~2 µs (docs/design.md).
   */
  readOrLease(entryKey: string, lease: LeaseRequest, token: string, ttl: number, lockMs = 0, refreshMs = 0): Promise<ReadResult> {
    const peeked = refreshMs === 0 ? this.peek(entryKey) : undefined
    if (peeked === undefined) return this.leaseOrHit(entryKey, lease, token, ttl, lockMs, refreshMs)
    return peeked.then((payload) => {
      if (payload !== undefined) return { hit: true, payload }
      // No hit: the script deletes a dead entry (with its payload) as it takes the lease.
      return this.checkOrLease(entryKey, lease, token, ttl, lockMs, refreshMs)
    })
  }

  /**
   * A hit-only check (the fast path, prisma/fastPath.ts): for an entry whose header this
   * process knows, the same MGET check readOrLease starts with, and its payload if it is a
   * hit. Undefined at once when the header is unknown (nothing sent), and the promise
   * resolves to undefined when it is no hit: then no lease was taken, readOrLease must run.
   * With `tracked` (the near cache, runtime/nearCache.ts): the check's keys (entry, payload,
   * stamps) are tracked by Redis for `tracking`, and handed to `before` right before the
   * check is sent (to register the fill's placeholder on them).
   */
  peek(entryKey: string, tracked?: { tracking: Tracking; before: (keys: readonly string[]) => void }): Promise<Buffer | undefined> | undefined {
    const known = this.knownHeaders.get(entryKey)
    if (known === undefined || known === SCRIPT_ONLY || this.isCluster) return undefined
    const keys = [entryKey, payloadKeyOf(entryKey), ...known.stampKeys]
    tracked?.before(keys)
    const check = () => this.redis.mgetBuffer(...keys)
    return this.call(tracked ? () => tracked.tracking.tracked(check) : check).then((values) => this.checkedHit(entryKey, known, values))
  }

  /** A lease with plain commands when this process may take one so, else the script. */
  private leaseOrHit(entryKey: string, lease: LeaseRequest, token: string, ttl: number, lockMs: number, refreshMs: number): Promise<ReadResult> {
    if (lockMs === 0 && refreshMs === 0 && this.plainLeases && !this.isCluster && this.schemesRegistered(lease)) {
      // Another token for the script: the plain commands may have made stamps (Lease.token).
      return this.plainLease(entryKey, lease, token, ttl).then((res) => res ?? this.checkOrLease(entryKey, lease, `${token}~`, ttl, lockMs, refreshMs))
    }
    return this.checkOrLease(entryKey, lease, token, ttl, lockMs, refreshMs)
  }

  /** Whether Redis takes the commands of a plain lease (7.0 and later; see plainLease). */
  private plainLeases = false
  /**
   * Per model, the registry id (see registry_version.lua) this process last saw and the
   * schemes it knows that registry holds: its leases registered them. A registry keeps
   * every scheme until it is deleted whole, and one made again has another id, so while
   * the id is the same the schemes are there.
   */
  private readonly registries = new Map<string, { readonly id: string; readonly schemes: Set<string> }>()

  private schemesRegistered(lease: LeaseRequest): boolean {
    for (const m of lease.models) {
      const known = this.registries.get(m.name)
      if (known === undefined) return false
      for (const s of m.schemes) if (!known.schemes.has(s)) return false
    }
    return true
  }

  /** After a lease script: the registries' markers it returned, and the schemes it registered. */
  private noteRegistries(lease: LeaseRequest, markers: readonly string[]): void {
    lease.models.forEach((m, i) => {
      const marker = markers[i] ?? ''
      const space = marker.indexOf(' ')
      if (space < 0) return void this.registries.delete(m.name) // none, or of an earlier layout
      const id = registryIdOf(marker)
      const known = this.registries.get(m.name)
      if (known?.id === id) for (const s of m.schemes) known.schemes.add(s)
      else this.registries.set(m.name, { id, schemes: new Set(m.schemes) })
    })
  }

  /**
   * read_or_lease.lua's work as plain commands, for a lease whose schemes this process
   * knows are registered (no lock, no stale-while-revalidate): one socket write of
   * `MGET entry entry#p m:<Model>...`, `HMGET e:<Model> _ ended` per model and, per
   * conjunction, `SET c:<conj> <token> NX GET EX <ttl>` (its stamp, made if missing) and
   * `EXPIRE c:<conj> <ttl> GT`. A Lua call cost a cold read 11–59 µs more than these
   * commands (interleaved scratch runs, docs/design.md). Resolves to undefined when the
   * script must judge: a registry not the one known (made again, evicted), a model stamp
   * missing, an entry that is no hit (void: the script deletes it with its payload; other
   * dependencies than the lease's; a stale-at time).
   * Not atomic, and it need not be: each stamp is read before the database is, and the
   * model stamps before the registry markers (see docs/design.md, "Plain leases").
   */
  private plainLease(entryKey: string, lease: LeaseRequest, token: string, ttl: number): Promise<ReadResult | undefined> {
    const models = lease.models
    const conjKeys = lease.checkOnlyKeys.length > 0 ? [...lease.conjKeys, ...lease.checkOnlyKeys] : lease.conjKeys
    const generation = this.generation
    const redis = this.redis as Redis
    const sent = this.call(() =>
      this.sentTogether(() => {
        const read = redis.mgetBuffer(entryKey, payloadKeyOf(entryKey), ...models.map((m) => keyOf.modelStamp(this.prefix, m.name)))
        const markers = Promise.all(models.map((m) => redis.hmget(keyOf.registry(this.prefix, m.name), '_', 'ended')))
        const stamps: Promise<unknown>[] = []
        const extended: Promise<unknown>[] = []
        for (const k of conjKeys) {
          const key = keyOf.conjStamp(this.prefix, k)
          stamps.push(redis.call('set', key, token, 'NX', 'GET', 'EX', ttl))
          extended.push(redis.call('expire', key, ttl, 'GT'))
        }
        return Promise.all([read, markers, Promise.all(stamps), Promise.all(extended)])
      }),
    )
    return sent.then(([values, markers, conjStamps]) => {
      for (let i = 0; i < models.length; i++) {
        const marker = markers[i]![0]
        const known = this.registries.get(models[i]!.name)
        if (!marker || known === undefined || registryIdOf(marker) !== known.id) {
          this.registries.delete(models[i]!.name)
          return undefined
        }
        if (values[i + 2] === null) return undefined // the script makes the model stamp
      }
      const stamps = [
        ...values.slice(2).map((v) => String(v)),
        ...conjStamps.map((v) => (v === null ? token : String(v))),
        ...markers.map(([, count]) => count ?? '0'),
        ...markers.map(([marker]) => marker!),
      ]
      if (values[0] !== null) {
        // An entry: a hit if its header is the lease's and its stamps the ones just read.
        const predicted = this.predictedHeader(lease)
        const checked: (Buffer | null)[] = [values[0]!, values[1] ?? null, ...stamps.slice(0, predicted.stampKeys.length).map((s) => Buffer.from(s, 'latin1'))]
        const payload = this.checkedHit(entryKey, predicted, checked)
        if (payload !== undefined) return { hit: true as const, payload }
        // Void (the script deletes it and its payload), other dependencies, or a stale-at
        // time: the script judges it.
        return undefined
      }
      this.learnSchemes(lease)
      return { hit: false as const, ...leaseOf(lease, conjKeys, stamps, generation, token), lock: 'none' as const }
    })
  }

  /**
   * The payload when `values` (an MGET of the entry, its external payload and `known`'s
   * stamps) is a fresh hit; else undefined, and what was learnt about the entry is noted.
   * Stamps are never reused, so equal ones mean no write since the entry was stored.
   */
  private checkedHit(entryKey: string, known: KnownHeader, values: readonly (Buffer | null)[]): Buffer | undefined {
    const entry = values[0]
    if (!entry) return this.forgetHeader(entryKey)
    const seen = known.seen
    if (seen !== undefined && entry.length >= seen.start.length && entry.compare(seen.start, 0, seen.start.length, 0, seen.start.length) === 0) {
      const at = seen.stampAt
      for (let i = 0; i < at.length; i += 2) {
        const current = values[i / 2 + 2]
        if (!current || seen.start.compare(current, 0, current.length, at[i], at[i + 1]) !== 0) return this.forgetHeader(entryKey)
      }
      const payload = seen.external ? values[1] : entry.subarray(seen.start.length)
      return payload ?? this.forgetHeader(entryKey)
    }
    const nl = entry.indexOf(10)
    const [lengthText, staleAt, external] = entry.toString('latin1', 0, nl).split(' ')
    // Stale-while-revalidate: only the script knows Redis' clock to judge it by.
    if (staleAt !== '0') return void this.knownHeaders.set(entryKey, SCRIPT_ONLY)
    const headerEnd = nl + 1 + Number(lengthText)
    const lines = entry.toString('utf8', nl + 1, headerEnd).split('\n')
    const count = lines.length - 1 // the header ends with a newline
    let sameDependencies = count === known.names.length
    for (let i = 0; i < count && sameDependencies; i++) sameDependencies = dependencyOfLine(lines[i]!) === known.names[i]
    if (!sameDependencies) {
      // Stored by another process with other dependencies (rows an include reached): the
      // script judges it now, and the next MGET asks for these stamps.
      this.knownHeaders.set(entryKey, knownHeaderOf(this.prefix, lines.slice(0, count).map(dependencyOfLine)))
      return undefined
    }
    for (let i = 0; i < count; i++) {
      const line = lines[i]!
      const current = values[i + 2]
      if (!current || current.toString('latin1') !== line.slice(2, line.indexOf(' ', 2))) return this.forgetHeader(entryKey)
    }
    const payload = external === '1' ? values[1] : entry.subarray(headerEnd)
    if (!payload) return this.forgetHeader(entryKey)
    this.notePayloadSize(entryKey, payload.length)
    // Lines are "<kind> <stamp> <name>\n"; names may hold any UTF-8, stamps are ASCII.
    const stampAt: number[] = []
    for (let line = nl + 1; line < headerEnd; line = entry.indexOf(10, line) + 1) stampAt.push(line + 2, entry.indexOf(32, line + 2))
    // A copy: what ioredis hands over is a view of a whole socket read.
    const start = Buffer.from(entry.subarray(0, headerEnd))
    this.knownHeaders.set(entryKey, { names: known.names, stampKeys: known.stampKeys, seen: { start, stampAt, external: external === '1' } })
    return payload
  }

  /**
   * Per entry, the dependencies its header was last seen with (this process stored or read
   * it): its hits are checked with one MGET. Bounded by two generations, so the entries
   * read often stay (a forgotten one is checked by the script once and known again).
   */
  private readonly knownHeaders = new GenerationalMap<string, KnownHeader | typeof SCRIPT_ONLY>(KNOWN_HEADERS_PER_GENERATION)
  /** What a lease request's entry header holds when nothing was added from the result. */
  private readonly predictedHeaders = new WeakMap<LeaseRequest, KnownHeader>()

  private forgetHeader(entryKey: string): undefined {
    this.knownHeaders.delete(entryKey)
    return undefined
  }

  private predictedHeader(lease: LeaseRequest): KnownHeader {
    let known = this.predictedHeaders.get(lease)
    if (known === undefined) {
      known = knownHeaderOf(this.prefix, [...lease.models.map((m) => `m ${m.name}`), ...lease.conjKeys.map((k) => `c ${k}`)])
      this.predictedHeaders.set(lease, known)
    }
    return known
  }

  /** The read script: a hit, or the lease (see readOrLease). */
  private checkOrLease(entryKey: string, lease: LeaseRequest, token: string, ttl: number, lockMs: number, refreshMs: number, retried = false): Promise<ReadResult> {
    const fetchesPayload = this.largeEntries.has(entryKey)
    const conjKeys = lease.checkOnlyKeys.length > 0 ? [...lease.conjKeys, ...lease.checkOnlyKeys] : lease.conjKeys
    const args = readOrLeaseArgs({ entryKey, prefix: this.prefix, token, ttl, request: lease, conjKeys, lockMs, refreshMs, callerFetchesPayload: fetchesPayload })
    const generation = this.generation
    const sent = fetchesPayload
      ? this.call(() => this.checkAndFetch(entryKey, args))
      : this.call(() => scripts.readOrLease.run(this.redis, args)).then((r) => [r, null] as const)
    return sent.then(([r, fetched]) => {
      const reply = r as [number, ...unknown[]]
      const payload = Buffer.isBuffer(reply[1]) ? reply[1] : fetched
      if (reply[0] !== 0) {
        if (payload === null) {
          // Read with a GET behind the check, the payload went in between (it expired, or a
          // reader that saw the entry invalidated deleted it): ask again, now for a lease.
          if (retried) throw new Error(`cache entry ${entryKey} vanished twice between its check and its read`)
          // Another token: the first call may have made stamps (see Lease.token). Tokens
          // never hold a '.' or '~' (base64url and base36), so this one is as unique.
          return this.checkOrLease(entryKey, lease, `${token}.`, ttl, lockMs, refreshMs, true)
        }
        this.notePayloadSize(entryKey, payload.length)
      }
      if (reply[0] === 1) {
        // Its header is most likely what the lease request predicts; if not, the next
        // MGET finds out.
        if (refreshMs === 0 && this.knownHeaders.get(entryKey) === undefined) this.knownHeaders.set(entryKey, this.predictedHeader(lease))
        return { hit: true, payload: payload! }
      }
      if (reply[0] === 3) return { hit: true, payload: payload!, stale: true }
      const stamps = reply.slice(2).map((b) => String(b))
      this.noteRegistries(lease, stamps.slice(2 * lease.models.length + conjKeys.length))
      const leased = leaseOf(lease, conjKeys, stamps, generation, token)
      if (reply[0] === 2) return { hit: true, payload: payload!, stale: true, refresh: { ...leased, refreshes: true } }
      const lock: LockState = reply[1] === 1 ? 'acquired' : reply[1] === 2 ? 'held' : 'none'
      this.learnSchemes(lease)
      return { hit: false, ...leased, lock }
    })
  }

  /**
   * The read script and a GET of the entry's external payload sent back to back on one
   * connection: one round trip, and the payload never passes through Lua (see
   * read_or_lease.lua). The GET must run after the script, so if Redis lacks the script the
   * pair is sent again in order.
   */
  private checkAndFetch(entryKey: string, args: (string | number | Buffer)[]): Promise<readonly [unknown, Buffer | null]> {
    const checked = scripts.readOrLease.runLoaded(this.redis, args)
    const payload = this.redis.getBuffer(payloadKeyOf(entryKey))
    return Promise.all([checked, payload]).catch(async (err: unknown) => {
      if (!isNoScript(err)) throw err
      const reply = await scripts.readOrLease.run(this.redis, args)
      return [reply, await this.redis.getBuffer(payloadKeyOf(entryKey))] as const
    })
  }

  /**
   * Entries whose payload was last seen larger than INLINE_PAYLOAD_BYTES (so stored under a
   * key of its own): their hits fetch it with a GET behind the check instead of through
   * Lua. A second command costs the client a few µs; a payload copied into Lua and out
   * costs Redis ~2.5 µs per kB (27 µs at 7 kB, 157 µs at 60 kB, measured), and Redis is
   * the part every process shares. Bounded: cleared when full (a forgotten entry costs one
   * copy through Lua).
   */
  private readonly largeEntries = new Set<string>()

  private notePayloadSize(entryKey: string, bytes: number): void {
    if (bytes <= INLINE_PAYLOAD_BYTES) {
      if (this.largeEntries.size > 0) this.largeEntries.delete(entryKey)
      return
    }
    if (this.largeEntries.size >= MAX_LARGE_ENTRIES) this.largeEntries.clear()
    this.largeEntries.add(entryKey)
  }

  /** The channel lock waiters listen on. */
  get unlockChannel(): string {
    return keyOf.unlockChannel(this.prefix)
  }

  /** Releases a lock taken by readOrLease and wakes its waiters. */
  async releaseLock(entryKey: string, token: string): Promise<void> {
    await this.call(() => scripts.releaseLock.run(this.redis, releaseLockArgs({ entryKey, token, channel: this.unlockChannel })))
  }

  /** Releases a stale entry's refresh lock after a failed refresh, so the next reader retries. */
  async releaseRefresh(entryKey: string, token: string): Promise<void> {
    await this.call(() => scripts.releaseLock.run(this.redis, releaseLockArgs({ entryKey, token, channel: '' })))
  }

  /** Whether an entry's lock is still held. */
  async lockHeld(entryKey: string): Promise<boolean> {
    return (await this.call(() => this.redis.exists(`${entryKey}#lock`))) === 1
  }

  /**
   * Stores unless a write invalidated any stamp of the lease meanwhile. With `freshSeconds`
   * (stale-while-revalidate) the entry lives `ttl` seconds but is fresh only that long.
   */
  async storeIfFresh(
    entryKey: string,
    leased: Lease,
    payload: Buffer,
    ttl: number,
    fromResult: readonly ResultConjunction[] = [],
    freshSeconds = 0,
  ): Promise<boolean> {
    const lease = leased as RedisLease
    // Taken before a disconnect: Redis may have restarted and lost what a write did since.
    if (lease.generation !== undefined && lease.generation !== this.generation) return false
    this.notePayloadSize(entryKey, payload.length)
    // The lease gave its stamps LEASE_MARGIN_SECONDS beyond the TTL; a result computed for
    // longer than most of that (or a lease of unknown age) extends them again.
    const extendHeader = lease.takenAt === undefined || Date.now() - lease.takenAt > STAMP_SLACK_MS
    const args = storeIfFreshArgs({
      entryKey, prefix: this.prefix, ttl, header: lease.header, payload, token: lease.token, checkOnly: lease.checkOnly, fromResult, freshSeconds,
      external: payload.length > INLINE_PAYLOAD_BYTES, endsRefresh: lease.refreshes === true, extendHeader,
    })
    const reply = await this.call(() => scripts.storeIfFresh.run(this.redis, args))
    if (reply !== 1) return false
    if (freshSeconds > 0) this.knownHeaders.set(entryKey, SCRIPT_ONLY)
    else {
      const names = lease.header.split('\n').slice(0, -1).map(dependencyOfLine)
      for (const c of fromResult) names.push(`c ${c.key}`)
      this.knownHeaders.set(entryKey, knownHeaderOf(this.prefix, names))
    }
    return true
  }

  /**
   * Per model, the update transforms (data texts) last seen in Redis (by an updateMany's
   * start, or a direct invalidation refused for a transform it did not apply), kept for
   * the transforms' grace period: this process's next writes of the model apply them to
   * their rows themselves (see transformsToApply).
   */
  private readonly transformsSeen = new Map<string, { readonly until: number; readonly transforms: readonly string[] }>()

  /**
   * The update transforms a plain write of `model` should apply to its rows so that
   * delete_conj_keys.lua accepts its keys: none, unless this process saw some lately.
   * Some of them may have ended since: applying those only deletes more keys.
   */
  transformsToApply(model: string): readonly string[] {
    const seen = this.transformsSeen.get(model)
    if (seen === undefined) return []
    if (seen.until > Date.now()) return seen.transforms
    this.transformsSeen.delete(model)
    return []
  }

  private noteTransforms(model: string, transforms: readonly string[]): void {
    this.transformsSeen.set(model, { until: Date.now() + TRANSFORM_GRACE_MS, transforms })
  }

  /**
   * Schemes of each model's cached reads as this process last heard them from Redis. A
   * write that raises no guard uses them instead of asking (one round trip less): if a
   * scheme was registered since, invalidate_rows.lua sees one the writer did not and
   * invalidates the model whole, and we ask again next time. Extra schemes that are gone
   * from Redis only make pre-reads read a few more fields.
   */
  private readonly knownSchemes = new Map<string, readonly string[]>()

  /**
   * The registry version (registry_version.lua) each model's known schemes were learnt
   * with, no update transform active then: a write keyed by exactly those schemes deletes
   * its keys with a plain DEL and checks the version beside it. Absent: none known.
   */
  private readonly knownVersions = new Map<string, string | null>()

  /** A copy of the model's registered schemes, kept as the same array while it is the same. */
  private rememberSchemes(model: string, schemes: readonly string[], version: RegistryVersion): void {
    const known = this.knownSchemes.get(model)
    if (!known || known.length !== schemes.length || schemes.some((s) => !known.includes(s))) this.knownSchemes.set(model, schemes)
    if (version === undefined) this.knownVersions.delete(model)
    else this.knownVersions.set(model, version)
  }

  /** Schemes a lease of this process registered keep the local copy current. */
  private learnSchemes(request: LeaseRequest): void {
    for (const { name, schemes } of request.models) {
      const known = this.knownSchemes.get(name)
      // A new array only when something is new: what writes derive from it is kept per array.
      // The registry has another version then, which the next write learns from its script.
      if (known && schemes.some((s) => !known.includes(s))) {
        this.knownSchemes.set(name, [...new Set([...known, ...schemes])])
        this.knownVersions.delete(name)
      }
    }
  }

  /**
   * Schemes cached reads of `model` depend on now; with `guard`, also raises the model's
   * write-in-progress counter (lowered by invalidateRows with `endWrite`). Without guard or
   * transform, the schemes this process knows, if it knows them (no round trip).
   */
  async beginWrite(model: string, guard: boolean, transform?: UpdateTransform): Promise<BegunWrite & { readonly version: RegistryVersion }> {
    if (!guard && !transform) {
      const known = this.knownSchemes.get(model)
      if (known) return { schemes: known, transforms: [], version: undefined }
    }
    const begun = await this.runBeginWrite(model, guard, transform)
    this.rememberSchemes(model, begun.schemes, begun.version)
    // The kept array: what is derived from a scheme list is memoized per array.
    return { ...begun, schemes: this.knownSchemes.get(model) ?? begun.schemes }
  }

  /** begin_write.lua: the schemes as Redis holds them, and the registry version. */
  async runBeginWrite(model: string, guard: boolean, transform?: UpdateTransform): Promise<BegunWrite & { readonly version: RegistryVersion }> {
    const args = beginWriteArgs({ prefix: this.prefix, model, guard: guard ? freshId() : undefined, guardSeconds: WRITE_GUARD_SECONDS, transform: transform?.token ? { token: transform.token, freshId: freshId() } : undefined })
    const reply = (await this.call(() => scripts.beginWrite.run(this.redis, args))) as [Buffer[], Buffer[], Buffer, Buffer]
    const begun = { schemes: reply[0].map(String), transforms: reply[1].map(String), version: registryVersionOf(reply[2]), ...(guard ? { guard: String(reply[3]) } : {}) }
    if (transform?.token) this.noteTransforms(model, begun.transforms)
    return begun
  }

  /**
   * Voids the entries depending on conjunctions the rows fall under. The keys are built
   * here, with the rows under every update transform active (as far as this process
   * knows: an updateMany's own start tells, other writes go by what was seen lately), so
   * that Redis only checks and deletes them; guards of nested writes end in the full
   * script, and so do writes while many transforms are active (each multiplies the keys).
   */
  async invalidateRows(model: string, rows: readonly RowValues[], change: RowsChange = {}): Promise<RowsInvalidated> {
    const { seenSchemes, endWrite, endTransform, changedFields } = change
    const known = change.transformsAtStart ?? (endWrite || endTransform ? undefined : this.transformsToApply(model))
    const transforms = known && known.length <= MAX_APPLIED_TRANSFORMS ? known : undefined
    // Rows with every field (created rows, read-back images) are keyed by the schemes this
    // process knows; Redis refuses the keys if the registry holds others.
    const keySchemes = seenSchemes ?? (rows.length > 0 ? this.knownSchemes.get(model) : undefined)
    // Keyed by the schemes whose registry version this process knows: no script needed.
    const versionKnown = keySchemes !== undefined && keySchemes === this.knownSchemes.get(model)
    // While a transform is active every scheme counts (it changes fields too).
    const images = keySchemes && transforms ? rowsUnderTransforms(rows, transforms) : null
    const keys = keySchemes && images ? conjKeysOfRows(model, keySchemes, images, transforms!.length > 0 ? undefined : changedFields) : null
    const done = await this.deleteRowKeys(model, rows, {
      seenSchemes,
      endWrite,
      endTransform,
      changedFields,
      conjKeys: keys ?? undefined,
      keySchemes,
      transforms: keys ? transforms : undefined,
      version: versionKnown ? this.knownVersions.get(model) : undefined,
    })
    // The full script ran: it tells what the registry holds now. Went whole, or our copy of
    // the schemes is out of date (a scheme we did not know, or one gone since the registry
    // was dropped and rebuilt): ask on the next write.
    if (done.registered) this.rememberSchemes(model, done.registered, done.version)
    else if (done.schemesDiffer) {
      this.knownSchemes.delete(model)
      this.knownVersions.delete(model)
    } else if (keySchemes !== undefined && keys) this.rememberSchemes(model, keySchemes, done.version)
    return done
  }

  /**
   * Deletes the conjunction keys the rows fall under: how many, or -1 when the model was
   * invalidated whole. `schemesDiffer`: the registry did not hold exactly `seenSchemes`
   * (the caller's copy of them is out of date).
   */
  async deleteRowKeys(model: string, rows: readonly RowValues[], how: RowInvalidation = {}): Promise<RowsInvalidated> {
    const { seenSchemes, endWrite, endTransform = '', changedFields, conjKeys, transforms, keySchemes = seenSchemes, version } = how
    if (rows.length === 0 && seenSchemes === undefined && !endWrite && !endTransform) return { deleted: 0, schemesDiffer: false }
    let schemesDiffer = false
    // The commonest case: a write whose process knows the registry version its schemes go
    // with, and no transform. The registry read after the commit being that version, no
    // scheme or transform appeared since the keys' schemes were learnt: a read registering
    // one later began after the commit (design.md, "Registry versions").
    if (version !== undefined && conjKeys !== undefined && transforms?.length === 0 && keySchemes !== undefined && !endWrite && !endTransform && conjKeys.length <= MAX_DIRECT_KEYS) {
      const keys = conjKeys.map((k) => keyOf.conjStamp(this.prefix, k))
      // No registry: entries may rely on one evicted; the model stamp goes (delete_conj_keys.lua).
      if (version === null) keys.push(keyOf.modelStamp(this.prefix, model))
      const [deleted, now] = await this.call(() =>
        this.sentTogether(() => Promise.all([keys.length > 0 ? this.redis.del(...keys) : 0, this.redis.hget(keyOf.registry(this.prefix, model), '_')])),
      )
      if (now === version) return { deleted, schemesDiffer, version }
      // Another version: the full script, which tells the schemes and version now.
      schemesDiffer = true
    } else if (conjKeys !== undefined && transforms !== undefined && keySchemes !== undefined && conjKeys.length <= MAX_DIRECT_KEYS) {
    // The common cases: the caller built the keys, Redis only checks, deletes, and ends an
    // updateMany. Refused with the transforms active when one the keys did not apply is
    // (they are noted, so this process's next writes apply them: updateManys tend to
    // recur); -3: a scheme the caller did not know, or its guard or transform gone (the
    // full script makes the model whole).
      const { args, numberOfKeys } = deleteConjKeysArgs({ prefix: this.prefix, model, conjKeys, endTransform, graceMs: TRANSFORM_GRACE_MS, endWrite, transforms, keySchemes })
      const reply = (await this.call(() => scripts.deleteConjKeys.run(this.redis, args, numberOfKeys))) as number | Buffer[] | [number, Buffer]
      if (Array.isArray(reply) && typeof reply[0] === 'number') return { deleted: reply[0], schemesDiffer, version: registryVersionOf(reply[1] as Buffer) }
      if (Array.isArray(reply)) this.noteTransforms(model, (reply as Buffer[]).map(String))
      else schemesDiffer = true
    }
    const args = invalidateRowsArgs({ prefix: this.prefix, model, seenSchemes, endWrite, endTransform, graceMs: TRANSFORM_GRACE_MS, changedFields, rows })
    const [deleted, versionNow, ...registered] = (await this.call(() => scripts.invalidateRows.run(this.redis, args))) as [number, Buffer, ...Buffer[]]
    if (deleted === -1) return { deleted, schemesDiffer: true }
    return { deleted, schemesDiffer, registered: registered.map(String), version: registryVersionOf(versionNow) }
  }

  /** Voids every entry depending on these models (their model stamps go, and their registries). */
  async invalidateModels(models: Iterable<string>): Promise<void> {
    await this.deleteKeys([...new Set(models)].flatMap((m) => [keyOf.modelStamp(this.prefix, m), keyOf.registry(this.prefix, m)]))
  }

  /** Deletes these keys (whole, prefix included). */
  async deleteKeys(keys: readonly string[]): Promise<void> {
    if (keys.length > 0) await this.call(() => this.redis.del(...keys))
  }

  async deleteEntries(entryKeys: readonly string[]): Promise<void> {
    await this.deleteKeys(entryKeys.flatMap((k) => [k, payloadKeyOf(k)]))
  }

  /** Voids every entry depending on these stamps (tags, see tagKeyOf): one key each. */
  async invalidateStamps(keys: readonly string[]): Promise<void> {
    await this.deleteKeys(keys.map((k) => keyOf.conjStamp(this.prefix, k)))
  }

  /** Deletes every key under this prefix; returns how many. */
  async invalidateAll(): Promise<number> {
    const pattern = `${this.prefix.replace(/[*?[\]\\]/g, '\\$&')}*`
    let cursor = '0'
    let deleted = 0
    do {
      // Not through call(): this runs before a reconnected server is verified.
      const [next, keys] = await this.deadlines.watch(this.redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000))
      cursor = next
      if (keys.length > 0) deleted += await this.deadlines.watch(this.redis.unlink(...keys))
    } while (cursor !== '0')
    return deleted
  }
}
