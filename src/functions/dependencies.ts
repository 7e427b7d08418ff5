import type { ModelName } from '../config/schema.js'
import { identityOf } from '../datamodel/identity.js'
import type { CacheopsDatamodel } from '../datamodel/types.js'
import { CacheopsConfigError } from '../errors.js'
import { readPlan, type ReadPlan } from '../query/dependencies.js'
import { TRUE, type Conjunction, type DnfOptions } from '../query/dnf.js'
import { encodeConjValue } from '../query/values.js'

/**
 * What a `cachedAs` function depends on: a model (any change of it), the rows a where
 * clause selects (invalidated exactly like a cached query with that where), or one row.
 */
export type CachedAsDependency<DM extends CacheopsDatamodel = CacheopsDatamodel> =
  | ModelName<DM>
  | { [M in ModelName<DM>]: { readonly model: M; readonly where: WhereInputOf<DM, M> } }[ModelName<DM>]
  | { [M in ModelName<DM>]: { readonly model: M; readonly obj: Record<string, unknown> } }[ModelName<DM>]

/** The model's Prisma where input when the generated datamodel carries it (`'~where'`). */
export type WhereInputOf<DM, M extends string> = DM extends { readonly '~where'?: infer W }
  ? M extends keyof NonNullable<W>
    ? NonNullable<W>[M]
    : Record<string, unknown>
  : Record<string, unknown>

/** The dependencies as a read plan (no result-derived part). */
export function planOfDependencies(dm: CacheopsDatamodel, deps: readonly CachedAsDependency[], options: DnfOptions): ReadPlan {
  const out = new Map<string, Conjunction[]>()
  const add = (model: string, conjs: readonly Conjunction[]) => {
    const prev = out.get(model)
    if (prev?.some((c) => c.size === 0)) return
    out.set(model, conjs.some((c) => c.size === 0) ? [...TRUE] : [...(prev ?? []), ...conjs])
  }
  deps.forEach((dep, i) => {
    const model = typeof dep === 'string' ? dep : dep.model
    const info = dm.models[model]
    if (!info) throw new CacheopsConfigError(`prisma-cacheops: cachedAs dependency ${i}: unknown model "${model}"`, [{ path: `${i}`, message: 'unknown model' }])
    if (info.isView) {
      // Nothing we see writes a view: depend on the tables it selects from instead.
      throw new CacheopsConfigError(`prisma-cacheops: cachedAs dependency ${i}: "${model}" is a view, which no write invalidates; depend on the models it reads instead`, [{ path: `${i}`, message: 'a view' }])
    }
    if (typeof dep === 'string') add(model, TRUE)
    else if ('where' in dep) for (const [m, conjs] of readPlan(dm, model, { where: dep.where }, options, false).deps) add(m, conjs)
    else {
      // One row: its identity (primary key, or a unique); a value missing, the whole model.
      const conj = new Map<string, string>()
      const ids = identityOf(info)
      for (const id of ids) {
        const f = info.fields[id]
        const v = f && f.kind !== 'relation' ? encodeConjValue(f, dep.obj[id]) : undefined
        if (v !== undefined) conj.set(id, v)
      }
      add(model, conj.size === ids.length && conj.size > 0 ? [conj] : TRUE)
    }
  })
  return { deps: out, derived: new Set() }
}
