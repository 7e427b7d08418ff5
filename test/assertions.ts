// Assertions several test files share.
import { expect } from 'vitest'
import { CacheopsConfigError } from '../src/index.ts'

/** The CacheopsConfigError `fn` throws (fails the test if it throws nothing or something else). */
export function configError(fn: () => unknown): CacheopsConfigError {
  try {
    fn()
  } catch (err) {
    expect(err).toBeInstanceOf(CacheopsConfigError)
    return err as CacheopsConfigError
  }
  throw new Error('expected a CacheopsConfigError')
}
