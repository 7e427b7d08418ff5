import type { CacheopsDatamodel } from '../datamodel/types.js'
import { CacheopsConfigError } from '../errors.js'

/** The part of Prisma's own runtime datamodel (`client._runtimeDataModel`) we compare. */
interface RuntimeDataModel {
  models: Record<string, { fields: readonly { name: string; kind: string; type: string }[] }>
}

/**
 * A datamodel generated from an older schema would miss models, fields or relations, and
 * a missing relation means a missing dependency: stale reads. So a mismatch with the
 * client's own datamodel is a config error, found when the extension is applied.
 */
export function assertDatamodelMatchesClient(client: unknown, dm: CacheopsDatamodel): void {
  const runtime = (client as { _runtimeDataModel?: RuntimeDataModel })._runtimeDataModel
  if (!runtime?.models) return // not exposed by this Prisma version: nothing to compare
  const problems: string[] = []
  for (const [name, model] of Object.entries(runtime.models)) {
    const ours = dm.models[name]
    if (!ours) {
      problems.push(`model ${name} is missing`)
      continue
    }
    for (const f of model.fields) {
      const field = ours.fields[f.name]
      const kind = f.kind === 'object' ? 'relation' : f.kind
      if (!field) problems.push(`${name}.${f.name} is missing`)
      else if (field.kind !== kind || field.type !== f.type) problems.push(`${name}.${f.name} is ${field.kind} ${field.type}, the client has ${kind} ${f.type}`)
    }
  }
  if (problems.length > 0) {
    throw new CacheopsConfigError(
      `prisma-cacheops: the datamodel does not match the Prisma client (${problems.slice(0, 5).join('; ')}${problems.length > 5 ? '; …' : ''}). ` +
        'Run `prisma generate` so the cacheops generator output matches the schema.',
      problems.map((message) => ({ path: 'datamodel', message })),
    )
  }
}
