import { defineConfig } from 'vitest/config'

/**
 * The conformance suite: behavioural test files that run once per store (Redis, and the
 * memory store with CACHEOPS_STORE=memory; test/helpers.ts picks the store). Tests in them
 * about Redis itself are declared with `itRedis` (test/stores.ts). Every other file is
 * about Redis, a unit without a store, or the package, and runs once.
 */
export const CONFORMANCE = [
  'reads', 'writes', 'nested', 'cascades', 'rawSql', 'transactions', 'transactionReads', 'functions', 'tags',
  'stale', 'singleflight', 'locks', 'bad-input', 'relations', 'whereShapes', 'writeShapes', 'writeRows',
  'schemaShapes', 'fieldScoped', 'globalOmit', 'views', 'relationModePrisma', 'events', 'operations',
  'roundtrip', 'fastPath', 'consistency',
].map((name) => `test/${name}.test.ts`)

const shared = {
  // Each file gets its own database (test/helpers.ts), so files may run in parallel.
  pool: 'forks' as const,
  testTimeout: 30_000,
  hookTimeout: 60_000,
}

export default defineConfig({
  test: {
    projects: [
      { test: { ...shared, name: 'redis', include: ['test/**/*.test.ts'] } },
      { test: { ...shared, name: 'memory', include: CONFORMANCE, env: { CACHEOPS_STORE: 'memory' } } },
    ],
  },
})
