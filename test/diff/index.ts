// The differential tester's entry point: explore a schema from a seed for a time budget,
// shrink the first mismatch, report.
import { openEnv, type DiffEnv, type EnvOptions } from './env.ts'
import type { Op } from './ops.ts'
import { printMismatch } from './print.ts'
import { explore, type Mismatch, type RunOptions, type Stats } from './runner.ts'
import { shrink } from './shrink.ts'

export interface DiffOptions extends RunOptions, EnvOptions {
  /** Go on after a mismatch (empty cache, A set to B's state), up to this many mismatches. */
  keepGoing?: number
  schema: string
  seconds: number
  seed: number
  /** Cap of the exploration's operation count (besides the time budget). */
  maxOps?: number
  /** Time cap of shrinking, seconds (0: no shrinking). */
  shrinkSeconds?: number
  log?: (line: string) => void
}

export interface ReportedMismatch extends Mismatch {
  /** Operations run until the mismatch showed (time to find it). */
  foundAfterOps: number
  foundAfterMs: number
  /** The minimal sequence. */
  ops: Op[]
  shrinkReplays: number
  shrinkMs: number
  shrinkTimedOut: boolean
  /** The sequence as Prisma code, with the failing comparison. */
  code: string
}

export interface DiffReport {
  schema: string
  seed: number
  stats: Stats
  ms: number
  /** The first mismatch. */
  mismatch?: ReportedMismatch
  /** With keepGoing: every mismatch found. */
  mismatches?: ReportedMismatch[]
}

export async function runDiff(o: DiffOptions): Promise<DiffReport> {
  const env = await openEnv(o.schema, o)
  try {
    return await runOn(env, o)
  } finally {
    await env.close()
  }
}

export async function runOn(env: DiffEnv, o: DiffOptions): Promise<DiffReport> {
  const log = o.log ?? (() => {})
  const t0 = Date.now()
  const r = await explore(env, o.seed, o.seconds, o)
  const report: DiffReport = { schema: o.schema, seed: o.seed, stats: r.stats, ms: Date.now() - t0 }
  const found = r.found ?? (r.mismatch ? [{ mismatch: r.mismatch, ops: r.ops, history: r.history ?? new Map(), ms: report.ms }] : [])
  const out: ReportedMismatch[] = []
  for (const [i, f] of found.entries()) {
    log(`${env.schema.name}: ${f.mismatch.kind} mismatch after ${f.mismatch.index + 1} operations (${f.ms} ms); shrinking`)
    const seconds = o.shrinkSeconds ?? 60
    const s = seconds > 0 ? await shrink(env, f.ops, f.mismatch, { ...o, seconds, suffixOnly: i > 0 }, f.history) : { ops: f.ops, mismatch: f.mismatch, replays: 0, ms: 0, timedOut: false }
    out.push({ ...s.mismatch, foundAfterOps: f.mismatch.index + 1, foundAfterMs: f.ms, ops: s.ops, shrinkReplays: s.replays, shrinkMs: s.ms, shrinkTimedOut: s.timedOut, code: printMismatch(s.ops, s.mismatch, env.info) })
  }
  if (out.length) report.mismatch = out[0]
  if (o.keepGoing) report.mismatches = out
  report.ms = Date.now() - t0
  return report
}

export function formatReport(r: DiffReport): string {
  const s = r.stats
  const all = r.mismatches ?? (r.mismatch ? [r.mismatch] : [])
  const lines = [
    `${r.schema} (seed ${r.seed}): ${s.ops} operations (${s.writes} writes, ${s.ops - s.writes} pool reads), ${s.readsCompared} reads compared, ${s.writesCompared} write outcomes compared (${s.writeErrors} errors on both sides), ${s.contentChecks} content checks${s.sequenceResyncs ? `, ${s.sequenceResyncs} sequence divergences resynchronised` : ''}, ${all.length} mismatch${all.length === 1 ? '' : 'es'} in ${(r.ms / 1000).toFixed(1)} s`,
  ]
  for (const m of all) {
    lines.push(
      '',
      `MISMATCH (${m.kind}) found after ${m.foundAfterOps} operations (${(m.foundAfterMs / 1000).toFixed(1)} s); shrunk to ${m.ops.length} operation(s) in ${m.shrinkReplays} replays (${(m.shrinkMs / 1000).toFixed(1)} s${m.shrinkTimedOut ? ', time cap reached: not minimal' : ''}). Seed ${r.seed}.`,
      m.code,
    )
  }
  return lines.join('\n')
}
