import { randomBytes } from 'node:crypto'
import { Redis, type Cluster } from 'ioredis'
import { decodeResult, encodeResult } from './codec/index.js'
import { decide, baseReadOp, type CacheCallOptions } from './config/profiles.js'
import type { ParsedConfig } from './config/schema.js'
import type { CacheopsDatamodel, ModelInfo } from './datamodel/types.js'
import { CacheopsError, CacheopsRedisError } from './errors.js'
import { modelsChangedByDelete, modelsChangedByKeyUpdate, modelsTouchedByNestedWrite } from './invalidation/cascades.js'
import { MAX_NESTED_ROWS, planNestedWrite, rowsOfNestedRead, type NestedWritePlan } from './invalidation/nested.js'
import { compareAndSetWhere, createOnlyWhere, planWrite, preImageFields, readBackWhere, rowValuesOf, withConjFieldsSelected } from './invalidation/writes.js'
import { modelsWrittenBySql } from './invalidation/rawSql.js'
import { cacheKeyFor } from './query/cacheKey.js'
import { conjKeyOf, readPlan, schemeOf, type ReadPlan } from './query/dependencies.js'
import { resultDependencies } from './query/resultDependencies.js'
import { DEFAULT_DNF_OPTIONS, type DnfOptions } from './query/dnf.js'
import type { Invalidation, TxScope } from './prisma/transactions.js'
import { CacheStore, type Lease, type LeaseRequest, type ResultConjunction, type RowValues } from './redis/store.js'

/** Counters since start; see `prisma.$cacheops.stats()`. */
export interface CacheStats {
  hits: number
  misses: number
  stores: number
  /** Results not stored because a write invalidated them while they were computed. */
  skippedStores: number
  invalidations: number
  errors: number
}

/** A read as the Prisma hook hands it over. */
export interface ReadCall {
  readonly model: string
  readonly operation: string
  readonly args: Record<string, unknown>
  readonly dataPath: readonly string[]
  readonly call: CacheCallOptions | false | undefined
  readonly scope: TxScope | undefined
  readonly query: (args: Record<string, unknown>) => Promise<unknown>
}

/** A write as the Prisma hook hands it over. */
export interface WriteCall {
  readonly model: string
  readonly operation: string
  readonly args: Record<string, unknown>
  /** Fluent-API path (`post.update(a).author()`): the value is then another model's row. */
  readonly dataPath: readonly string[]
  readonly scope: TxScope | undefined
  readonly query: (args: Record<string, unknown>) => Promise<unknown>
  /** Reads rows of any model outside the cache (inside the transaction, if any): images. */
  readonly read: <Op extends 'findUnique' | 'findMany'>(
    model: string,
    op: Op,
    where: unknown,
    select: Record<string, unknown>,
  ) => Promise<Op extends 'findUnique' ? Record<string, unknown> | null : Record<string, unknown>[]>
}

/**
 * Lease tokens: a random per-process part and a counter. Unique across processes and
 * restarts like a random token, without a crypto call on every read.
 */
const TOKEN_PREFIX = randomBytes(6).toString('base64url')
let tokenCounter = 0
function nextToken(): string {
  return `${TOKEN_PREFIX}${(tokenCounter++).toString(36)}`
}

/** Extra seconds a conjunction stamp outlives the entry TTL while the result is computed. */
const LEASE_MARGIN_SECONDS = 60

/** createMany of more rows than this invalidates the model whole instead of reading them back. */
const MAX_READ_BACK_ROWS = 1000

/** Cascade levels followed row by row before the models below go whole. */
const MAX_CASCADE_DEPTH = 4

/** Compare-and-set retries of one write before falling back to model-wide invalidation. */
const MAX_CAS_ATTEMPTS = 4

/** The cache itself: read path, write path and invalidation, independent of Prisma's hook API. */
export class CacheopsRuntime {
  readonly store: CacheStore
  readonly redis: Redis | Cluster
  private readonly ownsRedis: boolean
  private readonly dnfOptions: DnfOptions
  readonly counters: CacheStats = { hits: 0, misses: 0, stores: 0, skippedStores: 0, invalidations: 0, errors: 0 }

  constructor(readonly config: ParsedConfig, private readonly notFoundError: (model: string) => Error) {
    const r = config.redis
    if (typeof r === 'object' && r !== null && typeof (r as Redis).evalsha === 'function') {
      this.redis = r as Redis | Cluster
      this.ownsRedis = false
    } else {
      // Bounded failure: a dead Redis must not hold database writes hostage.
      const defaults = { maxRetriesPerRequest: 1, connectTimeout: 2000, commandTimeout: 2000 }
      this.redis = typeof r === 'string' ? new Redis(r, defaults) : new Redis({ ...defaults, ...(r as object) })
      this.ownsRedis = true
      this.redis.on('error', () => {}) // reported per command through onError instead
    }
    this.store = new CacheStore(this.redis, config.prefix)
    this.dnfOptions = { ...DEFAULT_DNF_OPTIONS, maxInValues: config.maxInValues }
  }

  model(name: string): ModelInfo {
    const m = this.config.datamodel.models[name]
    if (!m) throw new CacheopsError(`prisma-cacheops: unknown model "${name}"`)
    return m
  }

  /** The read path: one round trip on a hit; lease, database, conditional store on a miss. */
  async read(c: ReadCall): Promise<unknown> {
    const op = baseReadOp(c.operation)
    const decision = op ? decide(this.config, c.model, op, c.call) : { cache: false as const }
    // In a batch every item must go to the database (mixing hangs it); after a write in
    // an interactive transaction, the cache no longer reflects what it sees.
    if (!op || !decision.cache || c.scope?.kind === 'batch' || c.scope?.wrote) return c.query(c.args)
    const orThrow = c.operation.endsWith('OrThrow')

    const entryKey = this.store.entryKey(cacheKeyFor(c.model, op, c.args, c.dataPath))
    // Included relations are narrowed from the result, except for fluent calls, whose
    // value is the related rows alone.
    const plan = readPlan(this.config.datamodel, c.model, c.args, this.dnfOptions, c.dataPath.length === 0)
    const token = nextToken()
    let lease: Lease | undefined
    let res: Awaited<ReturnType<CacheStore['readOrLease']>> | undefined
    try {
      res = await this.store.readOrLease(entryKey, leaseRequestOf(plan), token, decision.timeout + LEASE_MARGIN_SECONDS)
    } catch (err) {
      this.report(new CacheopsRedisError(`cache read failed for ${c.model}.${c.operation}: ${message(err)}`, 'read', c.model, err))
    }
    if (res?.hit) {
      let value: unknown
      let decoded = true
      try {
        value = decodeResult(res.payload)
      } catch (err) {
        decoded = false
        this.report(new CacheopsRedisError(`cached entry of ${c.model} could not be decoded: ${message(err)}`, 'read', c.model, err))
      }
      if (decoded) {
        this.counters.hits++
        if (orThrow && value === null) throw this.notFoundError(c.model)
        return value
      }
    } else if (res) lease = res
    this.counters.misses++

    let value: unknown
    let notFound: unknown
    try {
      value = await c.query(c.args)
    } catch (err) {
      // A not-found of an OrThrow read is a null result worth caching.
      if (!orThrow || (err as { code?: string }).code !== 'P2025') throw err
      value = null
      notFound = err
    }
    // Inside an interactive transaction the snapshot may predate the lease: never store.
    if (lease !== undefined && !c.scope) {
      const fromResult = plan.derived.size > 0 ? resultConjunctions(this.config.datamodel, c.model, c.args, value, plan.derived) : []
      this.storeInBackground(c.model, entryKey, lease, fromResult, token, value, decision.timeout)
    }
    if (notFound !== undefined) throw notFound
    return value
  }

  private storeInBackground(
    model: string,
    entryKey: string,
    lease: Lease,
    fromResult: readonly ResultConjunction[],
    token: string,
    value: unknown,
    ttl: number,
  ): void {
    let payload: Buffer
    try {
      payload = encodeResult(value)
    } catch (err) {
      this.report(new CacheopsRedisError(`result of ${model} not stored: ${message(err)}`, 'store', model, err))
      return
    }
    // Sent now, so a later read on this connection is queued behind it; not awaited.
    this.store.storeIfFresh(entryKey, lease, payload, ttl, token, fromResult).then(
      (stored) => void (stored ? this.counters.stores++ : this.counters.skippedStores++),
      (err) => this.report(new CacheopsRedisError(`cache store failed for ${model}: ${message(err)}`, 'store', model, err)),
    )
  }

  /** The write path: runs the write, then invalidates (or queues, in a transaction). */
  async write(c: WriteCall): Promise<unknown> {
    const dm = this.config.datamodel
    const info = this.model(c.model)
    let plan = planWrite(dm, c.model, c.operation, c.args)
    const modelWide = new Set(plan.modelWide)
    const nestedModelWide = () => {
      for (const d of plan.nestedData ?? []) for (const m of modelsTouchedByNestedWrite(dm, c.model, d)) modelWide.add(m)
    }
    if (c.dataPath.length > 0) {
      // The value we get is the related row the fluent call selected, not this model's row.
      plan = { ...plan, resultIsImage: false }
      modelWide.add(c.model)
    }
    if (c.scope) c.scope.wrote = true
    if (c.scope?.kind === 'batch') {
      // No extra queries inside a batch: invalidate the model whole after it resolves.
      modelWide.add(c.model)
      nestedModelWide()
      c.scope.pending.push({ model: c.model, rows: [], modelWide: [...modelWide], cause: `${c.model}.${c.operation}` })
      return c.query(c.args)
    }
    // Nested writes are read around the write under guards, which would have to last until
    // the commit inside a transaction: there they stay model-wide.
    const nestedPlan = plan.nestedData ? planNestedWrite(dm, c.model, plan.nestedData) : null
    if (nestedPlan && c.scope) nestedModelWide()
    const nested = nestedPlan && !c.scope ? await this.beginNestedWrite(c, nestedPlan, plan.preImageWhere, modelWide) : null
    // Rows the database deletes or re-keys in turn: read before, row by row, outside
    // transactions (whose guards would have to last until the commit).
    const cascadeModels = plan.deletes !== undefined ? modelsChangedByDelete(dm, c.model) : new Set<string>()
    if (c.scope) for (const m of cascadeModels) modelWide.add(m)
    const cascade: RelatedWrite | null = cascadeModels.size > 0 && !c.scope ? { guarded: [], images: new Map(), modelWide: new Set() } : null
    if (cascade && c.operation === 'delete') {
      const parent = await c.read(c.model, 'findUnique', plan.deletes, selectOf(preImageFields(info, undefined))).catch(() => undefined)
      if (parent === undefined) for (const m of cascadeModels) modelWide.add(m)
      else await this.readCascades(c, c.model, parent ? [parent] : [], cascade)
    }

    const { args, project } = plan.resultIsImage ? withConjFieldsSelected(info, c.args) : { args: c.args, project: (r: unknown) => r }
    let before: Record<string, unknown>[] = []
    let result: unknown
    let seenSchemes: string[] | undefined
    let endWrite = false
    try {
      if (plan.preImageWhere !== undefined) {
        seenSchemes = await this.beginWrite(c.model, false)
        const fields = preImageFields(info, seenSchemes)
        if (fields.length === 0) result = await c.query(args) // nothing cached: no pre-image needed
        else {
          const cas = await this.compareAndSet(c, info, args, plan.preImageWhere, fields, modelWide)
          result = cas.result
          if (cas.before) before = [cas.before]
        }
      } else if (plan.massPreImageWhere !== undefined && !c.scope) {
        seenSchemes = await this.beginWrite(c.model, true)
        endWrite = seenSchemes !== undefined
        if (!endWrite) modelWide.add(c.model)
        try {
          // Cascades need every deleted row's keys, even when nothing of the model is cached.
          const fields = preImageFields(info, cascade ? undefined : seenSchemes)
          if (endWrite && fields.length > 0) before = await c.read(c.model, 'findMany', plan.massPreImageWhere, selectOf(fields))
          if (cascade) {
            if (endWrite) await this.readCascades(c, c.model, before, cascade)
            else for (const m of cascadeModels) cascade.modelWide.add(m)
          }
          result = await c.query(args)
        } catch (err) {
          if (endWrite) await this.invalidate({ model: c.model, rows: [], modelWide: [], cause: `${c.model}.${c.operation} (failed)`, endWrite })
          throw err
        }
      } else {
        // A mass write inside a transaction: the guard would have to last until the commit.
        if (plan.massPreImageWhere !== undefined) modelWide.add(c.model)
        result = await c.query(args)
        if (plan.readBack) before = await this.readBack(c, info, plan.readBack, modelWide)
      }
    } catch (err) {
      if (nested) await this.endNestedWrite(c, nested, undefined)
      if (cascade) await this.finishRelated(c, cascade, true)
      throw err
    }
    if (cascade) for (const m of cascade.modelWide) if (!cascade.guarded.includes(m)) modelWide.add(m)
    const rows: RowValues[] = before.map((row) => rowValuesOf(info, row))
    if (plan.resultIsImage && result && typeof result === 'object') {
      for (const row of Array.isArray(result) ? result : [result]) rows.push(rowValuesOf(info, row as Record<string, unknown>))
    }
    const inv: Invalidation = { model: c.model, rows, modelWide: [...modelWide], cause: `${c.model}.${c.operation}`, seenSchemes, endWrite }
    if (c.scope) {
      // Now, to shrink the window in which others fill from pre-commit data, and again
      // after the commit (queued), when the new values become visible.
      await this.invalidate(inv)
      c.scope.pending.push({ ...inv, endWrite: false })
    } else {
      await this.invalidate(inv)
      if (nested) await this.endNestedWrite(c, nested, result)
      if (cascade) await this.finishRelated(c, cascade, false)
    }
    return project(result)
  }

  /**
   * Raises the guard of every model the nested data reaches, then reads the images the
   * write may change: the parent's related rows (update/upsert) and the rows it connects.
   */
  private async beginNestedWrite(c: WriteCall, plan: NestedWritePlan, where: unknown, modelWide: Set<string>): Promise<NestedWrite> {
    const guarded: string[] = []
    await this.guardModels([...plan.models].filter((m) => !plan.cascades.has(m)), { guarded, images: new Map(), modelWide })
    for (const m of plan.cascades) modelWide.add(m)
    const images = new Map<string, Record<string, unknown>[]>()
    const add = (m: string, row: Record<string, unknown> | null | undefined) => {
      if (row) images.set(m, [...(images.get(m) ?? []), row])
    }
    try {
      if (where !== undefined) {
        const parent = await c.read(c.model, 'findUnique', where, plan.selection)
        const found = rowsOfNestedRead(this.config.datamodel, c.model, plan.selection, parent)
        for (const [m, rows] of found.rows) for (const r of rows) add(m, r)
        for (const m of found.overflow) modelWide.add(m)
      }
      for (const t of plan.targets) {
        const info = this.model(t.model)
        add(t.model, await c.read(t.model, 'findUnique', t.where, selectOf(preImageFields(info, undefined))))
      }
    } catch {
      for (const m of guarded) modelWide.add(m) // an odd where: let the write report it
    }
    return { plan, guarded, images, modelWide }
  }

  /** Reads the new images through the written parent, invalidates, lowers the guards. */
  private async endNestedWrite(c: WriteCall, nested: NestedWrite, result: unknown): Promise<void> {
    const info = this.model(c.model)
    if (result && typeof result === 'object') {
      const row = result as Record<string, unknown>
      if (info.idFields.every((f) => row[f] !== undefined)) {
        const where = info.idFields.length === 1 ? { [info.idFields[0]!]: row[info.idFields[0]!] } : { [compoundIdName(info)]: Object.fromEntries(info.idFields.map((f) => [f, row[f]])) }
        try {
          const parent = await c.read(c.model, 'findUnique', where, nested.plan.selection)
          const found = rowsOfNestedRead(this.config.datamodel, c.model, nested.plan.selection, parent)
          for (const [m, rows] of found.rows) nested.images.set(m, [...(nested.images.get(m) ?? []), ...rows])
          for (const m of found.overflow) nested.modelWide.add(m)
        } catch {
          for (const m of nested.guarded) nested.modelWide.add(m)
        }
      } else for (const m of nested.guarded) nested.modelWide.add(m)
    }
    await this.finishRelated(c, nested, result === undefined)
  }

  /**
   * Invalidates the images read of other models' rows and lowers their guards. A failed
   * write changed nothing: then only the guards come down.
   */
  private async finishRelated(c: WriteCall, related: RelatedWrite, failed: boolean): Promise<void> {
    for (const m of related.guarded) {
      const info = this.model(m)
      const whole = !failed && related.modelWide.has(m)
      const rows = failed || whole ? [] : (related.images.get(m) ?? []).map((r) => rowValuesOf(info, r))
      await this.invalidate({ model: m, rows, modelWide: whole ? [m] : [], cause: `${c.model}.${c.operation} (${m})`, endWrite: true })
    }
  }

  /** Raises the write guard of each model; a model whose guard failed goes whole instead. */
  private async guardModels(models: Iterable<string>, related: RelatedWrite): Promise<void> {
    for (const m of models) {
      if (related.guarded.includes(m)) continue
      if ((await this.beginWrite(m, true)) === undefined) related.modelWide.add(m)
      else related.guarded.push(m)
    }
  }

  /**
   * Before a delete: the rows the database will delete or re-key through ON DELETE
   * CASCADE / SET NULL, read level by level from the deleted rows' keys, under guards.
   * SET NULL children get a second image with the foreign key nulled; SET DEFAULT, too
   * many rows or missing key values make the child model whole.
   */
  private async readCascades(c: WriteCall, model: string, rows: readonly Record<string, unknown>[], related: RelatedWrite, depth = 0): Promise<void> {
    if (rows.length === 0) return
    for (const other of Object.values(this.config.datamodel.models)) {
      for (const f of Object.values(other.fields)) {
        if (f.kind !== 'relation' || f.type !== model || f.fromFields.length === 0) continue
        if (f.onDelete !== 'Cascade' && f.onDelete !== 'SetNull' && f.onDelete !== 'SetDefault') continue
        if (f.onDelete === 'SetDefault' || depth > MAX_CASCADE_DEPTH || related.modelWide.has(other.name)) {
          related.modelWide.add(other.name)
          continue
        }
        const keys = rows.map((r) => f.toFields.map((t) => r[t]))
        if (keys.some((k) => k.some((v) => v === undefined))) {
          related.modelWide.add(other.name)
          continue
        }
        await this.guardModels([other.name], related)
        const where = { OR: keys.filter((k) => k.every((v) => v !== null)).map((k) => Object.fromEntries(f.fromFields.map((ff, i) => [ff, k[i]]))) }
        if (where.OR.length === 0) continue
        let children: Record<string, unknown>[]
        try {
          children = await c.read(other.name, 'findMany', where, { ...selectOf(preImageFields(other, undefined)), ...selectOf(f.fromFields) })
        } catch {
          related.modelWide.add(other.name)
          continue
        }
        if (children.length > MAX_NESTED_ROWS) {
          related.modelWide.add(other.name)
          continue
        }
        const list = related.images.get(other.name) ?? []
        list.push(...children)
        if (f.onDelete === 'SetNull') {
          list.push(...children.map((ch) => ({ ...ch, ...Object.fromEntries(f.fromFields.map((ff) => [ff, null])) })))
          for (const m of modelsChangedByKeyUpdate(this.config.datamodel, other.name, f.fromFields)) related.modelWide.add(m)
        }
        related.images.set(other.name, list)
        if (f.onDelete === 'Cascade') await this.readCascades(c, other.name, children, related, depth + 1)
      }
    }
  }

  /**
   * The rows a createMany wrote, read back by a unique key every row provides. They are
   * new, so their images now are the only ones; a later change by someone else is that
   * writer's to invalidate. No such key, or too many rows: the whole model.
   */
  private async readBack(c: WriteCall, info: ModelInfo, data: readonly unknown[], modelWide: Set<string>): Promise<Record<string, unknown>[]> {
    const where = data.length <= MAX_READ_BACK_ROWS ? readBackWhere(info, data) : null
    if (where) {
      try {
        return await c.read(c.model, 'findMany', where, selectOf(preImageFields(info, undefined)))
      } catch {
        // fall through
      }
    }
    modelWide.add(c.model)
    return []
  }

  /** Schemes of the model's cached reads (see begin_write.lua); undefined if Redis failed. */
  private async beginWrite(model: string, guard: boolean): Promise<string[] | undefined> {
    try {
      return await this.store.beginWrite(model, guard)
    } catch (err) {
      this.report(new CacheopsRedisError(`cache write preparation failed for ${model}: ${message(err)}`, 'invalidate', model, err))
      return undefined
    }
  }

  /**
   * update / upsert with a true pre-image: read the row, then write only if it still has
   * the values read (see compareAndSetWhere); on a lost race, read again and retry. After
   * MAX_CAS_ATTEMPTS (e.g. a column whose equality does not round-trip) the write runs
   * unconditionally and the model is invalidated whole.
   */
  private async compareAndSet(
    c: WriteCall,
    info: ModelInfo,
    args: Record<string, unknown>,
    where: unknown,
    fields: readonly string[],
    modelWide: Set<string>,
  ): Promise<{ result: unknown; before: Record<string, unknown> | null }> {
    const select = selectOf(fields)
    for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
      let before: Record<string, unknown> | null
      try {
        before = await c.read(c.model, 'findUnique', where, select)
      } catch {
        break // let the write itself report what is wrong with its args
      }
      if (!before && c.operation === 'update') break // not found: Prisma's own error follows
      const guarded = before ? compareAndSetWhere(info, where, before, fields) : createOnlyWhere(info, where)
      try {
        return { result: await c.query({ ...args, where: guarded }), before }
      } catch (err) {
        const code = (err as { code?: string }).code
        // P2025: the row changed (update); P2002: it changed or appeared (upsert's create).
        if (code !== 'P2025' && code !== 'P2002') throw err
        const now = await c.read(c.model, 'findUnique', where, select).catch(() => undefined)
        if (now !== undefined && sameRow(info, now, before)) throw err // a genuine error, not a race
      }
    }
    modelWide.add(c.model)
    return { result: await c.query(args), before: null }
  }

  /** Raw SQL writes: the tables the SQL writes to (and their cascades), or every model. */
  async rawWrite(scope: TxScope | undefined, operation: string, sql: string, run: () => Promise<unknown>): Promise<unknown> {
    const dm = this.config.datamodel
    const chosen = this.config.rawSqlModels?.(sql) ?? modelsWrittenBySql(dm, sql)
    const models = chosen === 'all' ? Object.keys(dm.models) : [...chosen]
    const inv: Invalidation = { model: undefined, rows: [], modelWide: models, cause: operation }
    if (scope) {
      scope.wrote = true
      scope.pending.push(inv)
    }
    const result = await run()
    await this.invalidate(inv)
    return result
  }

  /** Applies invalidations; a Redis failure is reported, never thrown at the writer. */
  async invalidate(inv: Invalidation): Promise<void> {
    try {
      if (inv.modelWide.length > 0) await this.store.invalidateModels(inv.modelWide)
      if (inv.model !== undefined) {
        const whole = inv.modelWide.includes(inv.model)
        // Even when the model went whole, a raised write-in-progress counter must come down.
        if (!whole || inv.endWrite) {
          await this.store.invalidateRows(inv.model, whole ? [] : inv.rows, whole ? undefined : inv.seenSchemes, inv.endWrite)
        }
      }
      this.counters.invalidations++
    } catch (err) {
      this.report(new CacheopsRedisError(`invalidation after ${inv.cause} failed: ${message(err)}`, 'invalidate', inv.model, err))
    }
  }

  async flush(pending: readonly Invalidation[]): Promise<void> {
    for (const inv of pending) await this.invalidate(inv)
  }

  report(error: CacheopsError): void {
    this.counters.errors++
    try {
      this.config.onError(error)
    } catch {
      // A throwing error handler must not turn a cache problem into a failed query.
    }
  }

  async close(): Promise<void> {
    if (this.ownsRedis) await this.redis.quit().catch(() => this.redis.disconnect())
  }
}

/** A read plan → what the read/lease script needs (deterministic order). */
export function leaseRequestOf(plan: ReadPlan): LeaseRequest {
  const models: { name: string; schemes: string[] }[] = []
  const conjKeys: string[] = []
  for (const [model, conjs] of plan.deps) {
    const schemes = new Set<string>()
    for (const conj of conjs) {
      schemes.add(schemeOf(conj))
      conjKeys.push(conjKeyOf(model, conj))
    }
    if (plan.derived.has(model)) schemes.add('')
    models.push({ name: model, schemes: [...schemes] })
  }
  const checkOnlyKeys: string[] = []
  for (const model of plan.derived) {
    // Every write of the model deletes its empty conjunction: leasing it covers all rows.
    if (!plan.deps.has(model)) models.push({ name: model, schemes: [''] })
    checkOnlyKeys.push(conjKeyOf(model, new Map()))
  }
  return { models, conjKeys, checkOnlyKeys }
}

/** The conjunctions an include's result reaches, for the derived models only. */
function resultConjunctions(dm: CacheopsDatamodel, model: string, args: unknown, value: unknown, derived: ReadonlySet<string>): ResultConjunction[] {
  const out: ResultConjunction[] = []
  const found = resultDependencies(dm, model, args, value)
  for (const m of derived) {
    // No conjunction for a model means the result has no parent row to reach it from: then
    // only a change of the read's own rows can change it, and those are covered already.
    for (const conj of found.get(m) ?? []) out.push({ scheme: schemeOf(conj), key: conjKeyOf(m, conj) })
  }
  // The own model can be reached too (implicit many-to-many links).
  for (const [m, conjs] of found) {
    if (derived.has(m)) continue
    for (const conj of conjs) out.push({ scheme: schemeOf(conj), key: conjKeyOf(m, conj) })
  }
  return out
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

/** Same conjunction values (or both missing): the write failed for a reason of its own. */
function sameRow(info: ModelInfo, a: Record<string, unknown> | null, b: Record<string, unknown> | null): boolean {
  if (!a || !b) return a === b
  const x = rowValuesOf(info, a)
  const y = rowValuesOf(info, b)
  return x.length === y.length && x.every(([f, v], i) => y[i]?.[0] === f && y[i]?.[1] === v)
}

function selectOf(fields: readonly string[]): Record<string, true> {
  return Object.fromEntries(fields.map((f) => [f, true] as const))
}

/** Rows of other models a write changes, read around it under those models' guards. */
interface RelatedWrite {
  readonly guarded: string[]
  readonly images: Map<string, Record<string, unknown>[]>
  readonly modelWide: Set<string>
}

/** A nested write in progress: its plan and the related images read so far. */
interface NestedWrite extends RelatedWrite {
  readonly plan: NestedWritePlan
}

/** The WhereUniqueInput key of a compound id (`tenant_slug`). */
function compoundIdName(info: ModelInfo): string {
  return info.compoundUniques.find((u) => u.fields.length === info.idFields.length && u.fields.every((f, i) => f === info.idFields[i]))?.name ?? info.idFields.join('_')
}
