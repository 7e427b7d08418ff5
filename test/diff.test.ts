// The differential tester in CI (see test/diff/ and `npm run check:diff`): random reads and
// writes from each schema's datamodel alone, through prisma-cacheops on database A and plain
// Prisma on database B, with fixed seeds and operation budgets. Every cached read must equal
// the plain read on A, every write's outcome must equal B's, and A's content must equal B's.
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { formatReport, runOn, type DiffReport } from './diff/index.ts'
import { openEnv, type DiffEnv } from './diff/env.ts'
import { REPO } from './diff/prepare.ts'
import { modelsBlock, REFERENCE, RELATION_MODE_PRISMA, relationModePrismaVariant, selfRelationsRestrict } from './diff/variants.ts'

/** Per schema: seed and operation budget (about 35-40 s each on 2 shared cores), with a time cap. */
const RUNS = [
  { schema: 'prisma/schema.prisma', seed: 20261203, maxOps: 1200 },
  { schema: 'test/schemas/relation-mode-prisma.prisma', seed: 7, maxOps: 1200 },
  { schema: 'test/schemas/apps.prisma', seed: 11, maxOps: 1200 },
  { schema: 'test/schemas/zoo.prisma', seed: 5, maxOps: 1200 },
]
const SECONDS_CAP = 50

describe('schema variants', () => {
  it('relation-mode-prisma.prisma has exactly the reference schema\'s models (run `npx tsx test/diff/variants.ts` after changing prisma/schema.prisma)', () => {
    const reference = readFileSync(REFERENCE, 'utf8')
    const variant = readFileSync(RELATION_MODE_PRISMA, 'utf8')
    // The same models, but for the Restrict Prisma requires on self-relations in this mode.
    expect(modelsBlock(variant)).toBe(selfRelationsRestrict(modelsBlock(reference)))
    expect(variant).toBe(relationModePrismaVariant(reference))
    const changed = modelsBlock(variant).split('\n').filter((line, i) => line !== modelsBlock(reference).split('\n')[i])
    expect(changed.every((line) => /@relation\(.*onDelete: Restrict, onUpdate: Restrict\)/.test(line))).toBe(true)
    expect(variant).toMatch(/relationMode\s*=\s*"prisma"/)
  })
})

describe.each(RUNS)('differential run on $schema', ({ schema, seed, maxOps }) => {
  let env: DiffEnv
  beforeAll(async () => {
    env = await openEnv(path.join(REPO, schema), { dbTag: 'ci' })
  }, 120_000)
  afterAll(async () => {
    await env?.close()
  })

  it('finds no mismatch', async () => {
    const report: DiffReport = await runOn(env, { schema, seed, seconds: SECONDS_CAP, maxOps, shrinkSeconds: 30 })
    console.log(formatReport(report))
    expect(report.stats.writesCompared).toBeGreaterThan(50)
    expect(report.stats.readsCompared).toBeGreaterThan(500)
    expect(report.mismatch?.code ?? 'no mismatch').toBe('no mismatch')
  }, 150_000)
})

// Operations restricted to one cluster of related models are denser there than a whole-schema
// run's phases: a deleteMany whose where Prisma's findMany evaluates differently was found so.
const CLUSTERS = [['User', 'Profile', 'Post'], ['Team'], ['Booking', 'Room'], ['Org', 'OrgSettings', 'Doc', 'OrgProfile'], ['Document', 'Recipient']]

describe('differential runs on clusters of the reference schema', () => {
  let env: DiffEnv
  beforeAll(async () => {
    env = await openEnv(path.join(REPO, 'prisma/schema.prisma'), { dbTag: 'clusters' })
  }, 120_000)
  afterAll(async () => {
    await env?.close()
  })

  it.each(CLUSTERS.map((models) => ({ models, name: models.join(', ') })))('finds no mismatch on $name', async ({ models }) => {
    const report = await runOn(env, { schema: 'prisma/schema.prisma', seed: 31, seconds: 25, maxOps: 400, models, shrinkSeconds: 30 })
    console.log(`[${models.join(', ')}] ${formatReport(report)}`)
    expect(report.stats.writesCompared).toBeGreaterThan(30)
    expect(report.mismatch?.code ?? 'no mismatch').toBe('no mismatch')
  }, 90_000)
})

describe('the tester has teeth', () => {
  let env: DiffEnv
  beforeAll(async () => {
    env = await openEnv(path.join(REPO, 'prisma/schema.prisma'), { dbTag: 'teeth' })
  }, 120_000)
  afterAll(async () => {
    await env?.close()
  })

  it('writes sent below the cache (no invalidation): a stale read, shrunk to a few operations', async () => {
    const report = await runOn(env, { schema: 'prisma/schema.prisma', seed: 3, seconds: 30, maxOps: 400, bypass: true, shrinkSeconds: 30 })
    console.log(formatReport(report))
    const m = report.mismatch
    expect(m?.kind).toBe('read')
    expect(m!.ops.filter((op) => op.k !== 'restore').length).toBeLessThanOrEqual(4)
    expect(m!.code).toContain('read through the cache')
  }, 120_000)
})
