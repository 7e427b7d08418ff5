import { cacheKeyOfText, cacheKeyText } from '../query/cacheKey.js'
import { fieldsReadBy, readPlan, type ReadPlan } from '../query/dependencies.js'
import type { DnfOptions } from '../query/dnf.js'
import type { CacheopsDatamodel } from '../datamodel/types.js'
import type { LeaseRequest } from '../store/types.js'
import { GenerationalMap } from '../util/generationalMap.js'
import { leaseRequestOf } from '../query/leaseRequest.js'

/** What a read's args alone decide: its entry key (without prefix) and its dependencies. */
export interface PreparedRead {
  readonly key: string
  readonly plan: ReadPlan
  readonly lease: LeaseRequest
}

/** Args texts longer than this are prepared every time (a long `in` list is rarely repeated). */
const MAX_MEMO_TEXT = 2048

/**
 * Reads prepared per cache-key text. The same query is asked again and again (that is why
 * it is cached), and hashing its text, walking its where clause into conjunctions and
 * laying out the lease take as long as the rest of a hit in JavaScript; the text is needed
 * anyway. Bounded by two generations: when the young one is full it becomes the old one,
 * and what is asked for from the old one moves back, so the hot reads stay.
 */
export class PreparedReads {
  private readonly memo: GenerationalMap<string, PreparedRead>

  constructor(
    private readonly datamodel: CacheopsDatamodel,
    private readonly dnfOptions: DnfOptions,
    private readonly boundModels: readonly string[],
    perGeneration = 2000,
  ) {
    this.memo = new GenerationalMap(perGeneration)
  }

  of(model: string, operation: string, args: Record<string, unknown>, tags: readonly string[], dataPath: readonly string[]): PreparedRead {
    const text = cacheKeyText(model, operation, tags.length > 0 ? { args, tags } : args, dataPath)
    const known = this.memo.get(text)
    if (known) return known
    const prepared = this.prepare(text, model, operation, args, tags, dataPath)
    if (text.length <= MAX_MEMO_TEXT) this.memo.set(text, prepared)
    return prepared
  }

  private prepare(text: string, model: string, operation: string, args: Record<string, unknown>, tags: readonly string[], dataPath: readonly string[]): PreparedRead {
    // Included relations are narrowed from the result, except for fluent calls, whose
    // value is the related rows alone.
    const plan = readPlan(this.datamodel, model, args, this.dnfOptions, dataPath.length === 0)
    // Counts and aggregates depend only on some fields: writes of other fields spare them.
    const info = this.datamodel.models[model]
    const fields = info && dataPath.length === 0 ? fieldsReadBy(info, operation, args) : undefined
    return { key: cacheKeyOfText(text), plan, lease: leaseRequestOf(plan, tags, this.boundModels, fields && { model, fields }) }
  }

  get size(): number {
    return this.memo.size
  }
}
