// Differential tester CLI: `npm run check:diff -- --schema <path> --seconds N [--seed S] [--json]`.
// Runs random reads and writes on any PostgreSQL Prisma schema through prisma-cacheops (database
// A) and plain Prisma (database B), compares every outcome, shrinks the first mismatch.
// Exit code 1 on a mismatch. See test/diff/.
import { readFileSync } from 'node:fs'
import { runDiff, formatReport, type DiffReport } from '../test/diff/index.ts'
import { openEnv } from '../test/diff/env.ts'
import type { Op } from '../test/diff/ops.ts'
import { printMismatch } from '../test/diff/print.ts'
import { replay } from '../test/diff/runner.ts'
import { SchemaError } from '../test/diff/prepare.ts'

function usage(msg?: string): never {
  if (msg) console.error(msg)
  console.error('usage: npm run check:diff -- --schema <schema.prisma> [--schema <another>] --seconds N [--seed S] [--shrink-seconds N] [--bypass] [--lib <src/index.ts>] [--resync-sequences] [--keep-going N] [--db-tag T] [--models A,B] [--json] [--replay <report.json>]')
  process.exit(2)
}

const args = process.argv.slice(2)
const schemas: string[] = []
let seconds = 30
let seed: number | undefined
let shrinkSeconds = 60
let json = false
let bypass = false
let lib: string | undefined
let sequences: 'strict' | 'resync' = 'strict'
let replayFile: string | undefined
let keepGoing: number | undefined
let dbTag: string | undefined
let models: string[] | undefined
for (let i = 0; i < args.length; i++) {
  const a = args[i]!
  const val = () => args[++i] ?? usage(`${a} needs a value`)
  if (a === '--schema') schemas.push(val())
  else if (a === '--seconds') seconds = Number(val())
  else if (a === '--seed') seed = Number(val())
  else if (a === '--shrink-seconds') shrinkSeconds = Number(val())
  else if (a === '--json') json = true
  else if (a === '--bypass') bypass = true
  else if (a === '--lib') lib = val()
  else if (a === '--resync-sequences') sequences = 'resync'
  else if (a === '--replay') replayFile = val()
  else if (a === '--keep-going') keepGoing = Number(val())
  else if (a === '--db-tag') dbTag = val()
  else if (a === '--models') models = val().split(',')
  else usage(`unknown argument ${a}`)
}
if (!schemas.length) usage('--schema is required')
if (!(seconds > 0)) usage('--seconds must be a positive number')

if (replayFile) {
  // Replays a stored sequence (a --json report's mismatch, or an array of operations) on the first schema.
  const stored = JSON.parse(readFileSync(replayFile, 'utf8')) as Op[] | DiffReport | DiffReport[]
  const report = Array.isArray(stored) && stored.length && 'stats' in (stored[0] as object) ? (stored[0] as DiffReport) : stored
  const ops = Array.isArray(report) ? (report as Op[]) : ((report as DiffReport).mismatch?.ops ?? [])
  const env = await openEnv(schemas[0]!, { lib, dbTag })
  try {
    const r = await replay(env, ops, { bypass, sequences })
    console.log(r.mismatch ? printMismatch(r.ops, r.mismatch, env.info) : `no mismatch (${r.ops.length} operations replayed)`)
    process.exitCode = r.mismatch ? 1 : 0
  } finally {
    await env.close()
  }
  process.exit()
}

const reports: DiffReport[] = []
let failed = false
for (const schema of schemas) {
  const s = seed ?? Math.floor(Math.random() * 2 ** 31)
  try {
    const r = await runDiff({ schema, seconds, seed: s, shrinkSeconds, bypass, lib, sequences, keepGoing, dbTag, models, log: json ? undefined : (l) => console.error(l) })
    reports.push(r)
    if (r.mismatch) failed = true
    if (!json) console.log(formatReport(r))
  } catch (err) {
    if (err instanceof SchemaError) {
      console.error(err.message)
      process.exit(2)
    }
    throw err
  }
}
if (json) console.log(JSON.stringify(reports, null, 2))
process.exit(failed ? 1 : 0)
