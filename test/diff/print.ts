// Prints operation sequences as Prisma code, and mismatches as expected/got.
import type { Call, Op, Snapshot } from './ops.ts'
import type { Mismatch } from './runner.ts'
import type { SchemaInfo, SField } from './schema.ts'
import type { Json } from './values.ts'

const IDENT = /^[A-Za-z_$][A-Za-z0-9_$]*$/

export function jsLiteral(v: Json): string {
  if (v === null) return 'null'
  if (Array.isArray(v)) return `[${v.map(jsLiteral).join(', ')}]`
  if (typeof v === 'object') {
    if (Object.keys(v).length === 2 && typeof v.$t === 'string' && typeof v.v === 'string') {
      switch (v.$t) {
        case 'bigint': return `${v.v}n`
        case 'decimal': return `new Prisma.Decimal(${JSON.stringify(v.v)})`
        case 'date': return `new Date(${JSON.stringify(v.v)})`
        case 'bytes': return `Buffer.from(${JSON.stringify(v.v)}, 'base64')`
      }
    }
    const entries = Object.entries(v)
    if (!entries.length) return '{}'
    return `{ ${entries.map(([k, x]) => `${IDENT.test(k) ? k : JSON.stringify(k)}: ${jsLiteral(x)}`).join(', ')} }`
  }
  return JSON.stringify(v)
}

const lowerFirst = (s: string) => s.charAt(0).toLowerCase() + s.slice(1)

export function callCode(client: string, c: Call): string {
  const base = `${client}.${lowerFirst(c.model)}.${c.method}(${jsLiteral(c.args)})`
  return c.fluent ? `${base}.${c.fluent.rel}(${c.fluent.args === undefined ? '' : jsLiteral(c.fluent.args)})` : base
}

/** A column value of a snapshot (row_to_json form) as a Prisma input of field `f`. */
function fieldValue(v: Json, f: SField): Json {
  if (v === null) return null
  if (f.isList && Array.isArray(v)) return v.map((x) => fieldValue(x, { ...f, isList: false }))
  switch (f.type) {
    case 'DateTime': {
      const d = new Date(/Z|[+-]\d\d:?\d\d$/.test(String(v)) ? String(v) : `${v}Z`)
      return Number.isNaN(d.getTime()) ? v : { $t: 'date', v: d.toISOString() }
    }
    case 'Decimal': return { $t: 'decimal', v: String(v) }
    case 'BigInt': return { $t: 'bigint', v: String(v) }
    case 'Bytes': return { $t: 'bytes', v: Buffer.from(String(v).replace(/^\\x/, ''), 'hex').toString('base64') }
    default: return v
  }
}

/** A snapshot as setup code through the plain client (below the cache). */
function restoreCode(snap: Snapshot, info?: SchemaInfo): string[] {
  const lines = ['// setup through the plain client (no cache):']
  // Parents first (foreign keys), then the rest.
  const order: string[] = []
  const visit = (table: string, path: Set<string>) => {
    if (order.includes(table) || path.has(table)) return
    path.add(table)
    const m = info?.models.find((x) => x.dbName === table)
    for (const rel of m?.relations ?? []) if (rel.fromFields.length) visit(info!.byName[rel.type]!.dbName, path)
    if (!order.includes(table) && table in snap.tables) order.push(table)
  }
  for (const t of Object.keys(snap.tables).sort((a, b) => Number(a.startsWith('_')) - Number(b.startsWith('_')))) visit(t, new Set())
  for (const table of order) {
    const rows = snap.tables[table]!
    const m = info?.models.find((x) => x.dbName === table)
    if (m) {
      const data = rows.map((row) => Object.fromEntries(m.scalars.filter((f) => (row as Record<string, Json>)[f.dbName] !== undefined).map((f) => [f.name, fieldValue((row as Record<string, Json>)[f.dbName]!, f)])))
      lines.push(`await base.${m.delegate}.createMany({ data: ${jsLiteral(data)} })`)
    } else {
      lines.push(`await base.$executeRawUnsafe(${JSON.stringify(`INSERT INTO "${table}" SELECT * FROM json_populate_recordset(NULL::"${table}", '${JSON.stringify(rows).replace(/'/g, "''")}')`)})`)
    }
  }
  const seqs = Object.entries(snap.sequences)
  if (seqs.length) lines.push(`await base.$executeRawUnsafe(${JSON.stringify(`SELECT ${seqs.map(([n, [v]]) => `setval('"${n}"', ${v})`).join(', ')}`)})`)
  return lines
}

export function opCode(op: Op, info?: SchemaInfo): string {
  switch (op.k) {
    case 'restore': return restoreCode(op.snapshot, info).join('\n')
    case 'read': return `await prisma.${callCode('prisma', op.call).slice('prisma.'.length)} // read (kept in the pool, re-run after each write)`
    case 'write': return `await ${callCode('prisma', op.call)}`
    case 'batch': return `await prisma.$transaction([${op.calls.map((c) => callCode('prisma', c)).join(', ')}])`
    case 'raw': return `await prisma.$executeRawUnsafe(${JSON.stringify(op.sql)})`
    case 'cold': return `prisma = base.$extends(cacheops({ ...config, prefix: 'another:' })) // an empty cache from here on`
    case 'itx':
      return [
        'await prisma.$transaction(async (tx) => {',
        ...op.calls.map((c) => `  await ${callCode('tx', c)}`),
        ...(op.rollback ? ["  throw new Error('rollback')"] : []),
        '})',
      ].join('\n')
  }
}

export function printMismatch(ops: readonly Op[], m: Mismatch, info?: SchemaInfo): string {
  const lines = ops.map((op, i) => (i === 1 && ops[0]?.k === 'restore' ? `// then, through the cache:\n${opCode(op, info)}` : opCode(op, info)))
  const what =
    m.kind === 'read'
      ? [`// then, read through the cache:`, `await ${callCode('prisma', m.call!)}`, `//   cached:   ${m.got}`, `//   database: ${m.expected}`]
      : m.kind === 'write'
        ? [`// the last operation's outcome differs:`, `//   cached client (A): ${m.got}`, `//   plain client (B):  ${m.expected}`]
        : [`// after the last operation, the databases differ:`, `//   ${m.got}`, `//   ${m.expected}`]
  return [...lines, ...what].join('\n')
}
