// Operation descriptors: plain JSON, replayed deterministically (shrinking, printing).
import type { Json } from './values.ts'

/** One Prisma model call: `prisma[delegate][method](args)`, optionally `.rel(fluentArgs)`. */
export interface Call {
  model: string
  method: string
  args: Json
  fluent?: { rel: string; args?: Json }
}

export type Op =
  /** Puts a read into pool slot `slot` (and runs it): it is re-run after every write. */
  | { k: 'read'; slot: number; call: Call }
  | { k: 'write'; call: Call }
  /** `$transaction([...])`. */
  | { k: 'batch'; calls: Call[] }
  /** `$transaction(async tx => ...)`, reads and writes in order, then a throw if `rollback`. */
  | { k: 'itx'; calls: Call[]; rollback: boolean }
  /** `$executeRawUnsafe(sql)`. */
  | { k: 'raw'; sql: string }
  /**
   * Another process's cache, empty (a fresh Redis prefix), from here on; the pool is
   * emptied. A phase may start so: what a model's cached reads are (its registered schemes)
   * decides how its writes invalidate, and some of those states only arise from cold.
   */
  | { k: 'cold' }
  /**
   * Shrinking only: puts both databases in a state (rows per table, as PostgreSQL's
   * row_to_json gives them, and sequence values) below the cache. Always the first op.
   */
  | { k: 'restore'; snapshot: Snapshot }

export interface Snapshot {
  tables: Record<string, Json[]>
  /** Sequence name → [last_value, is_called]. */
  sequences: Record<string, [number, boolean]>
}

export const READ_METHODS = new Set(['findUnique', 'findUniqueOrThrow', 'findFirst', 'findFirstOrThrow', 'findMany', 'count', 'aggregate', 'groupBy'])
export const isWriteOp = (op: Op): boolean => op.k !== 'read' && op.k !== 'cold'
