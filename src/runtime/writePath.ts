import { identityOf, whereIdentity } from '../datamodel/identity.js'
import type { ModelInfo, RelationFieldInfo } from '../datamodel/types.js'
import { modelsChangedByDelete, modelsChangedByKeyUpdate, relatedModelsChangedBy } from '../invalidation/cascades.js'
import { MAX_NESTED_ROWS, planNestedWrite, rowsOfNestedRead, type NestedWritePlan } from '../invalidation/nested.js'
import { modelsWrittenBySql } from '../invalidation/rawSql.js'
import { changedFieldsOf, compareAndSetWhere, planWrite, preImageFields, priorValuesOf, readBackWhere, rowValuesOf, updateChangesConjFields, updateTransformOf, withConjFieldsSelected, withPriorValues } from '../invalidation/writes.js'
import type { Invalidation, TxScope } from '../prisma/transactions.js'
import { transformOf, type RowValues, type UpdateTransform } from '../store/types.js'
import { encodeConjValue, storesAsGiven } from '../query/values.js'
import { fieldsOfScheme } from '../query/dependencies.js'
import type { CacheopsRuntime } from './core.js'

/**
 * What the write path needs of the runtime (core.ts): the config and models, the start of
 * a write (schemes, guards) and the invalidation of its result, and bound tags. Tests can
 * give just this.
 */
export type WriteRuntime = Pick<CacheopsRuntime, 'config' | 'model' | 'beginWrite' | 'invalidate' | 'boundTags' | 'hasBoundTags'>

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

/** createMany of more rows than this invalidates the model whole instead of reading them back. */
const MAX_READ_BACK_ROWS = 1000

/**
 * A mass update returning more row images than this (rows times listed prior values)
 * invalidates its model whole: one stamp instead of a script call with every row.
 */
const MAX_RETURNED_IMAGES = 10_000

/** Compare-and-set retries of one write before falling back to model-wide invalidation. */
const MAX_CAS_ATTEMPTS = 4

/** The write path: runs the write, then invalidates (or queues, in a transaction). */
export async function invalidatingWrite(core: WriteRuntime, c: WriteCall): Promise<unknown> {
  if (core.config.datamodel.relationMode !== 'prisma' || c.scope?.kind === 'batch') return writeAndInvalidate(core, c)
  try {
    return await writeAndInvalidate(core, c)
  } catch (err) {
    // Under relationMode = "prisma", Prisma emulates referential actions with statements
    // of its own, outside any transaction: a write that fails (a unique violation on the
    // parent's new key) may already have re-keyed or deleted related rows. Its reach and
    // its model go whole; a transaction's own rollback undoes them, and the queue is dropped.
    const dm = core.config.datamodel
    const inv: Invalidation = { model: c.model, rows: [], modelWide: [c.model, ...relatedModelsChangedBy(dm, c.model, c.operation, c.args)], cause: `${c.model}.${c.operation} (failed)` }
    await core.invalidate(inv)
    throw err
  }
}

async function writeAndInvalidate(core: WriteRuntime, c: WriteCall): Promise<unknown> {
  const dm = core.config.datamodel
  const info = core.model(c.model)
  let plan = planWrite(dm, c.model, c.operation, c.args)
  const modelWide = new Set(plan.modelWide)
  // Every model whose rows the write changes besides its own rows, from the datamodel's
  // graph: the paths below may claim some of them row by row; the rest go whole.
  const reach = relatedModelsChangedBy(dm, c.model, c.operation, c.args)
  if (c.dataPath.length > 0) {
    // The value we get is the related row the fluent call selected, not this model's row.
    plan = { ...plan, resultIsImage: false }
    modelWide.add(c.model)
  }
  if (c.scope) c.scope.wrote = true
  if (c.scope?.kind === 'batch') {
    // No extra queries inside a batch: invalidate the models whole after it resolves.
    modelWide.add(c.model)
    for (const m of reach) modelWide.add(m)
    c.scope.pending.push({ model: c.model, rows: [], modelWide: [...modelWide], cause: `${c.model}.${c.operation}` })
    return c.query(c.args)
  }
  // Related rows are read around the write under guards, which would have to last until
  // the commit inside a transaction, and a fluent call's result is not the parent to read
  // them through: there the reach goes whole.
  const readsRelated = !c.scope && c.dataPath.length === 0
  if (!readsRelated) for (const m of reach) modelWide.add(m)
  const nestedPlan = plan.nestedData ? planNestedWrite(dm, c.model, plan.nestedData) : null
  // A create whose nested data only creates: the new related rows come back with the write
  // itself (an include, before its commit), exact like a create's own RETURNING image, so
  // no guards and no reads around it. Not when the caller shapes the result itself.
  const createdRelations = nestedPlan && !c.scope && c.operation === 'create' && c.dataPath.length === 0 && nestedPlan.createsOnly &&
    nestedPlan.targets.length === 0 && nestedPlan.cascades.size === 0 && c.args.select === undefined && c.args.include === undefined
    ? relationsOf(info, nestedPlan.selection)
    : null
  const nested = nestedPlan && readsRelated && !createdRelations ? await beginNestedWrite(core, c, nestedPlan, plan.preImageWhere, modelWide) : null
  // Rows the database deletes or re-keys in turn. A single delete reads its direct children
  // before (readCascades); a deleteMany, whose rows may change under it (rows entering its
  // where clause bring children nobody read), and anything inside a transaction (guards
  // would have to last until the commit) make them whole.
  const cascadeModels = plan.deletes !== undefined ? modelsChangedByDelete(dm, c.model) : new Set<string>()
  const cascade: RelatedWrite | null = cascadeModels.size > 0 && !c.scope && c.operation === 'delete'
    ? { guarded: [], images: new Map(), modelWide: new Set(), registrations: [] }
    : null
  if (!cascade) for (const m of cascadeModels) modelWide.add(m)
  if (cascade) {
    const parent = await c.read(c.model, 'findUnique', plan.deletes, selectOf(preImageFields(info, undefined))).catch(() => undefined)
    if (parent === undefined) for (const m of cascadeModels) modelWide.add(m)
    else if (parent) await readCascades(core, c, c.model, parent, cascade)
  }

  // Children re-keyed by ON UPDATE CASCADE / SET NULL when the write changes a key they reference.
  const rekeyedModels = plan.changedFields ? modelsChangedByKeyUpdate(dm, c.model, plan.changedFields) : new Set<string>()
  if (c.scope || c.dataPath.length > 0) for (const m of rekeyedModels) modelWide.add(m)
  const rekey = rekeyedModels.size > 0 && !c.scope && c.dataPath.length === 0
    ? await readRekeyedChildren(core, c, info, plan.preImageWhere, plan.changedFields ?? [])
    : null

  // updateMany: its data, applied by Lua to every image of the model while it runs; null
  // when the data is not plain values (then, like any mass write in a transaction, whole).
  const transform = plan.updateData === undefined ? undefined : updateTransform(info, plan.updateData)

  if (c.operation === 'updateManyAndReturn' && !c.scope && c.dataPath.length === 0 && !core.hasBoundTags(c.model)) {
    const returned = await returningMassUpdate(core, c, info, [...modelWide, ...reach])
    if (returned) return returned.result
  }
  const selected = plan.resultIsImage ? withConjFieldsSelected(info, c.args) : { args: c.args, project: (r: unknown) => r }
  const args = createdRelations ? { ...selected.args, include: createdRelations } : selected.args
  const project = (r: unknown) => {
    if (createdRelations && r && typeof r === 'object') for (const key of Object.keys(createdRelations)) delete (r as Record<string, unknown>)[key]
    return selected.project(r)
  }
  const x: WriteContext = { core, c, info, plan, args, modelWide, nested: nestedPlan !== null, rekeyed: rekey !== null, transform }
  let written: Written
  try {
    written = await (plan.preImageWhere !== undefined
      ? singleRowWrite(x, plan.preImageWhere)
      : plan.massPreImageWhere !== undefined && !c.scope && transform !== null
        ? guardedMassWrite(x, plan.massPreImageWhere, transform)
        : unguardedWrite(x))
  } catch (err) {
    if (nested) await endNestedWrite(core, c, nested, undefined)
    if (cascade) await finishRelated(core, c, cascade, true)
    if (rekey) await finishRelated(core, c, rekey.related, true)
    throw err
  }
  const { result } = written
  if (rekey) {
    rekeyImages(rekey, result)
    for (const m of rekey.related.modelWide) if (!rekey.related.guarded.includes(m)) modelWide.add(m)
  }
  if (cascade) for (const m of cascade.modelWide) if (!cascade.guarded.includes(m)) modelWide.add(m)
  // The reach's models no path read row by row go whole.
  const claimed = new Set([...(nested?.guarded ?? []), ...(cascade?.guarded ?? []), ...(rekey?.related.guarded ?? []), ...(createdRelations && nestedPlan ? nestedPlan.models : [])])
  for (const m of reach) if (!claimed.has(m)) modelWide.add(m)
  await invalidateWritten(core, c, info, plan, modelWide, written, { nested, cascade, rekey, createdRelations, nestedPlan })
  return project(result)
}

/** Rows of other models a write changes, as the write path found them (all optional). */
interface RelatedOfWrite {
  readonly nested: NestedWrite | null
  readonly cascade: RelatedWrite | null
  readonly rekey: Rekey | null
  /** A create's nested creates, selected with the write (their rows come back with it). */
  readonly createdRelations: Record<string, unknown> | null
  readonly nestedPlan: NestedWritePlan | null
}

/**
 * The invalidation of a write that ran: its rows' images before (the strategy's) and after
 * (the result, when it is the row), its bound tags, the models gone whole; applied now, or
 * now and again after the commit inside a transaction; then the related writes end.
 */
async function invalidateWritten(
  core: WriteRuntime,
  c: WriteCall,
  info: ModelInfo,
  plan: ReturnType<typeof planWrite>,
  modelWide: Set<string>,
  written: Written,
  related: RelatedOfWrite,
): Promise<void> {
  const { result, before, seenSchemes, endWrite, endTransform, transformsAtStart } = written
  const { nested, cascade, rekey, createdRelations, nestedPlan } = related
  const images = [...before]
  if (plan.resultIsImage && result && typeof result === 'object') {
    for (const row of Array.isArray(result) ? result : [result]) images.push(row as Record<string, unknown>)
  }
  const rows: RowValues[] = images.map((row) => rowValuesOf(info, row, seenSchemes))
  // Bound tags of the images. A mass write's images miss the rows that entered its where
  // clause after its pre-read (the guard covers cached reads of the model, not functions
  // tagged from its rows), and a fluent call's are not this model's rows.
  const bound = core.boundTags(c.model, images)
  const boundUnknown = bound.unknown || (core.hasBoundTags(c.model) && (plan.updateData !== undefined || plan.massPreImageWhere !== undefined || c.dataPath.length > 0))
  const inv: Invalidation = {
    model: c.model,
    rows,
    modelWide: [...modelWide],
    cause: `${c.model}.${c.operation}`,
    seenSchemes,
    // Fluent calls: the images are not this model's rows (it goes whole anyway).
    changedFields: c.dataPath.length === 0 ? changedFieldsOf(info, c.operation, c.args) : undefined,
    endWrite,
    endTransform,
    transformsAtStart,
    tags: bound.tags,
    boundTagsUnknown: boundUnknown ? [c.model] : [],
  }
  if (c.scope) {
    // Now, to shrink the window in which others fill from pre-commit data, and again
    // after the commit (queued), when the new values become visible.
    await core.invalidate(inv)
    c.scope.pending.push({ ...inv, endWrite: undefined })
  } else if (createdRelations && nestedPlan) {
    // The related models' invalidations go with the parent's, concurrently: no order among them.
    const found = rowsOfNestedRead(core.config.datamodel, c.model, nestedPlan.selection, result)
    await Promise.all([
      core.invalidate(inv),
      ...[...found.rows].map(([m, rows]) => {
        const whole = found.overflow.has(m)
        const bound = core.boundTags(m, rows)
        return core.invalidate({
          model: m,
          rows: whole ? [] : rows.map((r) => rowValuesOf(core.model(m), r)),
          modelWide: whole ? [m] : [],
          cause: `${c.model}.${c.operation} (${m})`,
          tags: bound.tags,
          boundTagsUnknown: bound.unknown ? [m] : [],
        })
      }),
    ])
  } else {
    await core.invalidate(inv)
    if (nested) await endNestedWrite(core, c, nested, result)
    if (cascade) await finishRelated(core, c, cascade, false)
    if (rekey) await finishRelated(core, c, rekey.related, false)
  }
}

/** What every write strategy is given. */
interface WriteContext {
  readonly core: WriteRuntime
  readonly c: WriteCall
  readonly info: ModelInfo
  readonly plan: ReturnType<typeof planWrite>
  /** The write's args as it runs (conjunction fields selected, created relations included). */
  readonly args: Record<string, unknown>
  /** Models to invalidate whole; a strategy adds what it cannot cover row by row. */
  readonly modelWide: Set<string>
  /** The write has nested writes (read around it under guards, or whole). */
  readonly nested: boolean
  /** The write re-keys children (ON UPDATE CASCADE / SET NULL), read around it. */
  readonly rekeyed: boolean
  /** updateMany's data as an update transform; null when it is not plain values. */
  readonly transform: UpdateTransform | null | undefined
}

/** What a strategy leaves for the invalidation (besides the result's own images). */
interface Written {
  readonly result: unknown
  /** The rows' images before the write. */
  readonly before: Record<string, unknown>[]
  /** The schemes the images were read for (undefined: they carry every field). */
  readonly seenSchemes: readonly string[] | undefined
  /** The model's write guard was raised (this generation) and must come down with the invalidation. */
  readonly endWrite: string | undefined
  /** The update transform (its token) registered with the guard, to end with it. */
  readonly endTransform?: string | undefined
  readonly transformsAtStart?: readonly string[] | undefined
}

/**
 * A write of one row named by a unique where (update, delete, upsert): its pre-image by
 * compare-and-set (read, then write only if the row is still as read; upserts instead
 * under the model's write guard), or none when no cached read keys on what it changes.
 */
async function singleRowWrite(x: WriteContext, where: unknown): Promise<Written> {
  const { core, c, info, plan, args, modelWide } = x
  const seenSchemes = (await core.beginWrite(c.model, false))?.schemes
  const plain = (): Promise<Written> => c.query(args).then((result) => ({ result, before: [], seenSchemes, endWrite: undefined }))
  // Bound tags are computed from whole rows: their pre-image (and its check) is full.
  const fields = preImageFields(info, core.hasBoundTags(c.model) ? undefined : seenSchemes)
  if (seenSchemes === undefined) {
    // The store failed: the invalidation will be the model whole (retried until it gets
    // through), so a pre-image would be read for nothing.
    modelWide.add(c.model)
    return plain()
  }
  if (c.scope && x.nested) {
    // A nested write that fails inside a transaction keeps what its first statements did
    // there (no transaction of its own to roll them back): never run it twice, so no
    // compare-and-set retry. The model goes whole instead.
    modelWide.add(c.model)
    return plain()
  }
  if (fields.length === 0 || (!x.nested && !x.rekeyed && !core.hasBoundTags(c.model) && !updateChangesConjFields(info, plan.changedFields ?? [], fields))) {
    // Nothing cached, or the data changes no field cached reads key on: the row falls
    // under the same conjunctions before and after, which its result gives.
    return plain()
  }
  if (c.operation === 'upsert') {
    // Never under compare-and-set: a condition added to its where makes Prisma's upsert
    // non-native, and a lost race would then create a second row where plain Prisma
    // updates the one its where names. It runs as given, under the model's write guard.
    if (!c.scope) return guardedUpsert(core, c, info, args, where, modelWide)
    modelWide.add(c.model) // the guard would have to last until the commit
    return plain()
  }
  const cas = await compareAndSet(c, info, args, where, fields, modelWide)
  return { result: cas.result, before: cas.before ? [cas.before] : [], seenSchemes, endWrite: undefined }
}

/**
 * A mass write outside a transaction (updateMany, deleteMany): under the model's write
 * guard (no result read meanwhile is stored) and, for updateMany, its update transform
 * (rows entering its where clause after the pre-read are keyed as it leaves them); the
 * pre-images are read after the guard is up.
 */
async function guardedMassWrite(x: WriteContext, where: unknown, transform: UpdateTransform | undefined): Promise<Written> {
  const { core, c, info, args, modelWide } = x
  const begun = await core.beginWrite(c.model, true, transform)
  const seenSchemes = begun?.schemes
  const endWrite = begun?.guard
  if (endWrite === undefined) modelWide.add(c.model)
  try {
    const fields = preImageFields(info, core.hasBoundTags(c.model) ? undefined : seenSchemes)
    const before = endWrite !== undefined && fields.length > 0 ? await c.read(c.model, 'findMany', where, selectOf(fields)) : []
    const result = await c.query(args)
    // Prisma's findMany and the write itself may evaluate a relation filter differently
    // (NULLs under nested negations: differential tester): then the write changed other
    // rows than the pre-read found, which its count tells.
    const count = (result as { count?: unknown } | null)?.count
    if (endWrite !== undefined && fields.length > 0 && typeof count === 'number' && count !== before.length && filtersThroughRelations(info, where)) modelWide.add(c.model)
    return { result, before, seenSchemes, endWrite, endTransform: endWrite !== undefined ? transform?.token : undefined, transformsAtStart: begun?.transforms }
  } catch (err) {
    if (endWrite !== undefined) await core.invalidate({ model: c.model, rows: [], modelWide: [], cause: `${c.model}.${c.operation} (failed)`, endWrite, endTransform: transform?.token })
    throw err
  }
}

/**
 * Creates (their rows come back, or are read back: createMany), and mass writes inside a
 * transaction (the guard would have to last until the commit: the model goes whole).
 */
async function unguardedWrite(x: WriteContext): Promise<Written> {
  const { core, c, info, plan, args, modelWide } = x
  if (plan.massPreImageWhere !== undefined) modelWide.add(c.model)
  let seenSchemes = plan.readBack ? (await core.beginWrite(c.model, false))?.schemes : undefined
  const result = await c.query(args)
  let before: Record<string, unknown>[] = []
  if (plan.readBack) {
    // The data itself, if it holds every field the cached schemes use; else read back.
    const fromData = seenSchemes && !core.hasBoundTags(c.model) && rowsFromData(info, plan.readBack, seenSchemes)
    if (fromData) before = fromData
    else {
      before = await readBack(c, info, plan.readBack, modelWide)
      seenSchemes = undefined
    }
  }
  return { result, before, seenSchemes, endWrite: undefined }
}

/**
 * `updateManyAndReturn` whose data leaves every keyed field alone or sets it to one of a
 * few values (Boolean, enum): its rows come back from the write, each keyed field at its
 * new value and the rest as they were, so their prior images are those rows with each such
 * field at every value it may have held (priorValuesOf). No pre-read, no guard, no update
 * transform: a row that entered the where clause meanwhile is returned like any other.
 * Undefined when the data needs the general path (the write has not run then).
 */
async function returningMassUpdate(core: WriteRuntime, c: WriteCall, info: ModelInfo, modelWide: string[]): Promise<{ result: unknown } | undefined> {
  const seenSchemes = (await core.beginWrite(c.model, false))?.schemes
  const prior = seenSchemes && priorValuesOf(info, c.args.data, seenSchemes)
  if (!seenSchemes || !prior) return undefined
  // Only the schemes' fields are added to the caller's select: Prisma's cost per returned
  // value adds up over many rows. (A scheme registered meanwhile makes the model whole.)
  const selected = withConjFieldsSelected(info, c.args, preImageFields(info, seenSchemes))
  const result = await c.query(selected.args)
  const rows = (Array.isArray(result) ? result : []).map((row: Record<string, unknown>) => rowValuesOf(info, row, seenSchemes))
  const images = withPriorValues(rows, prior)
  const whole = images.length > MAX_RETURNED_IMAGES
  await core.invalidate({
    model: c.model,
    rows: whole ? [] : images,
    modelWide: whole ? [...modelWide, c.model] : modelWide,
    cause: `${c.model}.${c.operation}`,
    seenSchemes,
    changedFields: changedFieldsOf(info, c.operation, c.args),
  })
  return { result: selected.project(result) }
}

/**
 * Raises the guard of every model the nested data reaches, then reads the images the
 * write may change: the parent's related rows (update/upsert) and the rows it connects.
 */
async function beginNestedWrite(core: WriteRuntime, c: WriteCall, plan: NestedWritePlan, where: unknown, modelWide: Set<string>): Promise<NestedWrite> {
  const guarded: string[] = []
  const registrations: RelatedWrite['registrations'] = []
  await guardModels(core, [...plan.models].filter((m) => !plan.cascades.has(m)), { guarded, images: new Map(), modelWide, registrations })
  for (const m of plan.cascades) modelWide.add(m)
  const images = new Map<string, Record<string, unknown>[]>()
  const add = (m: string, row: Record<string, unknown> | null | undefined) => {
    if (row) images.set(m, [...(images.get(m) ?? []), row])
  }
  try {
    if (where !== undefined) {
      const parent = await c.read(c.model, 'findUnique', where, plan.selection)
      const found = rowsOfNestedRead(core.config.datamodel, c.model, plan.selection, parent)
      for (const [m, rows] of found.rows) for (const r of rows) add(m, r)
      for (const m of found.overflow) modelWide.add(m)
    }
    for (const t of plan.targets) {
      const info = core.model(t.model)
      add(t.model, await c.read(t.model, 'findUnique', t.where, selectOf(preImageFields(info, undefined))))
    }
  } catch {
    for (const m of guarded) modelWide.add(m) // an odd where: let the write report it
  }
  return { plan, guarded, images, modelWide, registrations }
}

/** Reads the new images through the written parent, invalidates, lowers the guards. */
async function endNestedWrite(core: WriteRuntime, c: WriteCall, nested: NestedWrite, result: unknown): Promise<void> {
  const info = core.model(c.model)
  if (result && typeof result === 'object') {
    const row = result as Record<string, unknown>
    const where = whereIdentity(info, row)
    if (where) {
      try {
        const parent = await c.read(c.model, 'findUnique', where, nested.plan.selection)
        const found = rowsOfNestedRead(core.config.datamodel, c.model, nested.plan.selection, parent)
        // Rows read before that are no longer under the parent (disconnect, set, a delete):
        // where they are now is read by their ids, e.g. a disconnected child with its key null.
        const gone = await rowsNoLongerUnder(core, c, nested.images, found.rows, nested.modelWide)
        for (const [m, rows] of found.rows) nested.images.set(m, [...(nested.images.get(m) ?? []), ...rows])
        for (const [m, rows] of gone) nested.images.set(m, [...(nested.images.get(m) ?? []), ...rows])
        for (const m of found.overflow) nested.modelWide.add(m)
      } catch {
        for (const m of nested.guarded) nested.modelWide.add(m)
      }
    } else for (const m of nested.guarded) nested.modelWide.add(m)
  }
  await finishRelated(core, c, nested, result === undefined)
}

/**
 * The rows read before a nested write (`before`, per model) that the read after it did not
 * find under the parent (`after`), read again by their ids: their images now. Such a row
 * was disconnected (its foreign key now null), moved, or deleted (then nothing comes back).
 * Rows without their ids, or more than MAX_NESTED_ROWS of a model: the model goes whole.
 */
async function rowsNoLongerUnder(
  core: WriteRuntime,
  c: WriteCall,
  before: ReadonlyMap<string, readonly Record<string, unknown>[]>,
  after: ReadonlyMap<string, readonly Record<string, unknown>[]>,
  modelWide: Set<string>,
): Promise<Map<string, Record<string, unknown>[]>> {
  const out = new Map<string, Record<string, unknown>[]>()
  for (const [m, rows] of before) {
    const info = core.model(m)
    const ids = identityOf(info)
    const keyOf = (r: Record<string, unknown>) => ids.map((f) => String(r[f])).join('\u0000')
    const still = new Set((after.get(m) ?? []).map(keyOf))
    const gone = rows.filter((r) => !still.has(keyOf(r)))
    if (gone.length === 0) continue
    if (ids.length === 0 || gone.length > MAX_NESTED_ROWS || gone.some((r) => ids.some((f) => r[f] === undefined || r[f] === null))) {
      modelWide.add(m)
      continue
    }
    const where = ids.length === 1 ? { [ids[0]!]: { in: gone.map((r) => r[ids[0]!]) } } : { OR: gone.map((r) => Object.fromEntries(ids.map((f) => [f, r[f]]))) }
    out.set(m, (await c.read(m, 'findMany', where, selectOf(preImageFields(info, undefined)))) as Record<string, unknown>[])
  }
  return out
}

/**
 * Invalidates the images read of other models' rows and lowers their guards. A failed
 * write changed nothing: then only the guards come down.
 */
async function finishRelated(core: WriteRuntime, c: WriteCall, related: RelatedWrite, failed: boolean): Promise<void> {
  // The first raise of each model's guard comes down with its invalidation, any further
  // one (a transform registered later) on its own.
  const first = new Map<string, { readonly token: string | undefined; readonly guard: string }>()
  for (const { model, token, guard } of related.registrations) {
    if (!first.has(model)) first.set(model, { token, guard })
    else await core.invalidate({ model, rows: [], modelWide: [], cause: `${c.model}.${c.operation} (${model})`, endWrite: guard, endTransform: token })
  }
  for (const m of related.guarded) {
    const info = core.model(m)
    const whole = !failed && related.modelWide.has(m)
    const images = failed || whole ? [] : (related.images.get(m) ?? [])
    const bound = core.boundTags(m, images)
    await core.invalidate({
      model: m,
      rows: images.map((r) => rowValuesOf(info, r)),
      modelWide: whole ? [m] : [],
      cause: `${c.model}.${c.operation} (${m})`,
      endWrite: first.get(m)?.guard,
      endTransform: first.get(m)?.token,
      tags: bound.tags,
      // Images read under a guard miss rows moved in meanwhile, whose tags nobody knows.
      boundTagsUnknown: bound.unknown || (!failed && core.hasBoundTags(m)) ? [m] : [],
    })
  }
}

/** Raises the write guard of each model; a model whose guard failed goes whole instead. */
async function guardModels(core: WriteRuntime, models: Iterable<string>, related: RelatedWrite, transform?: UpdateTransform): Promise<void> {
  for (const m of models) {
    if (related.guarded.includes(m) && !transform) continue
    const guard = (await core.beginWrite(m, true, transform))?.guard
    if (guard === undefined) {
      related.modelWide.add(m)
      continue
    }
    if (!related.guarded.includes(m)) related.guarded.push(m)
    related.registrations.push({ model: m, token: transform?.token, guard })
  }
}

/**
 * Before deleting one row: its direct children the database will delete (`Cascade`) or
 * re-key (`SetNull`: a second image with the foreign key nulled), under their models'
 * guards. A child moved under the row by a concurrent writer was invalidated by that writer,
 * and a SET NULL one gets its nulled image through an update transform; but the children of
 * such a child are nobody's to invalidate, so the levels below go whole (the consistency
 * checker found this). SET DEFAULT and too many rows make the child model whole too.
 */
async function readCascades(core: WriteRuntime, c: WriteCall, model: string, row: Record<string, unknown>, related: RelatedWrite): Promise<void> {
  const dm = core.config.datamodel
  for (const other of Object.values(dm.models)) {
    for (const f of Object.values(other.fields)) {
      if (f.kind !== 'relation' || f.type !== model || f.fromFields.length === 0) continue
      if (f.onDelete !== 'Cascade' && f.onDelete !== 'SetNull' && f.onDelete !== 'SetDefault') continue
      // What the database does below these children: whole models.
      if (f.onDelete === 'Cascade') for (const m of modelsChangedByDelete(dm, other.name)) related.modelWide.add(m)
      else for (const m of modelsChangedByKeyUpdate(dm, other.name, f.fromFields)) related.modelWide.add(m)
      const key = f.toFields.map((t) => row[t])
      if (f.onDelete === 'SetDefault' || related.modelWide.has(other.name) || key.some((v) => v === undefined)) {
        related.modelWide.add(other.name)
        continue
      }
      if (key.some((v) => v === null)) continue // a null key is referenced by no row
      const nulled = f.onDelete === 'SetNull' ? updateTransform(other, Object.fromEntries(f.fromFields.map((ff) => [ff, null]))) : undefined
      if (nulled === null) {
        related.modelWide.add(other.name)
        continue
      }
      await guardModels(core, [other.name], related, nulled)
      let children: Record<string, unknown>[]
      try {
        children = await c.read(other.name, 'findMany', Object.fromEntries(f.fromFields.map((ff, i) => [ff, key[i]])), {
          ...selectOf(preImageFields(other, undefined)),
          ...selectOf(f.fromFields),
        })
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
      if (f.onDelete === 'SetNull') list.push(...children.map((ch) => ({ ...ch, ...Object.fromEntries(f.fromFields.map((ff) => [ff, null])) })))
      related.images.set(other.name, list)
    }
  }
}

function updateTransform(info: ModelInfo, data: unknown): UpdateTransform | null {
  const values = updateTransformOf(info, data)
  return values && transformOf(values)
}

/** Children an update will re-key, read before it with their relation. */
interface Rekey {
  readonly related: RelatedWrite
  readonly children: { readonly field: RelationFieldInfo; readonly model: string; readonly rows: Record<string, unknown>[] }[]
}

/**
 * Before an update that changes a key other rows reference: those rows (ON UPDATE CASCADE
 * re-points them, SET NULL clears them), under their models' guards. Their new images are
 * made from the written row once it is known (rekeyImages). Deeper levels, SET DEFAULT and
 * too many rows make the model whole.
 */
async function readRekeyedChildren(core: WriteRuntime, c: WriteCall, info: ModelInfo, where: unknown, changed: readonly string[]): Promise<Rekey> {
  const related: RelatedWrite = { guarded: [], images: new Map(), modelWide: new Set(), registrations: [] }
  const rekey: Rekey = { related, children: [] }
  const parent = await c.read(c.model, 'findUnique', where, selectOf(preImageFields(info, undefined))).catch(() => undefined)
  for (const other of Object.values(core.config.datamodel.models)) {
    for (const f of Object.values(other.fields)) {
      if (f.kind !== 'relation' || f.type !== c.model || f.fromFields.length === 0) continue
      if (!f.toFields.some((t) => changed.includes(t)) || (f.onUpdate !== 'Cascade' && f.onUpdate !== 'SetNull' && f.onUpdate !== 'SetDefault')) continue
      if (parent === undefined || f.onUpdate === 'SetDefault') {
        related.modelWide.add(other.name)
        continue
      }
      for (const m of modelsChangedByKeyUpdate(core.config.datamodel, other.name, f.fromFields)) related.modelWide.add(m)
      if (parent === null || f.toFields.some((t) => parent[t] === null || parent[t] === undefined)) continue
      // A child moved under the row meanwhile is re-keyed too: an update transform gives its
      // new image (the new key comes from the data; a computed one makes the model whole).
      const data = (c.operation === 'upsert' ? c.args.update : c.args.data) as Record<string, unknown> | undefined
      const newKey = Object.fromEntries(f.fromFields.map((ff, i) => [ff, f.onUpdate === 'SetNull' ? null : data?.[f.toFields[i]!]]))
      const transform = updateTransform(other, newKey)
      if (!transform || Object.values(newKey).some((v) => v === undefined)) {
        related.modelWide.add(other.name)
        continue
      }
      await guardModels(core, [other.name], related, transform)
      try {
        const rows = await c.read(other.name, 'findMany', Object.fromEntries(f.fromFields.map((ff, i) => [ff, parent[f.toFields[i]!]])), {
          ...selectOf(preImageFields(other, undefined)),
          ...selectOf(f.fromFields),
        })
        if (rows.length > MAX_NESTED_ROWS) related.modelWide.add(other.name)
        else rekey.children.push({ field: f, model: other.name, rows })
      } catch {
        related.modelWide.add(other.name)
      }
    }
  }
  return rekey
}

/** Old and new images of the re-keyed children, the new key taken from the written row. */
function rekeyImages(rekey: Rekey, result: unknown): void {
  const row = result && typeof result === 'object' ? (result as Record<string, unknown>) : null
  for (const { field, model, rows } of rekey.children) {
    const list = rekey.related.images.get(model) ?? []
    for (const child of rows) {
      list.push(child)
      const moved = { ...child }
      field.fromFields.forEach((ff, i) => (moved[ff] = field.onUpdate === 'SetNull' || !row ? null : row[field.toFields[i]!]))
      if (!row && field.onUpdate !== 'SetNull') rekey.related.modelWide.add(model)
      else list.push(moved)
    }
    rekey.related.images.set(model, list)
  }
}

/**
 * The rows a createMany wrote, read back by a unique key every row provides. They are
 * new, so their images now are the only ones; a later change by someone else is that
 * writer's to invalidate. No such key, or too many rows: the whole model.
 */
/** createMany's data rows as images, when each holds every field of the given schemes. */
function rowsFromData(info: ModelInfo, data: readonly unknown[], schemes: readonly string[]): Record<string, unknown>[] | null {
  const fields = [...new Set(schemes.flatMap(fieldsOfScheme))]
  const rows: Record<string, unknown>[] = []
  for (const row of data) {
    if (typeof row !== 'object' || row === null) return null
    const r = row as Record<string, unknown>
    for (const f of fields) {
      const field = info.fields[f]
      // A value the column may store otherwise (a Decimal it rounds): read the rows back.
      if (!field || field.kind === 'relation' || encodeConjValue(field, r[f]) === undefined || !storesAsGiven(field, r[f])) return null
    }
    rows.push(r)
  }
  return rows
}

async function readBack(c: WriteCall, info: ModelInfo, data: readonly unknown[], modelWide: Set<string>): Promise<Record<string, unknown>[]> {
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

/**
 * update with a true pre-image: read the row, then write only if it still has the values
 * read (see compareAndSetWhere); on a lost race (P2025), read again and retry. After
 * MAX_CAS_ATTEMPTS (e.g. a column whose equality does not round-trip) the write runs
 * unconditionally and the model is invalidated whole. (Upserts never come here: see
 * guardedUpsert.)
 */
async function compareAndSet(
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
    if (!before) break // not found: Prisma's own error follows
    try {
      return { result: await c.query({ ...args, where: compareAndSetWhere(info, where, before, fields) }), before }
    } catch (err) {
      // P2025: the row changed since it was read, or the write failed for a reason of its own.
      if ((err as { code?: string }).code !== 'P2025') throw err
      const now = await c.read(c.model, 'findUnique', where, select).catch(() => undefined)
      if (now !== undefined && sameRow(info, now, before)) throw err // a genuine error, not a race
    }
  }
  modelWide.add(c.model)
  return { result: await c.query(args), before: null }
}

/**
 * An upsert outside a transaction, as given (Prisma runs it natively, INSERT ... ON
 * CONFLICT, when it can), under the model's write guard: its pre-image is read after the
 * guard is up, so a row state another writer leaves between that read and the upsert is
 * one no cached read can hold (stores depending on the model are refused meanwhile); the
 * pre-image and the result are the row's images (docs/design.md, "Upserts").
 */
async function guardedUpsert(
  core: WriteRuntime,
  c: WriteCall,
  info: ModelInfo,
  args: Record<string, unknown>,
  where: unknown,
  modelWide: Set<string>,
): Promise<Written> {
  const begun = await core.beginWrite(c.model, true)
  const seenSchemes = begun?.schemes
  const guard = begun?.guard
  if (seenSchemes === undefined || guard === undefined) {
    modelWide.add(c.model)
    return { result: await c.query(args), before: [], seenSchemes, endWrite: undefined }
  }
  try {
    const fields = preImageFields(info, core.hasBoundTags(c.model) ? undefined : seenSchemes)
    let before: Record<string, unknown>[] = []
    if (fields.length > 0) {
      try {
        const row = await c.read(c.model, 'findUnique', where, selectOf(fields))
        if (row) before = [row]
      } catch {
        modelWide.add(c.model) // an odd where: let the write report it
      }
    }
    return { result: await c.query(args), before, seenSchemes, endWrite: guard }
  } catch (err) {
    await core.invalidate({ model: c.model, rows: [], modelWide: [], cause: `${c.model}.${c.operation} (failed)`, endWrite: guard })
    throw err
  }
}

/** Raw SQL writes: the tables the SQL writes to (and their cascades), or every model. */
export async function invalidatingRawWrite(core: WriteRuntime, scope: TxScope | undefined, operation: string, sql: string, run: () => Promise<unknown>): Promise<unknown> {
  const dm = core.config.datamodel
  const chosen = core.config.rawSqlModels?.(sql) ?? modelsWrittenBySql(dm, sql)
  const models = chosen === 'all' ? Object.keys(dm.models) : [...chosen]
  const inv: Invalidation = { model: undefined, rows: [], modelWide: models, cause: operation }
  if (scope) {
    scope.wrote = true
    scope.pending.push(inv)
  }
  const result = await run()
  await core.invalidate(inv)
  return result
}

/** Same conjunction values (or both missing): the write failed for a reason of its own. */
function sameRow(info: ModelInfo, a: Record<string, unknown> | null, b: Record<string, unknown> | null): boolean {
  if (!a || !b) return a === b
  const x = rowValuesOf(info, a)
  const y = rowValuesOf(info, b)
  return x.length === y.length && x.every(([f, v], i) => y[i]?.[0] === f && y[i]?.[1] === v)
}

/** Whether a where filters through a relation of the model (at any depth of AND/OR/NOT). */
function filtersThroughRelations(info: ModelInfo, where: unknown): boolean {
  if (Array.isArray(where)) return where.some((w) => filtersThroughRelations(info, w))
  if (!where || typeof where !== 'object') return false
  return Object.entries(where).some(([key, value]) =>
    key === 'AND' || key === 'OR' || key === 'NOT' ? filtersThroughRelations(info, value) : info.fields[key]?.kind === 'relation',
  )
}

/** The relation entries of a nested-write selection, as an include (null if none). */
function relationsOf(info: ModelInfo, selection: Record<string, unknown>): Record<string, unknown> | null {
  const include = Object.fromEntries(Object.entries(selection).filter(([key]) => info.fields[key]?.kind === 'relation'))
  return Object.keys(include).length > 0 ? include : null
}

function selectOf(fields: readonly string[]): Record<string, true> {
  return Object.fromEntries(fields.map((f) => [f, true] as const))
}

/** Rows of other models a write changes, read around it under those models' guards. */
interface RelatedWrite {
  readonly guarded: string[]
  readonly images: Map<string, Record<string, unknown>[]>
  readonly modelWide: Set<string>
  /**
   * Each raise of a model's guard (and the update transform registered with it, for rows the
   * database re-keys): each must be lowered once.
   */
  readonly registrations: { readonly model: string; readonly token: string | undefined; readonly guard: string }[]
}

/** A nested write in progress: its plan and the related images read so far. */
interface NestedWrite extends RelatedWrite {
  readonly plan: NestedWritePlan
}
