// The two databases of a run: created from the schema's SQL, emptied between replays, and
// dumped whole (every table, implicit many-to-many join tables too) for the A/B comparison.
import pg from 'pg'
import type { Snapshot } from './ops.ts'
import type { Json } from './values.ts'

export const DATABASE_URL = process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/cacheops_test'

export function databaseUrl(dbName: string): string {
  const url = new URL(DATABASE_URL)
  url.pathname = `/${dbName}`
  return url.toString()
}

const q = (id: string) => `"${id.replace(/"/g, '""')}"`

/** (Re)creates database `dbName` with the tables of `sql`. */
export async function createDatabase(dbName: string, sql: string): Promise<string> {
  const admin = new pg.Client({ connectionString: databaseUrl('postgres') })
  await admin.connect()
  try {
    const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [dbName])
    if (exists.rowCount === 0) await admin.query(`CREATE DATABASE ${q(dbName)}`)
  } finally {
    await admin.end()
  }
  const client = new pg.Client({ connectionString: databaseUrl(dbName) })
  await client.connect()
  try {
    await client.query('DROP SCHEMA IF EXISTS public CASCADE')
    await client.query(sql)
  } finally {
    await client.end()
  }
  return databaseUrl(dbName)
}

/** A direct connection to one database: truncation and content dumps. */
export class DbHandle {
  private tables: string[] | undefined
  private constructor(readonly client: pg.Client) {}

  static async open(url: string): Promise<DbHandle> {
    const client = new pg.Client({ connectionString: url })
    await client.connect()
    return new DbHandle(client)
  }

  async tableNames(): Promise<string[]> {
    if (!this.tables) {
      const r = await this.client.query<{ table_name: string }>("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' AND table_name <> '_prisma_migrations' ORDER BY table_name")
      this.tables = r.rows.map((x) => x.table_name)
    }
    return this.tables
  }

  async truncate(): Promise<void> {
    const tables = await this.tableNames()
    if (tables.length) await this.client.query(`TRUNCATE ${tables.map(q).join(', ')} RESTART IDENTITY CASCADE`)
  }

  /** Every row and sequence value, to restore elsewhere. */
  async snapshot(): Promise<Snapshot> {
    const tables = await this.tableNames()
    const parts = tables.map((t) => `${pgLiteral(t)}, (SELECT coalesce(json_agg(x), '[]'::json) FROM ${q(t)} x)`)
    // As text, with integers beyond 2^53 quoted (JSON.parse would round them; PostgreSQL reads them back from strings).
    const text = tables.length ? (await this.client.query<{ d: string }>(`SELECT json_build_object(${parts.join(', ')})::text AS d`)).rows[0]!.d : '{}'
    const r = { rows: [{ d: JSON.parse(text.replace(/([:[,]\s*)(-?\d{16,})(?=\s*[,\]}])/g, '$1"$2"')) as Record<string, Json[]> }] }
    const out: Snapshot = { tables: {}, sequences: {} }
    for (const t of tables) if (r.rows[0]!.d[t]?.length) out.tables[t] = r.rows[0]!.d[t]!
    const seqs = await this.client.query<{ sequencename: string; last_value: string | null }>("SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = 'public'")
    for (const s of seqs.rows) if (s.last_value !== null) out.sequences[s.sequencename] = [Number(s.last_value), true]
    return out
  }

  /**
   * Empties the database and loads `snap`. Tables are inserted in an order the foreign keys
   * accept (retried until no progress): a snapshot with orphan rows fails (FkRestoreError).
   */
  async restore(snap: Snapshot): Promise<void> {
    const c = this.client
    await c.query('BEGIN')
    try {
      const tables = await this.tableNames()
      if (tables.length) await c.query(`TRUNCATE ${tables.map(q).join(', ')} RESTART IDENTITY CASCADE`)
      let pending = Object.keys(snap.tables)
      while (pending.length) {
        const failed: string[] = []
        for (const t of pending) {
          await c.query('SAVEPOINT r')
          try {
            await c.query(`INSERT INTO ${q(t)} SELECT * FROM json_populate_recordset(NULL::${q(t)}, $1::json)`, [JSON.stringify(snap.tables[t])])
            await c.query('RELEASE SAVEPOINT r')
          } catch (err) {
            if ((err as { code?: string }).code !== '23503') throw err
            await c.query('ROLLBACK TO SAVEPOINT r')
            failed.push(t)
          }
        }
        if (failed.length === pending.length) throw new FkRestoreError(`rows of ${failed.join(', ')} reference missing rows`)
        pending = failed
      }
      for (const [name, [value, called]] of Object.entries(snap.sequences)) await c.query('SELECT setval($1, $2, $3)', [q(name), value, called])
      await c.query('COMMIT')
    } catch (err) {
      await c.query('ROLLBACK')
      throw err
    }
  }

  async close(): Promise<void> {
    await this.client.end()
  }
}

/** A snapshot's canonical comparable form: per table, rows as sorted JSON texts without `mask` columns; sequences too. */
export function dumpOf(snap: Snapshot, mask: Record<string, string[]>): Record<string, string[]> {
  const out: Record<string, string[]> = {}
  for (const [t, rows] of Object.entries(snap.tables)) {
    const hidden = new Set(mask[t] ?? [])
    out[t] = rows
      .map((row) => JSON.stringify(Object.fromEntries(Object.entries(row as Record<string, Json>).filter(([c]) => !hidden.has(c)).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))))
      .sort()
  }
  // Sequences too: a write the cache ran twice, or an insert it retried, advances them.
  out['(sequences)'] = Object.entries(snap.sequences).map(([n, [v]]) => `${n}=${v}`).sort()
  return out
}

export function pgLiteral(s: string): string {
  return `'${s.replace(/'/g, "''")}'`
}

/** The first difference between two dumps, or undefined. */
export function diffDumps(a: Record<string, string[]>, b: Record<string, string[]>): { table: string; onlyA: string[]; onlyB: string[] } | undefined {
  for (const t of new Set([...Object.keys(a), ...Object.keys(b)])) {
    const ra = a[t] ?? []
    const rb = b[t] ?? []
    if (ra.length === rb.length && ra.every((x, i) => x === rb[i])) continue
    const sb = new Set(rb)
    const sa = new Set(ra)
    return { table: t, onlyA: ra.filter((x) => !sb.has(x)), onlyB: rb.filter((x) => !sa.has(x)) }
  }
  return undefined
}

export class FkRestoreError extends Error {}
