// Runs descriptors on a Prisma client (cached or plain) and turns the outcome into a
// comparable text: the canonical result, or the error's code.
import type { Call, Op } from './ops.ts'
import { canonical, canonicalResult, decode } from './values.ts'

/** A Prisma client of any generated schema, typed loosely. */
export type AnyClient = Record<string, unknown> & {
  $transaction(arg: unknown, opts?: unknown): Promise<unknown>
  $executeRawUnsafe(sql: string): Promise<number>
}
type Delegate = Record<string, (args: unknown) => PromiseLike<unknown> & Record<string, (a?: unknown) => PromiseLike<unknown>>>

const lowerFirst = (s: string) => s.charAt(0).toLowerCase() + s.slice(1)

/** The PrismaPromise of a call (not awaited: batches need them unstarted). */
export function startCall(client: unknown, call: Call): PromiseLike<unknown> {
  const delegate = (client as Record<string, Delegate>)[lowerFirst(call.model)]
  if (!delegate) throw new Error(`no delegate for model ${call.model}`)
  const p = delegate[call.method]!(decode(call.args))
  if (call.fluent) return p[call.fluent.rel]!(call.fluent.args === undefined ? undefined : decode(call.fluent.args))
  return p
}

/** An error's comparable identity: a Prisma error code, or the error class. */
export function errorCode(err: unknown): string {
  const e = err as { code?: unknown; name?: unknown; constructor?: { name?: string } }
  if (typeof e?.code === 'string' && /^P\d{4}$/.test(e.code)) return e.code
  const name = typeof e?.name === 'string' ? e.name : (e?.constructor?.name ?? 'Error')
  return name
}

export interface Outcome {
  /** `ok <canonical>` / `rollback <canonical>` / `error <code>`. */
  text: string
  /** The error, for reports. */
  error?: unknown
}

class Rollback extends Error {
  constructor(readonly results: string[]) {
    super('rollback')
  }
}

export async function runOp(client: AnyClient, op: Exclude<Op, { k: 'read' } | { k: 'restore' } | { k: 'cold' }>, mask: Set<string>): Promise<Outcome> {
  try {
    switch (op.k) {
      case 'write':
        return { text: `ok ${canonicalResult(op.call.method, await startCall(client, op.call), mask)}` }
      case 'batch': {
        const results = (await client.$transaction(op.calls.map((c) => startCall(client, c)))) as unknown[]
        return { text: `ok [${results.map((r, i) => canonicalResult(op.calls[i]!.method, r, mask)).join(',')}]` }
      }
      case 'raw':
        return { text: `ok ${await client.$executeRawUnsafe(op.sql)}` }
      case 'itx': {
        const results = await client.$transaction(async (tx: unknown) => {
          const out: string[] = []
          for (const c of op.calls) out.push(canonicalResult(c.method, await startCall(tx, c), mask))
          if (op.rollback) throw new Rollback(out)
          return out
        }, { timeout: 20_000, maxWait: 20_000 })
        return { text: `ok ${JSON.stringify(results)}` }
      }
    }
  } catch (err) {
    if (err instanceof Rollback) return { text: `rollback ${JSON.stringify(err.results)}` }
    return { text: `error ${errorCode(err)}`, error: err }
  }
}

export async function runRead(client: unknown, call: Call, mask: Set<string>, sortArrays: boolean): Promise<Outcome> {
  try {
    return { text: `ok ${canonical(await startCall(client, call), mask, sortArrays)}` }
  } catch (err) {
    return { text: `error ${errorCode(err)}`, error: err }
  }
}
