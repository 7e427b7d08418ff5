// Creates the database named by DATABASE_URL if it is missing and (re)creates every
// table of the reference schema from the checked-in SQL migration.
import { readFileSync } from 'node:fs'
import pg from 'pg'

export const DEFAULT_DATABASE_URL = 'postgresql://postgres@127.0.0.1:5432/cacheops_test'

export async function resetDatabase(url = process.env.DATABASE_URL ?? DEFAULT_DATABASE_URL): Promise<void> {
  const target = new URL(url)
  const dbName = decodeURIComponent(target.pathname.slice(1))
  const admin = new URL(url)
  admin.pathname = '/postgres'
  const adminClient = new pg.Client({ connectionString: admin.toString() })
  await adminClient.connect()
  try {
    const exists = await adminClient.query('SELECT 1 FROM pg_database WHERE datname = $1', [dbName])
    if (exists.rowCount === 0) await adminClient.query(`CREATE DATABASE "${dbName.replace(/"/g, '""')}"`)
  } finally {
    await adminClient.end()
  }
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    await client.query('DROP SCHEMA IF EXISTS public CASCADE')
    await client.query(readFileSync(new URL('../prisma/migrations/0001_init/migration.sql', import.meta.url), 'utf8'))
  } finally {
    await client.end()
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await resetDatabase()
  console.log(`database ${new URL(process.env.DATABASE_URL ?? DEFAULT_DATABASE_URL).pathname.slice(1)} reset`)
}
