/**
 * Every Redis key prisma-cacheops writes, by what it holds: the one place that names them in
 * TypeScript. The Lua scripts name the same keys through `lua/include/keys.lua` (a test
 * checks both agree). Layout under the configured prefix (docs/design.md):
 *   r:<sha1>                  an entry: "<header length> <stale at ms> <external>\n<header>[<payload>]"
 *   r:<sha1>#p                its payload when kept apart (larger than INLINE_PAYLOAD_BYTES)
 *   m:<Model>                 the model's stamp
 *   e:<Model>                 hash: "_" registry version, "s:<scheme>" schemes, "ended" mass writes ended
 *   c:<Model>:<conj>          a conjunction's stamp (c:<Model>~<fields>:<conj> for field-scoped reads;
 *                             tags and bound tags have conjunction names of their own)
 *   w:<Model>                 hash: mass writes of the model under way (n, until, g; lua/include/guard.lua)
 *   u:<Model>                 hash: running (and just ended) updateMany transforms
 *   unlock                    the channel lock waiters listen on
 */
export const keyOf = {
  entry: (prefix: string, hash: string) => `${prefix}r:${hash}`,
  payload: (entryKey: string) => `${entryKey}#p`,
  modelStamp: (prefix: string, model: string) => `${prefix}m:${model}`,
  registry: (prefix: string, model: string) => `${prefix}e:${model}`,
  conjStamp: (prefix: string, conj: string) => `${prefix}c:${conj}`,
  massWrites: (prefix: string, model: string) => `${prefix}w:${model}`,
  transforms: (prefix: string, model: string) => `${prefix}u:${model}`,
  unlockChannel: (prefix: string) => `${prefix}unlock`,
} as const

/**
 * The stamp key of an entry header's dependency line without its stamp: "m Post" is the
 * model stamp of Post, "c Post:id=7" a conjunction's.
 */
export function stampKeyOfDependency(prefix: string, dependency: string): string {
  const name = dependency.slice(2)
  return dependency[0] === 'm' ? keyOf.modelStamp(prefix, name) : keyOf.conjStamp(prefix, name)
}
