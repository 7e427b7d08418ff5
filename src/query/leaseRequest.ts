import type { LeaseRequest } from '../store/types.js'
import { boundTagsKeyOf, conjKeyOf, fieldScopedModel, fieldScopedScheme, schemeOf, tagKeyOf, type ReadPlan } from './dependencies.js'

/**
 * A read plan → what the read/lease script needs (deterministic order). With `scoped`, the
 * conjunctions of that model (the one counted or aggregated) are scoped to the fields the
 * read reads (fieldsReadBy): writes changing none of them skip them.
 */
export function leaseRequestOf(
  plan: ReadPlan,
  tags: readonly string[] = [],
  boundModels: readonly string[] = [],
  scoped?: { readonly model: string; readonly fields: readonly string[] },
): LeaseRequest {
  const models: { name: string; schemes: string[] }[] = []
  const conjKeys: string[] = []
  for (const [model, conjs] of plan.deps) {
    const schemes = new Set<string>()
    const fields = scoped?.model === model && !plan.derived.has(model) ? scoped.fields : undefined
    for (const conj of conjs) {
      schemes.add(fields ? fieldScopedScheme(conj, fields) : schemeOf(conj))
      conjKeys.push(conjKeyOf(fields ? fieldScopedModel(model, fields) : model, conj))
    }
    if (plan.derived.has(model)) schemes.add('')
    models.push({ name: model, schemes: [...schemes] })
  }
  for (const tag of tags) conjKeys.push(tagKeyOf(tag))
  // A tagged entry may carry tags bound to models: it goes when their rows are unknown.
  if (tags.length > 0) for (const m of boundModels) conjKeys.push(boundTagsKeyOf(m))
  const checkOnlyKeys: string[] = []
  for (const model of plan.derived) {
    // Every write of the model deletes its empty conjunction: leasing it covers all rows.
    if (!plan.deps.has(model)) models.push({ name: model, schemes: [''] })
    checkOnlyKeys.push(conjKeyOf(model, new Map()))
  }
  return { models, conjKeys, checkOnlyKeys }
}
