import { describe, expect, it } from 'vitest'
import { cacheops } from '../src/index.ts'
import { datamodel, REDIS_URL } from './helpers.ts'
import { configError } from './assertions.ts'

describe('config validation at cacheops() time', () => {
  it('names an unknown model', () => {
    const err = configError(() => cacheops({ redis: REDIS_URL, datamodel, models: { Nope: { timeout: 1 } } as never }))
    expect(err.issues).toContainEqual(expect.objectContaining({ path: 'models.Nope' }))
    expect(err.message).toMatch(/models\.Nope: unknown model "Nope"/)
  })

  it('names a bad op', () => {
    const err = configError(() => cacheops({ redis: REDIS_URL, datamodel, models: { User: { ops: ['findAll' as never], timeout: 1 } } }))
    expect(err.issues[0]?.path).toBe('models.User.ops.0')
  })

  it('names a non-positive or fractional timeout', () => {
    expect(configError(() => cacheops({ redis: REDIS_URL, datamodel, models: { User: { timeout: 0 } } })).issues[0]?.path).toBe('models.User.timeout')
    expect(configError(() => cacheops({ redis: REDIS_URL, datamodel, models: { '*': { timeout: 1.5 } } })).message).toMatch(/models\.\*\.timeout/)
  })

  it('explains how to get a datamodel when it is missing', () => {
    const err = configError(() => cacheops({ redis: REDIS_URL } as never))
    expect(err.issues[0]?.path).toBe('datamodel')
    expect(err.message).toMatch(/prisma-cacheops-generator/)
  })

  it('rejects unknown options and a bad redis value', () => {
    expect(configError(() => cacheops({ redis: REDIS_URL, datamodel, prefx: 'x' } as never)).message).toMatch(/prefx/)
    expect(configError(() => cacheops({ redis: 42 as never, datamodel })).issues[0]?.path).toBe('redis')
  })
})
