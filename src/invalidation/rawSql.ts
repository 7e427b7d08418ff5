import type { CacheopsDatamodel } from '../datamodel/types.js'
import { modelsChangedByDelete, modelsChangedByKeyUpdate } from './cascades.js'

const IDENT = '(?:"(?:[^"]|"")+"|`(?:[^`]|``)+`|[\\w$]+)'
const QUALIFIED = `(?:${IDENT}\\s*\\.\\s*)?${IDENT}`
const WRITE_TARGETS = new RegExp(
  // `DO UPDATE SET` (an upsert's conflict branch) writes the INSERT's table: not a target.
  '\\b(insert\\s+(?:ignore\\s+)?into|replace\\s+into|update(?!\\s+set\\b)(?:\\s+only)?|delete\\s+from|' +
    'truncate(?:\\s+table)?(?:\\s+only)?|merge\\s+into|copy|alter\\s+table(?:\\s+only)?|drop\\s+table(?:\\s+if\\s+exists)?)' +
    `\\s+(${QUALIFIED}(?:\\s*,\\s*${QUALIFIED})*)`,
  'gi',
)

/**
 * Models a raw SQL write can change: the tables it writes to (INSERT INTO, UPDATE, DELETE
 * FROM, TRUNCATE, MERGE INTO, COPY ... FROM, ALTER/DROP TABLE, also inside data-modifying
 * CTEs), mapped through `@@map` and implicit many-to-many join tables, plus what the
 * database's referential actions reach from them. `'all'` when no table can be told
 * (CALL, DO, a function, an unknown table): every model must go.
 */
export function modelsWrittenBySql(dm: CacheopsDatamodel, sql: string): Set<string> | 'all' {
  const text = stripLiteralsAndComments(sql)
  // Statements that write without naming their tables.
  if (/(^|;)\s*(call|do|execute|perform)\b/i.test(text)) return 'all'
  const models = new Set<string>()
  let found = false
  for (const m of text.matchAll(WRITE_TARGETS)) {
    const verb = (m[1] ?? '').toLowerCase()
    for (const target of (m[2] ?? '').split(/\s*,\s*/)) {
      found = true
      const tableModels = modelsOfTable(dm, unquote(target.split(/\s*\.\s*/).pop() ?? ''))
      if (tableModels.length === 0) return 'all'
      for (const model of tableModels) {
        models.add(model)
        // What the database does in turn: deletes cascade, key updates cascade.
        if (/^(delete|truncate|drop|merge)/.test(verb)) for (const x of modelsChangedByDelete(dm, model)) models.add(x)
        if (/^(update|merge|alter)/.test(verb)) {
          const info = dm.models[model]
          if (info) for (const x of modelsChangedByKeyUpdate(dm, model, Object.keys(info.fields))) models.add(x)
        }
      }
    }
  }
  return found ? models : 'all'
}

/** Prisma models stored in `table` (unquoted names compare case-insensitively). */
function modelsOfTable(dm: CacheopsDatamodel, table: { name: string; quoted: boolean }): string[] {
  const same = (dbName: string) => (table.quoted ? dbName === table.name : dbName.toLowerCase() === table.name.toLowerCase())
  const models = Object.values(dm.models).filter((m) => same(m.dbName)).map((m) => m.name)
  for (const j of dm.implicitManyToMany) if (same(j.table)) models.push(j.A, j.B)
  return models
}

function unquote(name: string): { name: string; quoted: boolean } {
  const q = name[0]
  return q === '"' || q === '`' ? { name: name.slice(1, -1).replaceAll(q + q, q), quoted: true } : { name, quoted: false }
}

/** Blanks out string literals and comments so that keywords inside them do not count. */
function stripLiteralsAndComments(sql: string): string {
  return sql
    .replace(/--[^\n]*/g, ' ')
    .replace(/\/\*[\s\S]*?\*\//g, ' ')
    .replace(/\$(\w*)\$[\s\S]*?\$\1\$/g, "''")
    .replace(/'(?:[^']|'')*'/g, "''")
}
