import type { CacheopsRuntime } from '../runtime/core.js'
import { fastHit } from '../runtime/readPath.js'

/** Read methods a fast path may answer. */
const FAST_OPS = new Set(['findUnique', 'findUniqueOrThrow', 'findFirst', 'findFirstOrThrow', 'findMany', 'count', 'aggregate', 'groupBy'])

/**
 * String key carrying `.cache()`/`.nocache()` options through Prisma's argument cloning
 * (symbols and WeakMaps do not survive it) to the query hook, which removes it. A call
 * carrying it goes through the pipeline.
 */
export const MARKER = '__cacheops'

/** The name of cacheops' query extension (extension.ts): where the chain is split. */
export const HOOK_NAME = 'prisma-cacheops'

type AnyRecord = Record<PropertyKey, unknown>

/**
 * The fast path: the client users get is a Proxy over the extended client whose model
 * delegates answer a cached read's *hit* before Prisma's per-call pipeline (call-site
 * capture, request plumbing, the result-extension walk: most of a hit's time, NOTES §7).
 * What a fast hit returns is what the query hook's hit returns (`fastHit`; cachedRead in
 * runtime/readPath.ts is the specification); anything else — a miss, a write, `.cache()`,
 * `.nocache()`, a fluent call, a `$transaction([...])` item — goes through the real
 * delegate, unchanged. A model/operation is served only when the pipeline would give the
 * same answer (`servesFast`). Types are the client's own: the Proxy changes no signature.
 */
export function withFastPath<C extends object>(client: C, runtime: CacheopsRuntime): C {
  const models = new Map(Object.keys(runtime.config.datamodel.models).map((m) => [m.charAt(0).toLowerCase() + m.slice(1), m]))
  const delegates = new Map<string, object>()
  const eligible = new Map<string, boolean>()
  const servesFast = (model: string, op: string) => {
    const key = `${model}.${op}`
    let ok = eligible.get(key)
    if (ok === undefined) eligible.set(key, (ok = pipelineAddsNothing(client, model, op)))
    return ok
  }
  return new Proxy(client, {
    get(target, prop, receiver) {
      if (prop === '$extends') {
        // A client extended further keeps the fast path where its extensions allow it.
        const extend = Reflect.get(target, prop, receiver) as (...a: unknown[]) => object
        return (...args: unknown[]) => withFastPath(extend.apply(target, args), runtime)
      }
      const model = typeof prop === 'string' ? models.get(prop) : undefined
      if (model === undefined) return Reflect.get(target, prop, receiver)
      let delegate = delegates.get(prop as string)
      if (!delegate) {
        const real = Reflect.get(target, prop, receiver) as AnyRecord
        delegate = fastDelegate(real, model, runtime, servesFast)
        delegates.set(prop as string, delegate)
      }
      return delegate
    },
  })
}

function fastDelegate(real: AnyRecord, model: string, runtime: CacheopsRuntime, servesFast: (model: string, op: string) => boolean): object {
  const methods = new Map<string, unknown>()
  return new Proxy(real, {
    get(target, prop, receiver) {
      if (typeof prop !== 'string' || !FAST_OPS.has(prop) || !servesFast(model, prop)) return Reflect.get(target, prop, receiver)
      let method = methods.get(prop)
      if (!method) {
        const op = prop
        method = (args?: Record<string, unknown>) => lazyRead(runtime, model, op, args, () => (target[op] as (a: unknown) => object)(args))
        methods.set(prop, method)
      }
      return method
    },
  })
}

/**
 * A PrismaPromise look-alike: lazy (nothing runs until awaited), `then`/`catch`/`finally`,
 * tagged `PrismaPromise`; anything else (`requestTransaction` when handed to
 * `$transaction([...])`, fluent relation calls like `.author()`) is the real PrismaPromise's,
 * created on first use. On await: a fast hit, or the real call.
 */
function lazyRead(runtime: CacheopsRuntime, model: string, op: string, args: Record<string, unknown> | undefined, real: () => object): object {
  let realPromise: object | undefined
  const realOne = () => (realPromise ??= real())
  let started: Promise<unknown> | undefined
  const run = () =>
    (started ??= (async () => {
      let hit: Promise<{ value: unknown } | undefined> | undefined
      try {
        hit = args !== undefined && MARKER in args ? undefined : fastHit(runtime, model, op, args ?? {})
      } catch {
        hit = undefined // args the cache cannot key: Prisma says what is wrong with them
      }
      const found = hit && (await hit)
      return found ? found.value : await (realOne() as PromiseLike<unknown>)
    })())
  const own: AnyRecord = {
    then: (onFulfilled?: (v: unknown) => unknown, onRejected?: (e: unknown) => unknown) => run().then(onFulfilled, onRejected),
    catch: (onRejected?: (e: unknown) => unknown) => run().catch(onRejected),
    finally: (onFinally?: () => void) => run().finally(onFinally),
    [Symbol.toStringTag]: 'PrismaPromise',
  }
  return new Proxy(own, {
    get(target, prop) {
      if (prop in target) return target[prop]
      const r = realOne() as AnyRecord
      const value = r[prop]
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(r) : value
    },
  })
}

/**
 * Whether Prisma's pipeline would answer a hit of `model.op` exactly as the fast path does:
 * no query extension registered before cacheops' (those run outside it and may rewrite the
 * args, e.g. a tenant filter), no result extension (computed fields) for the model, and no
 * model extension overriding the method. Read from the client's extension chain (Prisma's
 * `_extensions`: a list from the newest extension back); anything unexpected there: no.
 */
export function pipelineAddsNothing(client: object, model: string, op: string): boolean {
  let node = ((client as AnyRecord)._extensions as { head?: ExtensionNode } | undefined)?.head
  if (!node) return false
  const names = new Set([model, model.charAt(0).toLowerCase() + model.slice(1), '$allModels'])
  const touches = (byModel: unknown, ops?: Set<string>) => {
    if (typeof byModel !== 'object' || byModel === null) return false
    return Object.entries(byModel).some(([key, value]) => {
      if (key === '$allOperations' || (ops && !names.has(key) && ops.has(key))) return true
      if (!names.has(key)) return false
      if (!ops) return true
      return typeof value === 'object' && value !== null && Object.keys(value).some((k) => k === '$allOperations' || ops.has(k))
    })
  }
  const readOps = new Set([op])
  let beforeOurs = false
  let seenOurs = false
  for (; node; node = node.previous) {
    const ext = node.extension
    if (typeof ext !== 'object' || ext === null) return false
    if (ext.name === HOOK_NAME) {
      seenOurs = true
      beforeOurs = true
      continue
    }
    if (touches(ext.result)) return false
    // Registered after cacheops (newer): a model method override replaces the delegate's.
    if (!beforeOurs && touches(ext.model, readOps)) return false
    // Registered before: its query hook runs outside ours, on hits too.
    if (beforeOurs && ext.query !== undefined && (typeof ext.query === 'function' || touches(ext.query, readOps))) return false
  }
  return seenOurs
}

interface ExtensionNode {
  readonly previous?: ExtensionNode
  readonly extension?: { readonly name?: string; readonly query?: unknown; readonly result?: unknown; readonly model?: unknown }
}
