// src/util/generationalMap.ts: the bound of the per-process memos (prepared reads, known
// entry headers). No server.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { GenerationalMap } from '../src/util/generationalMap.ts'

describe('GenerationalMap', () => {
  it('holds at most two generations, and what is used again stays', () => {
    const m = new GenerationalMap<number, string>(10)
    m.set(0, 'hot')
    for (let i = 1; i <= 100; i++) {
      m.set(i, String(i))
      if (i % 5 === 0) expect(m.get(0)).toBe('hot')
      expect(m.size).toBeLessThanOrEqual(20)
    }
    expect(m.get(1)).toBeUndefined() // not used since: dropped
    expect(m.get(100)).toBe('100')
  })

  it('answers like a plain Map for every key it still holds, and forgets deleted ones', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom('get', 'set', 'delete'), fc.integer({ min: 0, max: 12 }), fc.integer())), (ops) => {
        const m = new GenerationalMap<number, number>(4)
        const plain = new Map<number, number>()
        for (const [op, k, v] of ops) {
          if (op === 'set') {
            m.set(k, v)
            plain.set(k, v)
          } else if (op === 'delete') {
            m.delete(k)
            plain.delete(k)
          } else {
            const got = m.get(k)
            // Dropped (bounded) or the latest value set, never another or a deleted one.
            if (got !== undefined) expect(got).toBe(plain.get(k))
          }
          expect(m.size).toBeLessThanOrEqual(8)
        }
      }),
    )
  })
})
