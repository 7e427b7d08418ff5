// Shrinking: finds a short failing suffix of the sequence started from a restored database
// state (a snapshot of the failing run just before the suffix), then removes operations
// (ddmin: chunks, then single ones), calls inside transactions, and rows of the snapshot,
// replaying each candidate from scratch, until nothing smaller fails or the time cap ends.
import type { DiffEnv } from './env.ts'
import type { Op, Snapshot } from './ops.ts'
import { replay, type Mismatch, type RunOptions } from './runner.ts'

export interface ShrinkResult {
  ops: Op[]
  mismatch: Mismatch
  replays: number
  ms: number
  /** The time cap ended shrinking before it was minimal. */
  timedOut: boolean
}

const same = (a: Mismatch, b: Mismatch) => a.kind === b.kind

/**
 * `suffixOnly`: the sequence cannot be replayed from its start (the exploration recovered
 * from earlier mismatches in between): only suffixes from the run's own states are tried.
 */
export async function shrink(env: DiffEnv, failing: readonly Op[], first: Mismatch, o: RunOptions & { seconds?: number; suffixOnly?: boolean } = {}, history?: ReadonlyMap<number, Snapshot>): Promise<ShrinkResult> {
  const t0 = Date.now()
  const deadline = t0 + (o.seconds ?? 60) * 1000
  let ops = failing.slice(0, first.index + 1)
  let mismatch = first
  let replays = 0
  let timedOut = false
  // A stale read is shrunk on that read alone (see RunOptions.focus): much faster replays.
  if (first.kind === 'read' && first.call) o = { ...o, focus: first.call }
  else o = { ...o, skipReads: true }
  const focusKey = first.kind === 'read' ? JSON.stringify(first.call) : undefined
  const isFocusRead = (op: Op) => op.k === 'read' && JSON.stringify(op.call) === focusKey

  /** Replays `cand`; adopts it (cut at its mismatch) when it fails the same way. */
  const attempt = async (cand: Op[]): Promise<boolean> => {
    if (Date.now() > deadline) {
      timedOut = true
      return false
    }
    replays++
    try {
      const r = await replay(env, cand, o)
      if (r.mismatch && same(r.mismatch, first)) {
        ops = cand.slice(0, r.mismatch.index + 1)
        mismatch = r.mismatch
        return true
      }
    } catch {
      // A snapshot that cannot be restored (rows without their parents): not a candidate.
    }
    return false
  }

  // 1. The shortest failing suffix (1, 2, 4, ... operations) from the state before it.
  const n = ops.length
  const starts: number[] = []
  for (let k = 1; k < n; k *= 2) starts.push(n - k)
  const snaps = new Map<number, Snapshot>()
  // The state before op `start`: the run's own history when it has it (B after the last
  // write before `start`), else captured by one replay.
  for (const start of starts) {
    let k = start - 1
    while (k >= 0 && ops[k]!.k === 'read' && !history?.has(k)) k--
    const snap = k < 0 ? { tables: {}, sequences: {} } : history?.get(k)
    if (snap) snaps.set(start, snap)
  }
  if (snaps.size < starts.length && !o.suffixOnly) {
    replays++
    await replay(env, ops, o, new Set(starts.filter((x) => !snaps.has(x))), snaps)
  }
  for (const start of starts) {
    const snap = snaps.get(start)
    if (!snap || timedOut) break
    const suffix = ops.slice(start)
    if (focusKey && !suffix.some(isFocusRead)) {
      const read = [...ops.slice(0, start)].reverse().find(isFocusRead)
      if (read) suffix.unshift(read)
    }
    if (await attempt([{ k: 'restore', snapshot: snap }, ...suffix])) break
  }
  if (focusKey && ops[0]?.k !== 'restore') {
    // No suffix failed: at least drop the other reads.
    const cand = ops.filter((op) => op.k !== 'read' || isFocusRead(op))
    if (cand.length < ops.length) await attempt(cand)
  }

  if (o.suffixOnly && ops[0]?.k !== 'restore') {
    // No suffix failed, and the whole sequence cannot be replayed: the last 64 operations as they are.
    return { ops: ops.slice(-64), mismatch, replays, ms: Date.now() - t0, timedOut: true }
  }
  // 2. ddmin over the operations (a restore stays first).
  const headLen = () => (ops[0]?.k === 'restore' ? 1 : 0)
  let chunks = 2
  while (ops.length - headLen() >= 2 && !timedOut) {
    const head = ops.slice(0, headLen())
    const body = ops.slice(headLen())
    const size = Math.ceil(body.length / chunks)
    let reduced = false
    for (let start = 0; start < body.length && !timedOut; start += size) {
      const cand = [...body.slice(0, start), ...body.slice(start + size)]
      if (cand.length && (await attempt([...head, ...cand]))) {
        reduced = true
        break
      }
    }
    if (reduced) chunks = Math.max(chunks - 1, 2)
    else if (chunks >= body.length) break
    else chunks = Math.min(chunks * 2, body.length)
  }

  // 3. Calls inside transactions, one at a time; a batch of one call as a plain write.
  for (let i = 0; i < ops.length && !timedOut; i++) {
    let op = ops[i]!
    if (op.k !== 'batch' && op.k !== 'itx') continue
    for (let j = 0; j < op.calls.length && op.calls.length > 1 && !timedOut; ) {
      const smaller: Op = { ...op, calls: op.calls.filter((_, x) => x !== j) }
      if (await attempt([...ops.slice(0, i), smaller, ...ops.slice(i + 1)])) op = smaller
      else j++
      if (ops[i] !== op) break // the sequence changed shape: stop here
    }
    if (op.k === 'batch' && op.calls.length === 1) await attempt([...ops.slice(0, i), { k: 'write', call: op.calls[0]! }, ...ops.slice(i + 1)])
    if (op.k === 'itx' && op.rollback) await attempt([...ops.slice(0, i), { ...op, rollback: false }, ...ops.slice(i + 1)])
  }

  // 4. The snapshot: whole tables, then rows (halves, then one at a time).
  if (ops[0]?.k === 'restore') {
    const withSnap = (snap: Snapshot) => [{ k: 'restore', snapshot: snap } as Op, ...ops.slice(1)]
    const snap = () => (ops[0] as Extract<Op, { k: 'restore' }>).snapshot
    if (Object.keys(snap().sequences).length && !(await attempt(withSnap({ ...snap(), sequences: {} }))))
      for (const name of Object.keys(snap().sequences)) {
        if (timedOut) break
        const { [name]: _drop, ...rest } = snap().sequences
        await attempt(withSnap({ ...snap(), sequences: rest }))
      }
    for (const t of Object.keys(snap().tables)) {
      if (timedOut) break
      const { [t]: _drop, ...rest } = snap().tables
      await attempt(withSnap({ ...snap(), tables: rest }))
    }
    for (const t of Object.keys(snap().tables)) {
      let size = Math.ceil((snap().tables[t]?.length ?? 0) / 2)
      while (size >= 1 && !timedOut) {
        let reduced = false
        const rows = snap().tables[t] ?? []
        for (let start = 0; start < rows.length && !timedOut; start += size) {
          const kept = [...rows.slice(0, start), ...rows.slice(start + size)]
          const tables = { ...snap().tables, [t]: kept }
          if (!kept.length) delete tables[t]
          if (await attempt(withSnap({ ...snap(), tables }))) {
            reduced = true
            break
          }
        }
        if (!reduced) size = size === 1 ? 0 : Math.ceil(size / 2)
        if (!snap().tables[t]) break
      }
    }
  }
  return { ops, mismatch, replays, ms: Date.now() - t0, timedOut }
}
