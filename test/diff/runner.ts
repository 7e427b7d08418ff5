// Runs an operation sequence (generated on the fly, or replayed) on the cached client (A) and
// the plain client (B), comparing every write's outcome, every pool read (cached vs plain on
// A) after every write, and the whole content of A and B.
import { Rng } from '../checker/rng.ts'
import { diffDumps, dumpOf } from './db.ts'
import type { DiffEnv } from './env.ts'
import { runOp, runRead, type AnyClient } from './exec.ts'
import { genOp } from './gen.ts'
import type { Call, Op, Snapshot } from './ops.ts'
import { World } from './world.ts'

export interface RunOptions {
  /** Writes on A go through the plain client below the cache (reads still cached): no invalidation. */
  bypass?: boolean
  poolSize?: number
  /** Compare A's and B's content after every `contentEvery` writes (and at the end). */
  contentEvery?: number
  /**
   * Shrinking a stale read: only this read is compared (cached vs plain on A); the other
   * reads still run through the cache, writes run on A alone (B and content are not needed).
   */
  focus?: Call
  /**
   * Sequences of A and B that differ while every table is equal (the cache made Prisma run
   * different SQL, e.g. a non-native upsert that consumes no sequence value): a mismatch
   * ('strict', the default), or noted and A's sequences set to B's ('resync').
   */
  sequences?: 'strict' | 'resync'
  /** Generate operations on these models only (exploration). */
  models?: string[]
  /** Shrinking a write or content mismatch: reads run through the cache (its state matters) but are not compared. */
  skipReads?: boolean
}

export interface Mismatch {
  /** Index of the operation after which it showed. */
  index: number
  kind: 'read' | 'write' | 'content'
  /** The read that differed (kind read). */
  call?: Call
  expected: string
  got: string
}

export interface Stats {
  ops: number
  writes: number
  readsCompared: number
  writesCompared: number
  contentChecks: number
  /** Write outcomes that were errors (on both sides). */
  writeErrors: number
  /** Sequence divergences resynchronised (`sequences: 'resync'`). */
  sequenceResyncs: number
  /** Write outcomes by error code (`ok` for successes). */
  outcomes: Record<string, number>
  /** Successful writes per `Model.method` (calls of transactions included): what the run covered. */
  okWrites: Record<string, number>
}

export interface RunResult {
  ops: Op[]
  stats: Stats
  mismatch?: Mismatch
  /** B's state after op `index`, for the ops followed by a content check. */
  history?: Map<number, Snapshot>
  /** With `keepGoing`: every mismatch found, in order (the first is `mismatch`). */
  found?: Found[]
}

/** A mismatch found while exploring on (keepGoing), with what shrinking it needs. */
export interface Found {
  mismatch: Mismatch
  /** The operations so far (including those before earlier recoveries). */
  ops: Op[]
  history: Map<number, Snapshot>
  /** Time since the exploration started. */
  ms: number
}

const newStats = (): Stats => ({ ops: 0, writes: 0, readsCompared: 0, writesCompared: 0, contentChecks: 0, writeErrors: 0, sequenceResyncs: 0, outcomes: {}, okWrites: {} })

class Session {
  readonly stats = newStats()
  readonly pool: (Call | undefined)[]
  readonly ops: Op[] = []
  /** B's state after op `index` (taken at every content check): shrinking starts from these. */
  readonly history = new Map<number, Snapshot>()
  private writesSinceContent = 0

  constructor(
    readonly env: DiffEnv,
    public cached: AnyClient,
    readonly o: RunOptions,
  ) {
    this.pool = new Array<Call | undefined>(o.poolSize ?? 30).fill(undefined)
  }

  private get mask() {
    return this.env.info.updatedAtFields
  }

  async compareRead(index: number, call: Call): Promise<Mismatch | undefined> {
    const sort = call.method === 'groupBy'
    const got = await runRead(this.cached, call, this.mask, sort)
    const expected = await runRead(this.env.plainA, call, this.mask, sort)
    this.stats.readsCompared++
    if (got.text !== expected.text) return { index, kind: 'read', call, expected: expected.text, got: got.text }
    return undefined
  }

  async compareContent(index: number): Promise<Mismatch | undefined> {
    this.writesSinceContent = 0
    this.stats.contentChecks++
    const mask = this.env.info.updatedAtColumns
    const snapB = await this.env.dbB.snapshot()
    this.history.set(index, snapB)
    // Bounded: every state of the last 64 ops, every 16th before.
    for (const k of this.history.keys()) if (k < index - 64 && k % 16 !== 0) this.history.delete(k)
    const snapA = await this.env.dbA.snapshot()
    const d = diffDumps(dumpOf(snapA, mask), dumpOf(snapB, mask))
    if (d?.table === '(sequences)' && this.o.sequences === 'resync') {
      this.stats.sequenceResyncs++
      for (const [name, [value]] of Object.entries(snapB.sequences)) await this.env.dbA.client.query('SELECT setval($1, $2, true)', [`"${name}"`, value])
      for (const name of Object.keys(snapA.sequences)) if (!(name in snapB.sequences)) await this.env.dbA.client.query('SELECT setval($1, 1, false)', [`"${name}"`])
      return undefined
    }
    if (d) return { index, kind: 'content', expected: `B ${d.table}: ${JSON.stringify(d.onlyB)}`, got: `A ${d.table}: ${JSON.stringify(d.onlyA)}` }
    return undefined
  }

  async step(op: Op): Promise<Mismatch | undefined> {
    const index = this.ops.length
    this.ops.push(op)
    this.stats.ops++
    if (op.k === 'restore') {
      await this.env.dbA.restore(op.snapshot)
      await this.env.dbB.restore(op.snapshot)
      return undefined
    }
    if (op.k === 'cold') {
      this.cached = await this.env.freshCached()
      if (!this.o.focus) this.pool.fill(undefined)
      return undefined
    }
    if (this.o.focus) return this.focusedStep(index, op, this.o.focus)
    if (op.k === 'read') {
      this.pool[op.slot % this.pool.length] = op.call
      if (this.o.skipReads) {
        await runRead(this.cached, op.call, this.mask, false)
        return undefined
      }
      return this.compareRead(index, op.call)
    }
    this.stats.writes++
    const a = await runOp(this.o.bypass ? this.env.plainA : this.cached, op, this.mask)
    const b = await runOp(this.env.plainB, op, this.mask)
    this.stats.writesCompared++
    if (b.text.startsWith('error')) this.stats.writeErrors++
    const code = b.text.startsWith('error') ? b.text.slice(6) : b.text.split(' ')[0]!
    this.stats.outcomes[code] = (this.stats.outcomes[code] ?? 0) + 1
    if (!b.text.startsWith('error'))
      for (const c of op.k === 'write' ? [op.call] : op.k === 'raw' ? [] : op.calls) {
        const key = `${c.model}.${c.method}`
        this.stats.okWrites[key] = (this.stats.okWrites[key] ?? 0) + 1
      }
    if (process.env.DIFF_DEBUG === '2') console.log(index, JSON.stringify(op).slice(0, 200), '=>', b.text.slice(0, 80))
    if (process.env.DIFF_DEBUG && b.text.startsWith('error')) console.log(JSON.stringify(op).slice(0, 400), '\n   ->', (b.error as { code?: string })?.code, String((b.error as Error)?.message).replace(/\s+/g, ' ').slice(-250))
    if (a.text !== b.text) return { index, kind: 'write', expected: b.text, got: a.text }
    if (++this.writesSinceContent >= (this.o.contentEvery ?? 1)) {
      const m = await this.compareContent(index)
      if (m) return m
    }
    for (const call of this.pool) {
      if (!call) continue
      if (this.o.skipReads) {
        // Still through the cache: what it holds shapes how writes invalidate.
        await runRead(this.cached, call, this.mask, false)
        continue
      }
      const m = await this.compareRead(index, call)
      if (m) return m
    }
    return undefined
  }

  private focusKey: string | undefined
  private focusSeen = false

  private async focusedStep(index: number, op: Exclude<Op, { k: 'cold' }>, focus: Call): Promise<Mismatch | undefined> {
    this.focusKey ??= JSON.stringify(focus)
    if (op.k === 'read') {
      if (JSON.stringify(op.call) === this.focusKey) {
        this.focusSeen = true
        return this.compareRead(index, op.call)
      }
      await runRead(this.cached, op.call, this.mask, false)
      return undefined
    }
    if (op.k === 'restore') return undefined
    this.stats.writes++
    await runOp(this.o.bypass ? this.env.plainA : this.cached, op, this.mask)
    return this.focusSeen ? this.compareRead(index, focus) : undefined
  }

  async finish(): Promise<Mismatch | undefined> {
    if (this.o.focus) return undefined
    return this.compareContent(this.ops.length - 1)
  }
}

async function begin(env: DiffEnv, o: RunOptions): Promise<Session> {
  await env.reset()
  const cached = await env.freshCached()
  return new Session(env, cached, o)
}

/**
 * Replays `ops` from empty databases; stops at the first mismatch. `snapshotAt` (op indexes):
 * B's state just before those ops is captured into `snapshots`.
 */
export async function replay(env: DiffEnv, ops: readonly Op[], o: RunOptions = {}, snapshotAt?: Set<number>, snapshots?: Map<number, Snapshot>): Promise<RunResult> {
  const s = await begin(env, o)
  for (const [i, op] of ops.entries()) {
    if (snapshotAt?.has(i)) snapshots!.set(i, await (o.focus ? env.dbA : env.dbB).snapshot())
    const m = await s.step(op)
    if (m) return { ops: s.ops, stats: s.stats, mismatch: m }
  }
  const m = s.ops.length ? await s.finish() : undefined
  return { ops: s.ops, stats: s.stats, ...(m ? { mismatch: m } : {}) }
}

/** Generates and runs operations from `seed` for `seconds` (or `maxOps`); stops at the first mismatch. */
export async function explore(env: DiffEnv, seed: number, seconds: number, o: RunOptions & { maxOps?: number; keepGoing?: number } = {}): Promise<RunResult> {
  const t0 = Date.now()
  const s = await begin(env, o)
  const rng = new Rng(seed)
  const world = new World(rng, env.info, async (m) => {
    const delegate = (env.plainB as unknown as Record<string, { findMany(a: unknown): Promise<Record<string, unknown>[]> }>)[m.delegate]!
    // The oldest rows and the newest: keys just past the newest are where new rows will go
    // (reads of them, cached before a create, show a create's missed invalidation).
    const order = (dir: 'asc' | 'desc') => m.orderKey.map((k) => ({ [k]: dir }))
    const [first, last] = [await delegate.findMany({ take: 25, orderBy: order('asc') }), await delegate.findMany({ take: 15, orderBy: order('desc') })]
    const keyOf = (r: Record<string, unknown>) => m.orderKey.map((k) => String(r[k])).join('\u0000')
    const seen = new Set(first.map(keyOf))
    return [...first, ...last.reverse().filter((r) => !seen.has(keyOf(r)))]
  })
  const deadline = t0 + seconds * 1000
  const found: Found[] = []
  const done = (m?: Mismatch): RunResult => ({ ops: s.ops, stats: s.stats, history: s.history, ...(m ? { mismatch: m } : {}), ...(o.keepGoing ? { found } : {}) })
  /** keepGoing: records the mismatch, then starts over from B's state with an empty cache. */
  const recover = async (m: Mismatch): Promise<boolean> => {
    found.push({ mismatch: m, ops: s.ops.slice(), history: new Map(s.history), ms: Date.now() - t0 })
    if (found.length >= (o.keepGoing ?? 0)) return false
    if (m.kind !== 'read') await env.dbA.restore(await env.dbB.snapshot())
    s.cached = await env.freshCached()
    return true
  }
  let dirty = true
  while (Date.now() < deadline && s.ops.length < (o.maxOps ?? Infinity)) {
    if (dirty) {
      world.invalidate()
      await world.preload()
    }
    const op = genOp(world, { poolSize: o.poolSize ?? 30, models: o.models })
    dirty = op.k !== 'read' && op.k !== 'cold'
    const m = await s.step(op)
    if (m && !(o.keepGoing && (await recover(m)))) return done(found[0]?.mismatch ?? m)
  }
  const m = s.ops.length ? await s.finish() : undefined
  if (m && o.keepGoing) await recover(m)
  return done(found[0]?.mismatch ?? m)
}
