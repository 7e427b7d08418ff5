// The consistency checker from the command line (`npm run check:consistency -- --ops 20000`):
// concurrent processes read and write at random through prisma-cacheops, and at every
// quiescent point each cached read is compared with the database. Exit code 1 on any
// mismatch (a stale cache entry) or unexpected error. See test/checker/checker.ts.
//
//   --ops N         total operations (default 20000)
//   --processes P   worker processes (default 2)
//   --workers W     async workers per process (default 4)
//   --phases K      phases, each ending in a full check (default: one per ~1000 operations, at least 4)
//   --seed S        seed (default: CHECKER_SEED, else random; printed)
//   --read-fraction F  share of reads (default 0.75)
//   --latency MS    random delay up to MS before and after each database call (default 2)
//   --sabotage      route a share of process 0's writes around the cache (must fail)
//   --keep-db       keep the database afterwards
//   --verbose       also print every write op's attempts and refusals
// Needs DATABASE_URL / REDIS_URL like the tests (database <name>_checker_cli).
import { parseArgs } from 'node:util'
import { formatSummary, runChecker } from '../test/checker/checker.ts'

const { values } = parseArgs({
  options: {
    ops: { type: 'string', default: '20000' },
    processes: { type: 'string', default: '2' },
    workers: { type: 'string', default: '4' },
    phases: { type: 'string' },
    seed: { type: 'string' },
    'read-fraction': { type: 'string', default: '0.75' },
    latency: { type: 'string', default: '2' },
    sabotage: { type: 'boolean', default: process.env.CHECKER_SABOTAGE === '1' },
    'keep-db': { type: 'boolean', default: false },
    verbose: { type: 'boolean', short: 'v', default: false },
  },
})

function int(name: string, text: string | undefined, min: number): number {
  const n = Number(text)
  if (!Number.isInteger(n) || n < min) {
    console.error(`--${name} must be an integer ≥ ${min} (got ${text})`)
    process.exit(2)
  }
  return n
}

const ops = int('ops', values.ops, 1)
const phases = values.phases !== undefined ? int('phases', values.phases, 1) : Math.max(4, Math.round(ops / 1000))
const seedText = values.seed ?? process.env.CHECKER_SEED
const seed = seedText !== undefined ? int('seed', seedText, 0) : Math.floor(Math.random() * 2 ** 31)
const readFraction = Number(values['read-fraction'])

// Ctrl-C: stop at the next quiescent point and clean up (database, Redis keys, processes);
// a second Ctrl-C exits at once.
const abort = new AbortController()
process.on('SIGINT', () => (abort.signal.aborted ? process.exit(130) : abort.abort(new Error('interrupted'))))
process.on('SIGTERM', () => abort.abort(new Error('terminated')))

const summary = await runChecker({
  seed,
  processes: int('processes', values.processes, 1),
  workers: int('workers', values.workers, 1),
  phases,
  opsPerPhase: Math.ceil(ops / phases),
  readFraction,
  latencyMs: Number(values.latency),
  sabotage: values.sabotage,
  database: 'checker_cli',
  keepDatabase: values['keep-db'],
  log: (line) => console.log(line),
  signal: abort.signal,
})
console.log(formatSummary(summary, { verbose: values.verbose }))
process.exit(summary.mismatches > 0 || summary.unexpected > 0 ? 1 : 0)
