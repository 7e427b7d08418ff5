// Child process of the differential tester (run with `node --experimental-wasm-modules`):
// prints the SQL that creates a schema's tables, from Prisma's WASM schema engine (the
// native one cannot be downloaded here). Usage: node ... schemaSql.mjs <schema> <out.sql>
import { readFileSync, writeFileSync } from 'node:fs'
import { SchemaEngine } from '@prisma/schema-engine-wasm'
import { bindMigrationAwareSqlAdapterFactory } from '@prisma/driver-adapter-utils'
import { PrismaPg } from '@prisma/adapter-pg'

const [path, out] = process.argv.slice(2)
const url = process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres'
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
writeFileSync(out, typeof result === 'string' ? result : result.stdout)
process.exit(0)
