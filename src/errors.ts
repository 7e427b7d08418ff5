/** Base class of every error prisma-cacheops throws or reports. */
export class CacheopsError extends Error {
  override name = 'CacheopsError'
}

/** A broken configuration: thrown by `cacheops()` (or by `.cache()` for per-call options). */
export class CacheopsConfigError extends CacheopsError {
  override name = 'CacheopsConfigError'
  constructor(
    message: string,
    /** Each problem with the path into the config object, as zod reports it. */
    readonly issues: readonly { readonly path: string; readonly message: string }[] = [],
  ) {
    super(message)
  }
}

/**
 * A Redis command failed. Reported through `onError` (never thrown at a database write);
 * `operation` says what the cache was doing, `model` which model it concerned.
 */
export class CacheopsRedisError extends CacheopsError {
  override name = 'CacheopsRedisError'
  constructor(
    message: string,
    readonly operation: 'read' | 'store' | 'invalidate',
    readonly model: string | undefined,
    override readonly cause: unknown,
  ) {
    super(message)
  }
}

/**
 * The background refresh of a stale entry (stale-while-revalidate) failed: the query
 * threw. Reported through `onError`; the stale value was served, and the next reader of
 * the entry tries again.
 */
export class CacheopsRefreshError extends CacheopsError {
  override name = 'CacheopsRefreshError'
  constructor(
    message: string,
    readonly model: string | undefined,
    override readonly cause: unknown,
  ) {
    super(message)
  }
}

/** The message of anything thrown. */
export function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}
