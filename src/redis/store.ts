import type { Redis, Cluster } from 'ioredis'
import { preloadScripts, scripts } from './scripts.js'

/** Dependencies of one entry in the form the scripts take (conj keys without prefix). */
export interface LeaseRequest {
  /** Every model the entry depends on, with the conjunction schemes it registers. */
  readonly models: readonly { readonly name: string; readonly schemes: readonly string[] }[]
  /** `Model:f=v&g=w` for each conjunction (see src/query/dependencies.ts conjKeyOf). */
  readonly conjKeys: readonly string[]
}

export type ReadResult = { readonly hit: true; readonly payload: Buffer } | { readonly hit: false; readonly header: string }

/** A row of one model as canonical field values, ready for invalidate_rows.lua. */
export type RowValues = readonly (readonly [field: string, value: string])[]

/**
 * Everything prisma-cacheops says to Redis. Data layout (docs/design.md):
 *   <prefix>q:<sha1>         entry: "<header length>\n<header><payload>", with TTL
 *   <prefix>e:<Model>        hash: "_" → model stamp, "s:<scheme>" → registered schemes
 *   <prefix>c:<Model>:<conj> conjunction stamp, with TTL ≥ every entry built on it
 */
export class CacheStore {
  constructor(readonly redis: Redis | Cluster, readonly prefix: string) {
    preloadScripts(redis)
    // Redis restarted or failed over: its script cache is empty again.
    redis.on('ready', () => preloadScripts(redis))
  }

  entryKey(hash: string): string {
    return `${this.prefix}q:${hash}`
  }

  /** One round trip: the entry if all its stamps are current, else a lease (header). */
  async readOrLease(entryKey: string, lease: LeaseRequest, token: string, ttl: number): Promise<ReadResult> {
    const args: (string | number)[] = [entryKey, this.prefix, token, ttl, lease.models.length]
    for (const m of lease.models) args.push(m.name, m.schemes.length, ...m.schemes)
    args.push(lease.conjKeys.length, ...lease.conjKeys)
    const reply = (await scripts.readOrLease.run(this.redis, args)) as [number, ...Buffer[]]
    if (reply[0] === 1) return { hit: true, payload: reply[1] as Buffer }
    const stamps = reply.slice(1).map((b) => String(b))
    let header = ''
    lease.models.forEach((m, i) => (header += `e ${stamps[i]} ${m.name}\n`))
    lease.conjKeys.forEach((k, i) => (header += `c ${stamps[lease.models.length + i]} ${k}\n`))
    return { hit: false, header }
  }

  /** Stores unless a write invalidated any stamp of the lease meanwhile. */
  async storeIfFresh(entryKey: string, header: string, payload: Buffer, ttl: number): Promise<boolean> {
    const reply = await scripts.storeIfFresh.run(this.redis, [entryKey, this.prefix, ttl, header, payload])
    return reply === 1
  }

  /** Returns conj keys deleted, or -1 when the model was invalidated whole. */
  async invalidateRows(model: string, rows: readonly RowValues[]): Promise<number> {
    if (rows.length === 0) return 0
    const args: string[] = [this.prefix, model, String(rows.length)]
    for (const row of rows) {
      args.push(String(row.length))
      for (const [f, v] of row) args.push(f, v)
    }
    return (await scripts.invalidateRows.run(this.redis, args)) as number
  }

  /** Voids every entry depending on these models (their model stamps go). */
  async invalidateModels(models: Iterable<string>): Promise<void> {
    const keys = [...new Set(models)].map((m) => `${this.prefix}e:${m}`)
    if (keys.length > 0) await this.redis.del(...keys)
  }

  /** Deletes every key under this prefix; returns how many. */
  async invalidateAll(): Promise<number> {
    const pattern = `${this.prefix.replace(/[*?[\]\\]/g, '\\$&')}*`
    let cursor = '0'
    let deleted = 0
    do {
      const [next, keys] = await this.redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000)
      cursor = next
      if (keys.length > 0) deleted += await this.redis.unlink(...keys)
    } while (cursor !== '0')
    return deleted
  }
}
