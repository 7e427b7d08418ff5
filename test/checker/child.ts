// One checker process: its own PrismaClient + cacheops (same Redis prefix and database as
// the other processes), several async workers running seeded operation streams, and the
// comparison of every (shape, params) this process has read against `.nocache()`.
// Started by checker.ts with `fork(..., { execArgv: ['--import', 'tsx'] })`; driven over IPC.
import { writeFileSync } from 'node:fs'
import type { Counters, FromChild, InitMessage, Mismatch, PhaseMessage, ToChild } from './protocol.ts'
import { READ_MIXES, SHAPE_BY_NAME, runRead, type ReadShape } from './reads.ts'
import { Rng, deriveSeed } from './rng.ts'
import { checkerClient, canonical, errorCode, type CheckerClient, type Db } from './world.ts'
import { Rollback, WRITE_MIXES, type WriteContext, type WriteOp } from './writes.ts'

/** Mismatch samples sent back per check (the count is always exact). */
const MAX_SAMPLES = 10
/** Share of writes routed around the cache in sabotage mode. */
const SABOTAGE_RATE = 0.25

let init: InitMessage | undefined
let client: CheckerClient | undefined
/** Every (shape, params) this process has read, keyed by shape name + canonical params. */
const catalogue = new Map<string, { shape: ReadShape; params: Record<string, unknown> }>()
const counters: Counters = {
  ops: 0, reads: 0, workHits: 0, writes: 0, writeErrors: 0, writeErrorsByCode: {}, writeErrorSamples: {}, writesByOp: {}, rolledBack: 0, sabotaged: 0,
  unexpected: 0, unexpectedSamples: [], anomalies: 0, anomalySamples: [], checked: 0, checkHits: 0, mismatches: 0, cacheErrors: 0, cacheErrorSamples: [], catalogue: 0, fastHits: 0, nearHits: 0,
}

function send(msg: FromChild): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send || !process.connected) return resolve()
    process.send(msg, undefined, {}, () => resolve())
  })
}

function snapshot(): Counters {
  const stats = client?.prisma.$cacheops.stats()
  counters.cacheErrors = stats?.errors ?? 0
  counters.fastHits = stats?.fastHits ?? 0
  counters.nearHits = stats?.nearHits ?? 0
  counters.cacheErrorSamples = [...(client?.cacheErrors ?? [])]
  counters.catalogue = catalogue.size
  return structuredClone(counters)
}

function unexpected(where: string, err: unknown): void {
  counters.unexpected++
  if (counters.unexpectedSamples.length < 10) {
    const e = err as Error
    counters.unexpectedSamples.push(`${where}: ${errorCode(err)}: ${String(e?.message ?? err).slice(0, 600)}`)
  }
}

function remember(shape: ReadShape, params: Record<string, unknown>): void {
  const key = `${shape.name} ${canonical(params)}`
  if (!catalogue.has(key)) catalogue.set(key, { shape, params })
}

/** A cached read as the application would make it; recorded for the checks. */
async function cachedRead(shape: ReadShape, params: Record<string, unknown>, db: Db): Promise<unknown> {
  remember(shape, params)
  counters.reads++
  try {
    return await runRead(shape, db, false, params)
  } catch (err) {
    unexpected(`read ${shape.name} ${canonical(params)}`, err) // reads never fail legitimately
    return undefined
  }
}

async function worker(rng: Rng, ops: number, readShapes: readonly ReadShape[], writeOps: readonly WriteOp[], readFraction: number): Promise<void> {
  const { prisma, base } = client!
  const ctx: WriteContext = {
    async read(name, params, db = prisma) {
      const shape = SHAPE_BY_NAME.get(name)
      if (!shape) throw new Error(`unknown read shape ${name}`)
      await cachedRead(shape, params, db)
    },
  }
  for (let i = 0; i < ops; i++) {
    counters.ops++
    if (rng.chance(readFraction)) {
      const shape = rng.weighted(readShapes)
      await cachedRead(shape, shape.params(rng), prisma)
      continue
    }
    const op = rng.weighted(writeOps)
    counters.writes++
    const tally = (counters.writesByOp[op.name] ??= [0, 0])
    tally[0]++
    let db = prisma
    if (init!.sabotage && rng.chance(SABOTAGE_RATE)) {
      // Same writes, but below the cache: nothing gets invalidated.
      db = base as unknown as Db
      counters.sabotaged++
    }
    try {
      await op.run(db, rng, ctx)
    } catch (err) {
      if (err instanceof Rollback) counters.rolledBack++
      else if (/^P\d{4}$/.test(errorCode(err))) {
        // The database refused the write (conflict with another worker's data): expected.
        counters.writeErrors++
        tally[1]++
        const code = errorCode(err)
        counters.writeErrorsByCode[code] = (counters.writeErrorsByCode[code] ?? 0) + 1
        if (/25P02|current transaction is aborted/.test(String((err as Error).message))) {
          // Our transactions never continue after a failed statement: someone else did.
          counters.anomalies++
          if (counters.anomalySamples.length < 5) counters.anomalySamples.push(`${op.name}: ${String((err as Error).message).slice(0, 1500)}`)
        }
        counters.writeErrorSamples[code] ??= `${op.name}: ${String((err as Error).message).split('\n').filter(Boolean).slice(-1)[0]?.slice(0, 300)}`
      } else unexpected(`write ${op.name}`, err)
    }
  }
}

async function runPhase(msg: PhaseMessage): Promise<void> {
  const { workers } = init!
  client!.trace.length = 0 // the trace covers one phase: a stale entry found at its check was made in it
  client!.latency.ms = init!.latencyMs
  const hitsBefore = client!.prisma.$cacheops.stats().hits
  await Promise.all(
    Array.from({ length: workers }, (_, w) => {
      const ops = Math.floor(msg.ops / workers) + (w < msg.ops % workers ? 1 : 0)
      // Hot phases write more: every write there is a race on the same few rows.
      return worker(new Rng(deriveSeed(msg.seed, w)), ops, READ_MIXES[msg.mix], WRITE_MIXES[msg.mix], msg.mix === 'hot' ? 0.5 : init!.readFraction)
    }),
  )
  counters.workHits += client!.prisma.$cacheops.stats().hits - hitsBefore
}

/**
 * Called at a quiescent point (no write in flight anywhere): every cached answer must now
 * equal the database's. The cached read goes first; on a miss it simply reads and stores
 * the current value, which the fresh read then confirms.
 */
async function check(phase: number, scope: 'all' | 'hot'): Promise<Mismatch[]> {
  const { prisma } = client!
  const found: Mismatch[] = []
  const hitsBefore = prisma.$cacheops.stats().hits
  client!.latency.ms = 0 // nothing races here: compare at full speed
  const entries = [...catalogue.values()].filter((e) => scope === 'all' || e.shape.hot)
  let next = 0
  const lane = async () => {
    while (next < entries.length) {
      const { shape, params } = entries[next++]!
      counters.checked++
      let cached: string
      let fresh: string
      try {
        cached = canonical(await runRead(shape, prisma, false, params))
        fresh = canonical(await runRead(shape, prisma, true, params))
      } catch (err) {
        unexpected(`check ${shape.name} ${canonical(params)}`, err)
        continue
      }
      if (cached !== fresh) {
        counters.mismatches++
        if (found.length < MAX_SAMPLES) found.push({ process: init!.index, phase, shape: shape.name, params, cached, fresh })
      }
    }
  }
  await Promise.all(Array.from({ length: init!.workers }, lane))
  counters.checkHits += prisma.$cacheops.stats().hits - hitsBefore
  return found
}

function dump(file: string): number {
  const replacer = (_k: string, v: unknown) =>
    typeof v === 'bigint' ? `${v}n` : v instanceof Uint8Array ? `bytes:${Buffer.from(v).toString('hex')}` : v
  const lines = client!.trace.map((e) => JSON.stringify({ p: init!.index, ...e }, replacer))
  writeFileSync(file, lines.join('\n') + '\n')
  return lines.length
}

async function handle(msg: ToChild): Promise<void> {
  switch (msg.type) {
    case 'init':
      init = msg
      client = checkerClient(msg.url, msg.prefix, { trace: msg.trace, latencyMs: msg.latencyMs, nearCache: msg.nearCache })
      await client.prisma.$connect()
      return send({ type: 'ready', index: msg.index })
    case 'phase':
      await runPhase(msg)
      return send({ type: 'phaseDone', phase: msg.phase, counters: snapshot() })
    case 'check': {
      const mismatches = await check(msg.phase, msg.scope)
      return send({ type: 'checkDone', phase: msg.phase, counters: snapshot(), mismatches })
    }
    case 'dump':
      return send({ type: 'dumped', file: msg.file, entries: dump(msg.file) })
    case 'close':
      await client?.close()
      await send({ type: 'closed', counters: snapshot() })
      process.exit(0)
  }
}

async function fatal(err: unknown): Promise<never> {
  const e = err as Error
  await send({ type: 'fatal', message: `process ${init?.index}: ${e?.stack ?? String(err)}` }).catch(() => {})
  process.exit(1)
}

// Messages are handled one at a time, in order.
let queue = Promise.resolve()
process.on('message', (msg: ToChild) => {
  queue = queue.then(() => handle(msg)).catch(fatal)
})
// The parent went away (crashed, killed, test timed out): never outlive it.
process.on('disconnect', () => process.exit(2))
process.on('uncaughtException', (err) => void fatal(err))
process.on('unhandledRejection', (err) => void fatal(err))
if (!process.send) {
  console.error('test/checker/child.ts is started by test/checker/checker.ts over IPC')
  process.exit(1)
}
