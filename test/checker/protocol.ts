// Messages between the checker (parent) and its worker processes (child.ts), over IPC.

export interface InitMessage {
  type: 'init'
  index: number
  url: string
  prefix: string
  workers: number
  /** Fraction of operations that are reads. */
  readFraction: number
  /** Route some writes through the plain client, bypassing invalidation (must be caught). */
  sabotage: boolean
  trace: boolean
  /** Up to this many ms of random delay before and after each database call (0: none). */
  latencyMs: number
  /** Clients run with the near cache (strict mode). */
  nearCache: boolean
}
export interface PhaseMessage {
  type: 'phase'
  phase: number
  seed: number
  ops: number
  /** Which reads and writes this phase draws from (WRITE_MIXES, READ_MIXES). */
  mix: 'all' | 'rows' | 'hot'
}
export interface CheckMessage {
  type: 'check'
  phase: number
  /** Every catalogued read, or only those of hot shapes (between the rounds of a 'hot' phase). */
  scope: 'all' | 'hot'
}
/** Writes this process's trace of the last phase to `file` (JSON lines). */
export interface DumpMessage { type: 'dump'; file: string }
export interface CloseMessage { type: 'close' }
export type ToChild = InitMessage | PhaseMessage | CheckMessage | DumpMessage | CloseMessage

/** Cumulative per-process counters. */
export interface Counters {
  ops: number
  reads: number
  /** Reads answered from the cache during the work phases (not the checks). */
  workHits: number
  writes: number
  /** Writes the database refused (unique / foreign key / not found / conflicts): expected. */
  writeErrors: number
  writeErrorsByCode: Record<string, number>
  /** The first message seen for each code. */
  writeErrorSamples: Record<string, string>
  /** Per write op: [attempts, database refusals]. */
  writesByOp: Record<string, [number, number]>
  /** Interactive transactions rolled back on purpose. */
  rolledBack: number
  /** Writes sent through the plain client (sabotage mode). */
  sabotaged: number
  /**
   * Write errors with a misleading code: a statement of ours sent into a transaction that
   * had already failed (PostgreSQL 25P02), surfacing instead of the original error.
   */
  anomalies: number
  anomalySamples: string[]
  /** Errors that point at a bug in the checker or the library, not at the data. */
  unexpected: number
  unexpectedSamples: string[]
  /** (shape, params) pairs compared at checks, and the cache hits those reads got. */
  checked: number
  checkHits: number
  mismatches: number
  /** Redis failures reported through onError. */
  cacheErrors: number
  /** Hits answered by the fast path (stats().fastHits), of all hits. */
  fastHits: number
  /** Hits answered from the near cache (stats().nearHits). */
  nearHits: number
  cacheErrorSamples: string[]
  catalogue: number
}

export interface Mismatch {
  process: number
  phase: number
  shape: string
  params: Record<string, unknown>
  cached: string
  fresh: string
}

export type FromChild =
  | { type: 'ready'; index: number }
  | { type: 'phaseDone'; phase: number; counters: Counters }
  | { type: 'checkDone'; phase: number; counters: Counters; mismatches: Mismatch[] }
  | { type: 'dumped'; file: string; entries: number }
  | { type: 'closed'; counters: Counters }
  | { type: 'fatal'; message: string }
