import { CacheopsConfigError } from '../errors.js'
import { READ_OPS, type ModelProfile, type ParsedConfig, type ReadOp } from './schema.js'

/** Per-call options of `.cache()`. */
export interface CacheCallOptions {
  readonly ops?: readonly ReadOp[] | 'all'
  readonly timeout?: number
  /** Names to invalidate this entry by, with `$cacheops.invalidateTags(...)`. */
  readonly tags?: readonly string[]
  /** On a miss, one caller (across processes) computes while the others wait for it. */
  readonly lock?: boolean
  /** Seconds an expired (not invalidated) entry is served while it is refreshed. */
  readonly staleWhileRevalidate?: number
}

/** What one call resolves to: cache it for `timeout` seconds (with tags), or not at all. */
export type CacheDecision =
  | { readonly cache: true; readonly timeout: number; readonly tags: readonly string[]; readonly lock: boolean; readonly staleWhileRevalidate: number }
  | { readonly cache: false }

const NO: CacheDecision = { cache: false }

/** The profile of a model: exact name first, then '*'; `null` means caching is forbidden. */
export function profileFor(config: ParsedConfig, model: string): ModelProfile | null | undefined {
  if (Object.prototype.hasOwnProperty.call(config.models, model)) return config.models[model]
  return config.models['*']
}

/** `findUniqueOrThrow` → `findUnique`; anything that is not a cacheable read → undefined. */
export function baseReadOp(operation: string): ReadOp | undefined {
  const base = operation.endsWith('OrThrow') ? operation.slice(0, -'OrThrow'.length) : operation
  return (READ_OPS as readonly string[]).includes(base) ? (base as ReadOp) : undefined
}

function opsInclude(ops: ModelProfile['ops'], op: ReadOp): boolean {
  return ops === 'all' || (ops?.includes(op) ?? false)
}

/** Checks `.cache()` options when they are given, so mistakes fail at the call site. */
export function validateCallOptions(config: ParsedConfig, model: string, opts: CacheCallOptions | undefined): void {
  const profile = profileFor(config, model)
  if (profile === null) throw new CacheopsConfigError(`prisma-cacheops: caching is forbidden for model ${model} (its profile is null)`)
  if (opts?.timeout !== undefined && !(Number.isInteger(opts.timeout) && opts.timeout > 0)) {
    throw new CacheopsConfigError(`prisma-cacheops: .cache() timeout must be a positive whole number of seconds, got ${String(opts.timeout)}`, [{ path: 'timeout', message: 'must be positive' }])
  }
  if (opts?.ops !== undefined && opts.ops !== 'all') {
    const bad = opts.ops.find((o) => !(READ_OPS as readonly string[]).includes(o))
    if (bad !== undefined) throw new CacheopsConfigError(`prisma-cacheops: .cache() ops: unknown operation "${bad}"`, [{ path: 'ops', message: `unknown operation ${bad}` }])
  }
  if (opts?.staleWhileRevalidate !== undefined) assertStaleWindow(opts.staleWhileRevalidate, '.cache() staleWhileRevalidate')
  if (opts?.tags !== undefined) assertTags(opts.tags)
  if (opts?.timeout === undefined && !profile) {
    throw new CacheopsConfigError(`prisma-cacheops: .cache() on model ${model}, which has no profile: give it a profile or pass { timeout }`)
  }
}

/**
 * Whether this call is cached and for how long. `call` is the `.cache()` options
 * (`false` for `.nocache()`, undefined when neither was used).
 */
export function decide(config: ParsedConfig, model: string, op: ReadOp, call: CacheCallOptions | false | undefined): CacheDecision {
  if (call === false) return NO
  const profile = profileFor(config, model)
  if (profile === null) return NO
  if (call !== undefined) {
    const ops = call.ops ?? 'all'
    const timeout = call.timeout ?? profile?.timeout
    if (!opsInclude(ops, op) || timeout === undefined) return NO
    const staleWhileRevalidate = call.staleWhileRevalidate ?? profile?.staleWhileRevalidate ?? 0
    return { cache: true, timeout, tags: call.tags ?? [], lock: call.lock ?? profile?.lock ?? false, staleWhileRevalidate }
  }
  return profile && opsInclude(profile.ops, op)
    ? { cache: true, timeout: profile.timeout, tags: [], lock: profile.lock ?? false, staleWhileRevalidate: profile.staleWhileRevalidate ?? 0 }
    : NO
}

/** A stale window is a whole number of seconds, 0 or more. */
export function assertStaleWindow(seconds: unknown, what: string): void {
  if (!(Number.isInteger(seconds) && (seconds as number) >= 0)) {
    throw new CacheopsConfigError(`prisma-cacheops: ${what} must be a whole number of seconds (0 or more), got ${String(seconds)}`, [{ path: 'staleWhileRevalidate', message: 'must be a whole number ≥ 0' }])
  }
}

/** Tags are non-empty strings without line breaks (they travel in entry headers). */
export function assertTags(tags: unknown): asserts tags is readonly string[] {
  if (!Array.isArray(tags)) throw new CacheopsConfigError('prisma-cacheops: tags must be an array of strings', [{ path: 'tags', message: 'not an array' }])
  tags.forEach((t, i) => {
    if (typeof t !== 'string' || t === '' || /[\r\n]/.test(t)) {
      throw new CacheopsConfigError(`prisma-cacheops: tags.${i}: a tag must be a non-empty string without line breaks, got ${JSON.stringify(t)}`, [{ path: `tags.${i}`, message: 'invalid tag' }])
    }
  })
}
