// Schema preparation: copies a user's Prisma schema into a work dir inside the project,
// swaps its generators for `prisma-client`, our cacheops generator and a DMMF dump, runs
// `prisma generate` offline, and computes the SQL of its tables with the WASM schema engine.
// The output is reused while the schema (and our generators) are unchanged.
import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
// Outside the folders tsconfig.json includes (generated clients are not type-checked twice),
// inside the project (so node resolution finds node_modules/@prisma/client).
export const GENERATED = path.join(REPO, '.diff-generated')

export interface PreparedSchema {
  /** Short name (file name without extension), used in database names. */
  name: string
  dir: string
  schemaPath: string
  /** SQL creating every table, enum and constraint. */
  sql: string
  /** Paths of the generated modules. */
  clientModule: string
  datamodelModule: string
  dmmfJson: string
}

export class SchemaError extends Error {}

/** Removes generator blocks, and url lines of the datasource (Prisma 7 keeps them in config). */
export function stripGenerators(text: string): string {
  return text
    .replace(/^\s*generator\s+\w+\s*\{[^}]*\}\s*$/gm, '')
    .replace(/(datasource\s+\w+\s*\{)([^}]*)\}/, (_m, head: string, body: string) => `${head}${body.replace(/^\s*(url|directUrl|shadowDatabaseUrl)\s*=.*$/gm, '')}}`)
}

export function datasourceProvider(text: string): string | undefined {
  const block = /datasource\s+\w+\s*\{([^}]*)\}/.exec(text)?.[1]
  return block && /provider\s*=\s*"([^"]+)"/.exec(block)?.[1]
}

function run(cmd: string, args: string[], env: Record<string, string> = {}): void {
  const r = spawnSync(cmd, args, { cwd: REPO, encoding: 'utf8', env: { ...process.env, PRISMA_SCHEMA_ENGINE_BINARY: '/bin/false', PRISMA_HIDE_UPDATE_MESSAGE: '1', CHECKPOINT_DISABLE: '1', ...env } })
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}):\n${r.stdout}\n${r.stderr}`)
}

export function prepareSchema(schemaFile: string, opts: { force?: boolean } = {}): PreparedSchema {
  const original = readFileSync(schemaFile, 'utf8')
  const provider = datasourceProvider(original)
  if (provider !== 'postgresql') throw new SchemaError(`${schemaFile}: datasource provider is ${provider ? `"${provider}"` : 'missing'}; the differential tester supports "postgresql" only for now`)
  const name = path.basename(schemaFile).replace(/\.prisma$/, '').replace(/[^a-zA-Z0-9_]/g, '_').toLowerCase()
  const gen = (p: string) => readFileSync(path.join(REPO, p), 'utf8')
  const hash = createHash('sha256')
    .update(original)
    .update(gen('src/generator/bin.ts'))
    .update(gen('src/generator/fromDmmf.ts'))
    .update(gen('test/diff/dmmfGenerator.ts'))
    .digest('hex')
    .slice(0, 12)
  const dir = path.join(GENERATED, `${name}-${hash}`)
  const out: PreparedSchema = {
    name,
    dir,
    schemaPath: path.join(dir, 'schema.prisma'),
    sql: '',
    clientModule: path.join(dir, 'client/client.ts'),
    datamodelModule: path.join(dir, 'cacheops/index.ts'),
    dmmfJson: path.join(dir, 'dmmf/dmmf.json'),
  }
  const sqlPath = path.join(dir, 'schema.sql')
  const ready = path.join(dir, 'ready')
  if (!opts.force && existsSync(ready)) return { ...out, sql: readFileSync(sqlPath, 'utf8') }
  // Older outputs of the same schema name are stale: remove them.
  if (existsSync(GENERATED)) for (const d of readdirSync(GENERATED)) if (d.startsWith(`${name}-`)) rmSync(path.join(GENERATED, d), { recursive: true, force: true })
  mkdirSync(dir, { recursive: true })
  const tsxGen = (file: string) => `node --import tsx ${path.join(REPO, file)}`
  const text = [
    stripGenerators(original).trim(),
    '',
    'generator client {\n  provider = "prisma-client"\n  output   = "./client"\n}',
    `generator cacheops {\n  provider = ${JSON.stringify(tsxGen('src/generator/bin.ts'))}\n  output   = "./cacheops"\n}`,
    `generator dmmf {\n  provider = ${JSON.stringify(tsxGen('test/diff/dmmfGenerator.ts'))}\n  output   = "./dmmf"\n}`,
    '',
  ].join('\n')
  writeFileSync(out.schemaPath, text)
  // A config of its own, so that the repository's prisma.config.ts (the reference schema) is not used.
  const config = path.join(dir, 'prisma.config.ts')
  writeFileSync(config, "import { defineConfig } from 'prisma/config'\nexport default defineConfig({ schema: './schema.prisma' })\n")
  run('npx', ['prisma', 'generate', '--config', config, '--schema', out.schemaPath])
  run(process.execPath, ['--experimental-wasm-modules', '--no-warnings', path.join(REPO, 'test/diff/schemaSql.mjs'), out.schemaPath, sqlPath])
  for (const f of [out.clientModule, out.datamodelModule, out.dmmfJson]) if (!existsSync(f)) throw new Error(`prisma generate did not write ${f}`)
  writeFileSync(ready, new Date().toISOString())
  return { ...out, sql: readFileSync(sqlPath, 'utf8') }
}
