// Dev-only: regenerates prisma/migrations/0001_init/migration.sql from prisma/schema.prisma
// offline, with Prisma's WASM schema engine (the native one cannot be downloaded here).
// Run: npm run db:migration   (needs a reachable PostgreSQL at DATABASE_URL)
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs'
import { SchemaEngine } from '@prisma/schema-engine-wasm'
import { bindMigrationAwareSqlAdapterFactory } from '@prisma/driver-adapter-utils'
import { PrismaPg } from '@prisma/adapter-pg'

const url = process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres'
const path = 'prisma/schema.prisma'
const content = readFileSync(path, 'utf8')
const factory = bindMigrationAwareSqlAdapterFactory(new PrismaPg({ connectionString: url }))
const engine = await SchemaEngine.new({ datamodels: [[path, content]] }, () => {}, factory)
const result = await engine.diff({
  from: { tag: 'empty' },
  to: { tag: 'schemaDatamodel', files: [{ path, content }] },
  script: true,
  exitCode: null,
  filters: { externalTables: [], externalEnums: [] },
})
const sql = typeof result === 'string' ? result : result.stdout
mkdirSync('prisma/migrations/0001_init', { recursive: true })
writeFileSync('prisma/migrations/0001_init/migration.sql', sql)
writeFileSync('prisma/migrations/migration_lock.toml', 'provider = "postgresql"\n')
console.log(`wrote prisma/migrations/0001_init/migration.sql (${sql.length} bytes)`)
process.exit(0)
