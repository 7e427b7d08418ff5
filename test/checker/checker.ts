// The consistency checker: P processes × W async workers run seeded random reads and
// writes against one database and one Redis prefix, in phases. After each phase (a
// quiescent point: every write has returned, so its invalidation has run) every process
// compares each cached read it has made so far with the same read through `.nocache()`.
// Any difference is a stale cache entry: a mismatch. Phases rotate through write mixes
// (see runChecker) and every database statement gets a little random latency (world.ts
// LaggyPool), both to give races a chance and their leftovers time to be seen.
// Used by test/consistency-checker.test.ts and scripts/check-consistency.ts.
import { fork, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { freshDatabase } from '../helpers.ts'
import type { Counters, FromChild, Mismatch, ToChild } from './protocol.ts'
import { deriveSeed } from './rng.ts'
import { checkerClient, seedWorld } from './world.ts'

export interface CheckerOptions {
  seed: number
  processes: number
  /** Async workers per process. */
  workers: number
  phases: number
  /** Operations per phase, over all processes. */
  opsPerPhase: number
  /** Share of operations that are reads (default 0.75). */
  readFraction?: number
  /** Process 0 sends a share of its writes around the cache (the checker must notice). */
  sabotage?: boolean
  /**
   * Up to this many ms of random delay before and after each database statement during
   * the work phases (default 2): simulated network latency, which widens race windows.
   */
  latencyMs?: number
  /** Every process's client runs with `nearCache: true` (strict). */
  nearCache?: boolean
  /** 'memory': each process's clients share one memoryStore() (so run one process). */
  store?: 'redis' | 'memory'
  /**
   * Record every Prisma call, to dump a trace on the first failing phase. Default: in every
   * other process (even index); the others run without the tracing query extension, which
   * would turn cacheops' fast path off, so that the fast path is checked too.
   */
  trace?: boolean
  /** Suffix of the database name (see freshDatabase); default 'checker'. */
  database?: string
  /** Keep the database afterwards (default: dropped). */
  keepDatabase?: boolean
  /** Progress lines; default none. */
  log?: (line: string) => void
  /** Limit for any one phase or check, ms (default 300 000). */
  stepTimeoutMs?: number
  /** Stops the run (with cleanup) at the next quiescent point. */
  signal?: AbortSignal
}

export interface CheckerSummary {
  seed: number
  processes: number
  workers: number
  phases: number
  operations: number
  reads: number
  /** Reads served from the cache during the work phases. */
  cacheHits: number
  /** cacheHits / reads. */
  hitRatio: number
  /** `$cacheops.stats().hits` summed over processes: work phases and checks. */
  totalHits: number
  /** Of all hits, those the fast path answered. */
  fastHits: number
  nearHits: number
  writes: number
  writeErrors: number
  writeErrorsByCode: Record<string, number>
  writeErrorSamples: Record<string, string>
  /** Per write op: [attempts, database refusals]. */
  writesByOp: Record<string, [number, number]>
  rolledBack: number
  sabotaged: number
  /** (shape, params) comparisons made at checks, over all phases and processes. */
  checked: number
  mismatches: number
  samples: Mismatch[]
  /** Write errors reported with the wrong code (see Counters.anomalies). */
  anomalies: number
  anomalySamples: string[]
  /** Checker or library errors that are not data conflicts (must be 0). */
  unexpected: number
  unexpectedSamples: string[]
  cacheErrors: number
  cacheErrorSamples: string[]
  /** Directory with the traces of the first failing phase, if any. */
  traceDir?: string
  durationMs: number
}

const CHILD = fileURLToPath(new URL('./child.ts', import.meta.url))
const ROOT = fileURLToPath(new URL('../../', import.meta.url))

/** One worker process with request/response over IPC; any exit or fatal fails the waiters. */
class Child {
  readonly proc: ChildProcess
  private waiting: { type: FromChild['type']; resolve: (m: FromChild) => void; reject: (e: Error) => void }[] = []
  private failure: Error | undefined
  exited: Promise<void>

  constructor(readonly index: number, store: 'redis' | 'memory' = 'redis') {
    // `--import tsx` is resolved from cwd: start in the repository root.
    this.proc = fork(CHILD, [], { cwd: ROOT, execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env: { ...process.env, CACHEOPS_STORE: store } })
    this.proc.on('message', (m: FromChild) => {
      if (m.type === 'fatal') return this.fail(new Error(m.message))
      const i = this.waiting.findIndex((w) => w.type === m.type)
      if (i >= 0) this.waiting.splice(i, 1)[0]!.resolve(m)
    })
    this.exited = new Promise((resolve) => this.proc.once('exit', () => resolve()))
    this.proc.once('exit', (code, signal) => this.fail(new Error(`checker process ${index} exited (${signal ?? code})`)))
    this.proc.once('error', (err) => this.fail(err))
  }

  private fail(err: Error): void {
    this.failure ??= err
    for (const w of this.waiting.splice(0)) w.reject(this.failure)
  }

  request<T extends FromChild['type']>(msg: ToChild, reply: T, timeoutMs: number): Promise<Extract<FromChild, { type: T }>> {
    if (this.failure) return Promise.reject(this.failure)
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => this.fail(new Error(`checker process ${this.index}: no '${reply}' within ${timeoutMs} ms`)), timeoutMs)
      this.waiting.push({
        type: reply,
        resolve: (m) => (clearTimeout(timer), resolve(m as Extract<FromChild, { type: T }>)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      })
      this.proc.send(msg)
    })
  }

  /** Asks it to close its clients; kills it if it does not exit in time. */
  async stop(): Promise<Counters | undefined> {
    let counters: Counters | undefined
    if (!this.failure && this.proc.connected) {
      counters = await this.request({ type: 'close' }, 'closed', 10_000).then((m) => m.counters, () => undefined)
    }
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), 5_000)
    if (this.proc.exitCode === null && this.proc.signalCode === null) await this.exited
    clearTimeout(timer)
    return counters
  }
}

const MIXES = ['all', 'rows', 'hot', 'all'] as const
type Mix = (typeof MIXES)[number]
/** Operations (over all processes) between two checks of the hot reads in a 'hot' phase. */
const HOT_ROUND_OPS = 24

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

export async function runChecker(options: CheckerOptions): Promise<CheckerSummary> {
  const started = Date.now()
  const log = options.log ?? (() => {})
  const timeout = options.stepTimeoutMs ?? 300_000
  const url = await freshDatabase(options.database ?? 'checker')
  const prefix = `cacheops-checker:${randomBytes(4).toString('hex')}:`
  // The parent's own client: seeds the data, resets the cache, cleans up.
  const admin = checkerClient(url, prefix)
  const children: Child[] = []
  const latest = new Map<number, Counters>()
  const samples: Mismatch[] = []
  let traceDir: string | undefined
  try {
    await seedWorld(admin.base)
    for (let i = 0; i < options.processes; i++) children.push(new Child(i, options.store))
    await Promise.all(
      children.map((c) =>
        c.request(
          {
            type: 'init', index: c.index, url, prefix, workers: options.workers, readFraction: options.readFraction ?? 0.75,
            sabotage: Boolean(options.sabotage) && c.index === 0, trace: options.trace ?? c.index % 2 === 0, latencyMs: options.latencyMs ?? 2, nearCache: options.nearCache ?? false,
          },
          'ready',
          60_000,
        ),
      ),
    )
    /** Runs `ops` operations over all processes, then checks at the quiescent point. */
    const round = async (phase: number, seed: number, ops: number, mix: Mix, scope: 'all' | 'hot', settleMs: number) => {
      options.signal?.throwIfAborted()
      await Promise.all(
        children.map((c) => {
          const share = Math.floor(ops / options.processes) + (c.index < ops % options.processes ? 1 : 0)
          return c.request({ type: 'phase', phase, seed: deriveSeed(seed, c.index), ops: share, mix }, 'phaseDone', timeout)
        }),
      )
      // Quiescent: every write returned (its invalidation awaited). Stores of the last
      // reads are sent without being awaited: give them time to land before checking.
      await sleep(settleMs)
      const checks = await Promise.all(children.map((c) => c.request({ type: 'check', phase, scope }, 'checkDone', timeout)))
      let found = 0
      for (const [i, m] of checks.entries()) {
        found += m.counters.mismatches - (latest.get(i)?.mismatches ?? 0)
        latest.set(i, m.counters)
        samples.push(...m.mismatches.slice(0, Math.max(0, 10 - samples.length)))
      }
      if (found > 0) {
        if (traceDir === undefined && (options.trace ?? true)) {
          traceDir = mkdtempSync(join(tmpdir(), 'cacheops-checker-'))
          await Promise.all(children.map((c) => c.request({ type: 'dump', file: join(traceDir!, `process-${c.index}.jsonl`) }, 'dumped', timeout)))
        }
        // Go on from a clean cache, so each stale entry is counted once.
        await admin.prisma.$cacheops.invalidateAll()
      }
    }

    for (let phase = 1; phase <= options.phases; phase++) {
      const seed = deriveSeed(options.seed, 'phase', phase)
      // Phases rotate through the mixes (all, rows, hot, all, ...):
      // - all: every read shape and write op;
      // - rows: single-row writes only, so nothing invalidates a model whole and a stale
      //   entry left by a race lives until the check;
      // - hot: hot same-row writes and the reads they race against, in short rounds each
      //   followed by a check of the hot reads (such an entry lives only until the next
      //   write of the same post, so it has to be looked at soon).
      const mix = MIXES[(phase - 1) % MIXES.length]!
      const t0 = Date.now()
      const rounds = mix === 'hot' ? Math.max(1, Math.round(options.opsPerPhase / HOT_ROUND_OPS)) : 1
      for (let r = 0; r < rounds; r++) {
        const ops = Math.floor(options.opsPerPhase / rounds) + (r < options.opsPerPhase % rounds ? 1 : 0)
        const last = r === rounds - 1
        await round(phase, deriveSeed(seed, r), ops, mix, last ? 'all' : 'hot', last ? 50 : 5)
      }
      const all = [...latest.values()]
      log(
        `phase ${phase}/${options.phases} (${mix}${rounds > 1 ? ` in ${rounds} rounds` : ''}): ${Date.now() - t0} ms; ops ${sum(all, (c) => c.ops)}, ` +
          `hits ${sum(all, (c) => c.workHits)}, catalogue ${sum(all, (c) => c.catalogue)} pairs, mismatches ${sum(all, (c) => c.mismatches)}`,
      )
    }
  } finally {
    for (const [i, counters] of (await Promise.all(children.map((c) => c.stop()))).entries()) {
      if (counters) latest.set(i, counters)
    }
    await admin.prisma.$cacheops.invalidateAll().catch(() => {})
    await admin.close().catch(() => {})
    if (!options.keepDatabase) await dropDatabase(url).catch((err) => log(`could not drop the checker database: ${err}`))
  }

  const all = [...latest.values()]
  const reads = sum(all, (c) => c.reads)
  const cacheHits = sum(all, (c) => c.workHits)
  const writeErrorsByCode: Record<string, number> = {}
  for (const c of all) for (const [code, n] of Object.entries(c.writeErrorsByCode)) writeErrorsByCode[code] = (writeErrorsByCode[code] ?? 0) + n
  const writesByOp: Record<string, [number, number]> = {}
  for (const c of all) {
    for (const [op, [n, failed]] of Object.entries(c.writesByOp)) {
      const t = (writesByOp[op] ??= [0, 0])
      t[0] += n
      t[1] += failed
    }
  }
  return {
    seed: options.seed,
    processes: options.processes,
    workers: options.workers,
    phases: options.phases,
    operations: sum(all, (c) => c.ops),
    reads,
    cacheHits,
    hitRatio: reads ? cacheHits / reads : 0,
    totalHits: cacheHits + sum(all, (c) => c.checkHits),
    fastHits: sum(all, (c) => c.fastHits),
    nearHits: sum(all, (c) => c.nearHits),
    writes: sum(all, (c) => c.writes),
    writeErrors: sum(all, (c) => c.writeErrors),
    writeErrorsByCode,
    writesByOp,
    writeErrorSamples: Object.assign({}, ...all.map((c) => c.writeErrorSamples)),
    rolledBack: sum(all, (c) => c.rolledBack),
    sabotaged: sum(all, (c) => c.sabotaged),
    checked: sum(all, (c) => c.checked),
    mismatches: sum(all, (c) => c.mismatches),
    samples,
    anomalies: sum(all, (c) => c.anomalies),
    anomalySamples: all.flatMap((c) => c.anomalySamples).slice(0, 5),
    unexpected: sum(all, (c) => c.unexpected),
    unexpectedSamples: all.flatMap((c) => c.unexpectedSamples).slice(0, 10),
    cacheErrors: sum(all, (c) => c.cacheErrors),
    cacheErrorSamples: all.flatMap((c) => c.cacheErrorSamples).slice(0, 5),
    traceDir,
    durationMs: Date.now() - started,
  }
}

async function dropDatabase(url: string): Promise<void> {
  const name = decodeURIComponent(new URL(url).pathname.slice(1))
  const admin = new URL(url)
  admin.pathname = '/postgres'
  const client = new pg.Client({ connectionString: admin.toString() })
  await client.connect()
  try {
    await client.query(`DROP DATABASE IF EXISTS "${name.replace(/"/g, '""')}" WITH (FORCE)`)
  } finally {
    await client.end()
  }
}

function sum<T>(items: readonly T[], f: (t: T) => number): number {
  return items.reduce((acc, t) => acc + f(t), 0)
}

/** The human-readable report: totals, then the first mismatches with where they differ. */
export function formatSummary(s: CheckerSummary, options: { verbose?: boolean } = {}): string {
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`
  const codes = Object.entries(s.writeErrorsByCode).sort((a, b) => b[1] - a[1]).map(([c, n]) => `${c}×${n}`).join(' ')
  const lines = [
    `consistency checker: seed ${s.seed}, ${s.processes} processes × ${s.workers} workers, ${s.phases} phases, ${(s.durationMs / 1000).toFixed(1)} s`,
    `  operations     ${s.operations}`,
    `  reads          ${s.reads}`,
    `  cache hits     ${s.cacheHits} (${pct(s.hitRatio)} of reads; ${s.totalHits} incl. checks; ${s.fastHits} by the fast path, ${s.nearHits} from the near cache)`,
    `  writes         ${s.writes}`,
    `  write errors   ${s.writeErrors}${codes ? ` (${codes})` : ''}; rolled back on purpose: ${s.rolledBack}`,
    ...(s.sabotaged ? [`  sabotaged      ${s.sabotaged} writes bypassed the cache (CHECKER_SABOTAGE)`] : []),
    `  checked        ${s.checked} cached reads against the database`,
    `  mismatches     ${s.mismatches}`,
    `  unexpected     ${s.unexpected}`,
    ...(s.anomalies ? [`  anomalies      ${s.anomalies} write errors arrived as 25P02 "current transaction is aborted" instead of their own code`] : []),
    `  cache errors   ${s.cacheErrors}`,
  ]
  if (options.verbose) {
    lines.push('  writes by op (attempts / refused by the database):')
    for (const [code, message] of Object.entries(s.writeErrorSamples)) lines.push(`    ${code}: ${message}`)
    for (const [op, [n, failed]] of Object.entries(s.writesByOp).sort((a, b) => b[1][0] - a[1][0])) lines.push(`    ${String(n).padStart(6)} / ${String(failed).padEnd(6)} ${op}`)
  }
  for (const u of s.unexpectedSamples) lines.push(`  ! ${u}`)
  if (options.verbose) for (const a of s.anomalySamples) lines.push(`  ? ${a.replace(/\n+/g, ' | ')}`)
  for (const e of s.cacheErrorSamples) lines.push(`  ! redis: ${e}`)
  for (const m of s.samples.slice(0, 5)) {
    lines.push(`  MISMATCH (process ${m.process}, phase ${m.phase}) ${m.shape} ${JSON.stringify(m.params)}`)
    lines.push(...describeDiff(m.cached, m.fresh).map((l) => `    ${l}`))
  }
  if (s.traceDir) lines.push(`  trace of the first failing phase: ${s.traceDir}`)
  return lines.join('\n')
}

/** Both values around their first difference (whole, when short). */
function describeDiff(cached: string, fresh: string): string[] {
  if (cached.length + fresh.length <= 600) return [`cached: ${cached}`, `fresh:  ${fresh}`]
  let i = 0
  while (i < cached.length && cached[i] === fresh[i]) i++
  const from = Math.max(0, i - 150)
  const cut = (v: string) => `${from > 0 ? '…' : ''}${v.slice(from, i + 250)}${v.length > i + 250 ? '…' : ''}`
  return [`cached: ${cut(cached)}`, `fresh:  ${cut(fresh)}`]
}
