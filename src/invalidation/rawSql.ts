import type { CacheopsDatamodel } from '../datamodel/types.js'
import { modelsChangedByDelete, modelsChangedByKeyUpdate, modelsEmptiedByTruncate } from './cascades.js'

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
  // A backslash in a literal ends it or not depending on the dialect and settings
  // (standard_conforming_strings, MySQL): the statement's targets cannot be told for sure.
  if (text === null) return 'all'
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
        // TRUNCATE ... CASCADE empties every referencing table, whatever its ON DELETE action.
        if (verb.startsWith('truncate')) for (const x of modelsEmptiedByTruncate(dm, model)) models.add(x)
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

/**
 * Blanks out string literals and comments, in one left-to-right scan (a `--` inside a literal
 * is no comment, a quote inside a comment opens nothing), so that keywords inside them do not
 * count. Quoted identifiers are kept. Null when a plain literal holds a backslash: whether it
 * escapes the next quote depends on the server (MySQL, PostgreSQL with
 * standard_conforming_strings off), so the statement's targets cannot be told for sure.
 */
function stripLiteralsAndComments(sql: string): string | null {
  let out = ''
  let i = 0
  while (i < sql.length) {
    const ch = sql[i]!
    const next = sql[i + 1]
    if (ch === '-' && next === '-') {
      const end = sql.indexOf('\n', i)
      i = end < 0 ? sql.length : end
      out += ' '
    } else if (ch === '/' && next === '*') {
      // PostgreSQL nests block comments.
      let depth = 1
      i += 2
      while (i < sql.length && depth > 0) {
        if (sql[i] === '/' && sql[i + 1] === '*') (depth++, (i += 2))
        else if (sql[i] === '*' && sql[i + 1] === '/') (depth--, (i += 2))
        else i++
      }
      out += ' '
    } else if (ch === '$' && !/[\w$]/.test(sql[i - 1] ?? '') && /^\$(?:[A-Za-z_]\w*)?\$/.test(sql.slice(i))) {
      const tag = /^\$(?:[A-Za-z_]\w*)?\$/.exec(sql.slice(i))![0]
      const end = sql.indexOf(tag, i + tag.length)
      i = end < 0 ? sql.length : end + tag.length
      out += "''"
    } else if (ch === "'") {
      // E'...' (PostgreSQL escape string): a backslash escapes the next character.
      const escapes = /[eE]/.test(sql[i - 1] ?? '') && !/[\w$]/.test(sql[i - 2] ?? '')
      i++
      for (;;) {
        if (i >= sql.length) break
        const c = sql[i]!
        if (c === '\\') {
          if (!escapes) return null
          i += 2
        } else if (c === "'" && sql[i + 1] === "'") i += 2
        else if (c === "'") {
          i++
          break
        } else i++
      }
      out += "''"
    } else if (ch === '"' || ch === '`') {
      let j = i + 1
      for (;;) {
        if (j >= sql.length) break
        if (sql[j] === ch && sql[j + 1] === ch) j += 2
        else if (sql[j] === ch) {
          j++
          break
        } else j++
      }
      out += sql.slice(i, j)
      i = j
    } else {
      out += ch
      i++
    }
  }
  return out
}
