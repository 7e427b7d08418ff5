// One typed function per Lua script: what it is called with, as KEYS then ARGV (see the
// comment atop each script for what each argument means). The Redis store builds no script
// argument list anywhere else.
import { keyOf } from './keys.js'
import type { LeaseRequest, RowValues } from '../store/types.js'

type Args = (string | number | Buffer)[]

/** read_or_lease.lua: KEYS entry, payload; ARGV prefix, token, ttl, models, conj keys, lock, refresh, fetch. */
export function readOrLeaseArgs(a: {
  entryKey: string
  prefix: string
  token: string
  ttl: number
  request: LeaseRequest
  /** The request's conj keys, then its check-only keys. */
  conjKeys: readonly string[]
  lockMs: number
  refreshMs: number
  callerFetchesPayload: boolean
}): Args {
  const args: Args = [a.entryKey, keyOf.payload(a.entryKey), a.prefix, a.token, a.ttl, a.request.models.length]
  for (const m of a.request.models) args.push(m.name, m.schemes.length, ...m.schemes)
  args.push(a.conjKeys.length, ...a.conjKeys, a.lockMs, a.refreshMs, a.callerFetchesPayload ? 1 : 0)
  return args
}

/** store_if_fresh.lua: KEYS entry, payload; ARGV as documented there. */
export function storeIfFreshArgs(a: {
  entryKey: string
  prefix: string
  ttl: number
  header: string
  payload: Buffer
  token: string
  checkOnly: string
  fromResult: readonly { readonly scheme: string; readonly key: string }[]
  freshSeconds: number
  external: boolean
  endsRefresh: boolean
  extendHeader: boolean
}): Args {
  const extra = a.fromResult.map((c) => `${c.scheme}|${c.key}\n`).join('')
  return [a.entryKey, keyOf.payload(a.entryKey), a.prefix, a.ttl, a.header, a.payload, a.token, a.checkOnly, extra, a.freshSeconds, a.external ? 1 : 0, a.endsRefresh ? 1 : 0, a.extendHeader ? 1 : 0]
}

/** begin_write.lua (no KEYS): prefix, model, guard, guard seconds[, transform token, fresh id]. */
export function beginWriteArgs(a: { prefix: string; model: string; guard: string | undefined; guardSeconds: number; transform?: { token: string; freshId: string } | undefined }): Args {
  const args: Args = [a.prefix, a.model, a.guard ?? '0', a.guardSeconds]
  if (a.transform) args.push(a.transform.token, a.transform.freshId)
  return args
}

/** delete_conj_keys.lua: KEYS registry, transforms, mass writes, model stamp, conj stamps; its number of keys. */
export function deleteConjKeysArgs(a: {
  prefix: string
  model: string
  conjKeys: readonly string[]
  endTransform: string
  graceMs: number
  endWrite: string | undefined
  transforms: readonly string[]
  keySchemes: readonly string[]
}): { args: Args; numberOfKeys: number } {
  const { prefix, model } = a
  return {
    args: [
      keyOf.registry(prefix, model), keyOf.transforms(prefix, model), keyOf.massWrites(prefix, model), keyOf.modelStamp(prefix, model), ...a.conjKeys.map((k) => keyOf.conjStamp(prefix, k)),
      a.endTransform, String(a.graceMs), a.endWrite ?? '0', String(a.transforms.length), ...a.transforms, ...a.keySchemes.map((s) => `s:${s}`),
    ],
    numberOfKeys: a.conjKeys.length + 4,
  }
}

/** invalidate_rows.lua (no KEYS): prefix, model, seen schemes, end write, end transform, grace, changed fields, rows. */
export function invalidateRowsArgs(a: {
  prefix: string
  model: string
  seenSchemes: readonly string[] | undefined
  endWrite: string | undefined
  endTransform: string
  graceMs: number
  changedFields: readonly string[] | undefined
  rows: readonly RowValues[]
}): Args {
  const args: Args = [a.prefix, a.model]
  if (a.seenSchemes === undefined) args.push('*')
  else args.push(String(a.seenSchemes.length), ...a.seenSchemes)
  // '' would be "no field changed"; '*' every field (creates, deletes, unknown).
  const changed = a.changedFields === undefined ? '*' : a.changedFields.join(',')
  args.push(a.endWrite ?? '0', a.endTransform, String(a.graceMs), changed, String(a.rows.length))
  for (const row of a.rows) {
    args.push(String(row.length))
    for (const [f, v] of row) args.push(f, v)
  }
  return args
}

/** release_lock.lua: KEYS entry; ARGV token, the unlock channel ('' for a refresh lock). */
export function releaseLockArgs(a: { entryKey: string; token: string; channel: string }): Args {
  return [a.entryKey, a.token, a.channel]
}
