// The acceptance test that matters most: several processes, each with several async
// workers, read and write at random through prisma-cacheops on one database and one Redis
// prefix; at every quiescent point each cached read made so far must equal the database.
// The machinery lives in test/checker/ (also `npm run check:consistency` for long runs).
//
// CHECKER_SEED=<n>     reproduce a run's operation streams (the interleaving still varies)
// CHECKER_SABOTAGE=1   process 0 sends a quarter of its writes around the cache: this test
//                      then passes only if the checker reports mismatches (it has teeth)
import { describe, expect, it } from 'vitest'
import { formatSummary, runChecker } from './checker/checker.ts'

const seed = process.env.CHECKER_SEED !== undefined ? Number(process.env.CHECKER_SEED) : 20_241_121
const sabotage = process.env.CHECKER_SABOTAGE === '1'

describe('consistency checker', () => {
  it(sabotage ? 'detects writes that bypass invalidation' : 'never serves a stale read at a quiescent point', { timeout: 240_000 }, async () => {
    // CI budget: 15k operations in 15 phases, ~30-45 s on 2 cores. Short phases mean
    // frequent checks, so a stale entry is seen before a later write happens to drop it.
    const summary = await runChecker({ seed, processes: 2, workers: 4, phases: 15, opsPerPhase: 1_000, sabotage, database: 'checker' })
    console.log(formatSummary(summary))

    if (sabotage) {
      expect(summary.sabotaged).toBeGreaterThan(0)
      expect(summary.mismatches, 'sabotaged writes went unnoticed').toBeGreaterThan(0)
      return
    }
    expect(summary.unexpected, `unexpected errors:\n${summary.unexpectedSamples.join('\n')}`).toBe(0)
    expect(summary.cacheErrors, `Redis errors (lost invalidations):\n${summary.cacheErrorSamples.join('\n')}`).toBe(0)
    expect(summary.mismatches, 'stale cached reads (see the MISMATCH lines above)').toBe(0)
    // It must have compared something, written for real, and served reads from the cache:
    // a cache that never caches would pass the comparison trivially.
    expect(summary.checked).toBeGreaterThan(5_000)
    expect(summary.writes - summary.writeErrors - summary.rolledBack).toBeGreaterThan(summary.writes * 0.3)
    expect(summary.cacheHits).toBeGreaterThan(500)
    expect(summary.hitRatio).toBeGreaterThan(0.1)
    // The fast path (default on) answers many of them: the checker covers it.
    expect(summary.fastHits).toBeGreaterThan(100)
  })

  it(sabotage ? 'detects writes that bypass invalidation, near cache on' : 'never serves a stale read with the near cache on (strict)', { timeout: 240_000 }, async () => {
    const summary = await runChecker({ seed: seed + 1, processes: 2, workers: 4, phases: 10, opsPerPhase: 1_000, nearCache: true, sabotage, database: 'checker_near' })
    console.log(formatSummary(summary))
    if (sabotage) {
      expect(summary.mismatches, 'sabotaged writes went unnoticed').toBeGreaterThan(0)
      return
    }
    expectNoStaleRead(summary, 3_000)
    expect(summary.nearHits).toBeGreaterThan(100)
  })

  it(sabotage ? 'detects writes that bypass invalidation, memory store' : 'never serves a stale read on the memory store (one process, 6 workers)', { timeout: 240_000 }, async () => {
    const summary = await runChecker({ seed: seed + 2, processes: 1, workers: 6, phases: 10, opsPerPhase: 1_000, store: 'memory', sabotage, database: 'checker_mem', trace: false }) // untraced: the fast path is on
    console.log(formatSummary(summary))
    if (sabotage) {
      expect(summary.mismatches, 'sabotaged writes went unnoticed').toBeGreaterThan(0)
      return
    }
    expectNoStaleRead(summary, 3_000)
    expect(summary.cacheHits).toBeGreaterThan(500)
    expect(summary.fastHits).toBeGreaterThan(100)
  })
})

/** A clean run: nothing unexpected, no cache error, no stale read, and enough compared. */
function expectNoStaleRead(summary: Awaited<ReturnType<typeof runChecker>>, minChecked: number): void {
  expect(summary.unexpected, `unexpected errors:\n${summary.unexpectedSamples.join('\n')}`).toBe(0)
  expect(summary.cacheErrors, `cache errors (lost invalidations):\n${summary.cacheErrorSamples.join('\n')}`).toBe(0)
  expect(summary.mismatches, 'stale cached reads (see the MISMATCH lines above)').toBe(0)
  expect(summary.checked).toBeGreaterThan(minChecked)
}
