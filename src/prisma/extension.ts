import { Prisma } from '@prisma/client/extension'
import { PrismaClientKnownRequestError } from '@prisma/client/runtime/client'
import type { CacheCallOptions } from '../config/profiles.js'
import { validateCallOptions, baseReadOp } from '../config/profiles.js'
import { parseConfig, type CacheopsConfig } from '../config/schema.js'
import type { CacheopsDatamodel } from '../datamodel/types.js'
import { WRITE_OPS } from '../invalidation/writes.js'
import { CacheopsRuntime } from '../runtime/core.js'
import { cachedRead } from '../runtime/readPath.js'
import { invalidatingRawWrite, invalidatingWrite } from '../runtime/writePath.js'
import { createApi, type CacheopsApi } from './api.js'
import { HOOK_NAME, MARKER, withFastPath } from './fastPath.js'
import { assertDatamodelMatchesClient } from './datamodelCheck.js'
import { inTransactionScope, invalidationSuspended, registerTransaction, scopeOfQuery, withScope, type TxScope } from './transactions.js'


/** Where Prisma's interactive-transaction client keeps its transaction id (`{ txId }`). */
const TX_SCOPE_CONTEXT = Symbol.for('prisma.client.transaction.scope_context')

const RAW_WRITES = new Set(['$executeRaw', '$executeRawUnsafe'])

interface HookParams {
  model?: string
  operation: string
  args: Record<string, unknown> | undefined
  query: (args: unknown) => Promise<unknown>
  __internalParams?: { transaction?: { kind: string; id?: string }; dataPath?: string[] }
}

/**
 * The Prisma client extension: `prisma.$extends(cacheops({ redis, datamodel, models }))`.
 * A broken config throws CacheopsConfigError here, naming the path.
 */
export function cacheops<DM extends CacheopsDatamodel>(config: CacheopsConfig<DM>) {
  const parsed = parseConfig(config)
  return Prisma.defineExtension((client) => {
    assertDatamodelMatchesClient(client, parsed.datamodel)
    const notFound = (model: string) =>
      new PrismaClientKnownRequestError(
        'An operation failed because it depends on one or more records that were required but not found. No record was found for a query.',
        { code: 'P2025', clientVersion: Prisma.prismaVersion.client, meta: { modelName: model, operation: 'a query' } },
      )
    const runtime = new CacheopsRuntime(parsed, notFound)
    // The client below ours: reads pre-images without going through the cache.
    const below = client as unknown as Record<string, Record<string, (a: unknown) => Promise<unknown>>>
    const delegateKey = (model: string) => model.charAt(0).toLowerCase() + model.slice(1)
    // Pre-images: inside an interactive transaction through its own client (it must see the
    // transaction's writes and hold its place), elsewhere through the client below ours.
    const readRows = (scope: TxScope | undefined, model: string, op: 'findUnique' | 'findMany', where: unknown, select: Record<string, unknown>) => {
      type Delegate = Record<string, (a: unknown) => Promise<unknown>>
      const tx = scope?.client as Record<string, { nocache(): Delegate }> | undefined
      const delegate = tx ? tx[delegateKey(model)]!.nocache() : (below[delegateKey(model)] as Delegate)
      return delegate[op]!({ where, select })
    }

    const withHook = client.$extends({
      name: HOOK_NAME,
      query: {
        async $allOperations(params) {
          const { model, operation, query, __internalParams } = params as unknown as HookParams
          const rawArgs = (params.args ?? {}) as Record<string, unknown>
          let call: CacheCallOptions | false | undefined
          let args = rawArgs
          if (MARKER in rawArgs) {
            ;({ [MARKER]: call, ...args } = rawArgs as Record<string, never>)
          }
          // Only a query that Prisma runs inside a transaction belongs to its scope.
          const scope = __internalParams?.transaction ? scopeOfQuery(__internalParams.transaction.id) : undefined
          const inUnknownTx = __internalParams?.transaction !== undefined && scope === undefined
          const run = (a: Record<string, unknown>) => query(a)
          const isWrite = model === undefined ? RAW_WRITES.has(operation) : WRITE_OPS.has(operation)
          if (isWrite && invalidationSuspended()) {
            // $cacheops.noInvalidation: the write runs as is; a transaction still stops using the cache.
            if (scope) scope.wrote = true
            return query(model === undefined ? params.args : args)
          }
          if (model === undefined) {
            if (RAW_WRITES.has(operation)) return invalidatingRawWrite(runtime, scope, operation, sqlText(params.args), () => query(params.args))
            return query(params.args)
          }
          if (baseReadOp(operation)) {
            return cachedRead(runtime, {
              model, operation, args, dataPath: __internalParams?.dataPath ?? [],
              call: inUnknownTx ? false : call, scope, query: run,
            })
          }
          if (WRITE_OPS.has(operation)) {
            return invalidatingWrite(runtime, {
              model, operation, args, dataPath: __internalParams?.dataPath ?? [], scope, query: run,
              read: (m, op, where, select) => readRows(scope, m, op, where, select) as never,
            })
          }
          return query(args)
        },
      },
    })

    const api = createApi(runtime)
    const extended = withHook.$extends({
      name: 'prisma-cacheops-api',
      client: {
        $cacheops: api as CacheopsApi<DM>,
        // Not in the public type, so Prisma's own $transaction typing stays intact.
        ...({
          $transaction(this: unknown, arg: unknown, options?: unknown) {
            // Prisma's own $transaction (the client below this extension), called on the
            // outermost client so the transaction client carries every extension. Not
            // `$parent` of `this`: on a client extended after ours, that is ours again.
            const native = (withHook as unknown as { $transaction: (a: unknown, o?: unknown) => Promise<unknown> }).$transaction
            const kind = typeof arg === 'function' ? 'itx' : 'batch'
            return inTransactionScope(
              kind,
              (scope) => {
                const fn = arg as (tx: unknown) => Promise<unknown>
                const wrapped = kind === 'itx'
                  ? (tx: unknown) => {
                      scope.client = tx
                      const txId = (tx as Record<symbol, { txId?: unknown } | undefined>)[TX_SCOPE_CONTEXT]?.txId
                      if (typeof txId === 'string') registerTransaction(scope, txId)
                      return withScope(scope, () => fn(tx))
                    }
                  : arg
                return native.call(this, wrapped, options)
              },
              (pending) => runtime.flush(pending),
              // Under relationMode = "prisma", a batch of one write is no transaction: Prisma
              // runs it as a plain call, whose emulated referential actions stay when it fails.
              kind === 'batch' && runtime.config.datamodel.relationMode === 'prisma',
            )
          },
        } as {}),
      },
      model: {
        $allModels: {
          /** Cache this call (`ops` defaults to every read op, `timeout` to the model's). */
          cache<T>(this: T, options?: CacheCallOptions): T {
            const ctx = Prisma.getExtensionContext(this) as unknown as { $name: string }
            validateCallOptions(parsed, ctx.$name, options)
            return markedDelegate(this, options ?? {})
          },
          /** Never read nor fill the cache for this call. */
          nocache<T>(this: T): T {
            return markedDelegate(this, false)
          },
        },
      },
    })
    return parsed.fastPath ? withFastPath(extended, runtime) : extended
  })
}

/** A view of a model delegate whose read methods add the marker to their args. */
function markedDelegate<T>(delegate: T, options: CacheCallOptions | false): T {
  return new Proxy(delegate as object, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver)
      if (typeof prop !== 'string' || typeof value !== 'function' || !baseReadOp(prop)) return value
      return (args?: Record<string, unknown>) => value.call(target, { ...(args ?? {}), [MARKER]: options })
    },
  }) as T
}

/** SQL text of `$executeRaw` (a Sql object) or `$executeRawUnsafe` ([sql, ...values]) args. */
function sqlText(args: unknown): string {
  if (Array.isArray(args)) return typeof args[0] === 'string' ? args[0] : ''
  const sql = args as { sql?: unknown; strings?: unknown } | undefined
  if (typeof sql?.sql === 'string') return sql.sql
  return Array.isArray(sql?.strings) ? sql.strings.join('?') : ''
}
