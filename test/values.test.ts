// Unit and property tests for src/query/values.ts: canonical text of a scalar value in a
// conjunction key. The read side (where clause) and the write side (returned row) must
// encode values the database calls equal to the same text, or an invalidation is lost.
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { Prisma } from '../prisma/generated/client/client.ts'
import { datamodel as generated } from '../prisma/generated/cacheops/index.ts'
import type { CacheopsDatamodel, ScalarFieldInfo } from '../src/datamodel/types.ts'
import { encodeConjValue, storesAsGiven } from '../src/query/values.ts'
import { conjKeyOf } from '../src/query/dependencies.ts'

const datamodel: CacheopsDatamodel = generated

function field(model: string, name: string): ScalarFieldInfo {
  const f = datamodel.models[model]?.fields[name]
  if (!f || f.kind === 'relation') throw new Error(`${model}.${name} is not a scalar field`)
  return f
}

/** A synthetic scalar field (types the reference schema lacks: uuid, char, lists, ...). */
function synthetic(type: string, extra: Partial<ScalarFieldInfo> = {}): ScalarFieldInfo {
  return {
    kind: 'scalar', type, dbName: 'x', isList: false, isRequired: true, isId: false,
    isUnique: false, isUpdatedAt: false, hasDefault: false, nativeType: null, ...extra,
  }
}

const enc = encodeConjValue

/** Asserts that all values encode to one defined text, and returns it. */
function allEqual(f: ScalarFieldInfo, values: unknown[]): string {
  const texts = values.map((v) => enc(f, v))
  expect(texts[0]).toBeTypeOf('string')
  for (let i = 1; i < texts.length; i++) expect(texts[i], `value #${i} (${String(values[i])})`).toBe(texts[0])
  return texts[0]!
}

/** Asserts that all values encode to defined, pairwise different texts. */
function allDistinct(f: ScalarFieldInfo, values: unknown[]): void {
  const texts = values.map((v) => enc(f, v))
  for (const t of texts) expect(t).toBeTypeOf('string')
  expect(new Set(texts).size).toBe(values.length)
}

const Int = field('Post', 'views')
const NullableInt = field('Post', 'categoryId')
const BigIntF = field('User', 'big')
const FloatF = field('User', 'score')
const DecimalF = field('User', 'balance')
const DateF = field('User', 'createdAt')
const StringF = field('User', 'email')
const EnumF = field('User', 'role')
const BoolF = field('Post', 'published')
const BytesF = field('User', 'avatar')
const JsonF = field('User', 'meta')
const UuidF = synthetic('String', { nativeType: 'Uuid' })

describe('null', () => {
  it("encodes null as 'null' for nullable scalar fields, apart from the string 'null'", () => {
    expect(enc(NullableInt, null)).toBe('null')
    expect(enc(StringF, null)).toBe('null')
    expect(enc(StringF, 'null')).not.toBe('null')
    expect(enc(EnumF, 'null')).not.toBe(enc(EnumF, null))
    expect(enc(DateF, null)).toBe('null')
    expect(enc(DecimalF, null)).toBe('null')
  })
})

describe('Int and BigInt', () => {
  it('5, 5n and "5" are one value', () => {
    allEqual(Int, [5, 5n, '5', 5.0])
    allEqual(BigIntF, [5, 5n, '5'])
    expect(enc(BigIntF, 5n)).toBe(enc(Int, 5))
  })
  it('-0 and 0 are one value', () => {
    allEqual(Int, [0, -0, 0n, '0', '-0'])
  })
  it('keeps large BigInts exact', () => {
    const max = 2n ** 63n - 1n
    allEqual(BigIntF, [max, max.toString()])
    expect(enc(BigIntF, max)).not.toBe(enc(BigIntF, max - 1n))
    // An unsafe number cannot say which integer it means.
    expect(enc(BigIntF, 2 ** 60)).toBeUndefined()
  })
  it('tells different integers apart', () => {
    allDistinct(Int, [0, 1, -1, 10, 2 ** 31 - 1])
  })
  it('refuses values that are no integer', () => {
    for (const v of [1.5, NaN, Infinity, '1.0', 'abc', '', true, new Date(0), {}]) expect(enc(Int, v), String(v)).toBeUndefined()
  })
})

describe('Float', () => {
  it('-0 and 0 are one value', () => {
    allEqual(FloatF, [0, -0])
  })
  it('equal numbers give equal text, different numbers different text', () => {
    allEqual(FloatF, [1, 1.0])
    allEqual(FloatF, [0.1, 1 / 10])
    allDistinct(FloatF, [0.1, 0.2, 0.30000000000000004, 0.3, 1e21, -1e-7])
  })
  it('refuses non-finite and non-number values', () => {
    for (const v of [NaN, Infinity, -Infinity, '1.5', 1n]) expect(enc(FloatF, v), String(v)).toBeUndefined()
  })
  it('property: distinct finite doubles (with -0 = 0) give distinct texts', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.double({ noNaN: true, noDefaultInfinity: true }), (a, b) => {
        expect(enc(FloatF, a) === enc(FloatF, b)).toBe(a === b)
      }),
    )
  })
})

describe('Decimal', () => {
  it("'1.50', 1.5, Decimal('1.5') and '15e-1' are one value, different from 1.51", () => {
    const t = allEqual(DecimalF, ['1.50', 1.5, new Prisma.Decimal('1.5'), new Prisma.Decimal('1.50'), '15e-1', '0.15E1', '+1.5', ' 1.5 ', '.15e1', '1.5000'])
    expect(enc(DecimalF, 1.51)).not.toBe(t)
    expect(enc(DecimalF, '1.51')).not.toBe(t)
    expect(enc(DecimalF, -1.5)).not.toBe(t)
  })
  it('zero has one form', () => {
    allEqual(DecimalF, [0, -0, '0', '-0', '0.000', '-0.0', new Prisma.Decimal(0), '0e5', '.0'])
  })
  it('integers, exponents and long values', () => {
    allEqual(DecimalF, ['100', 100, 1e2, '1E2', '1e+2', new Prisma.Decimal('100.00'), '100.'])
    allEqual(DecimalF, ['0.001', 1e-3, '1e-3', new Prisma.Decimal('0.0010')])
    allEqual(DecimalF, ['12345678901234567890.123', new Prisma.Decimal('12345678901234567890.1230')])
    allEqual(DecimalF, ['-2.5', -2.5, new Prisma.Decimal('-2.50')])
    allDistinct(DecimalF, ['1', '10', '0.1', '1.01', '1.1', '-1', '11', '101', '1000000000000000000001', '1000000000000000000000'])
  })
  it('refuses what is not a number', () => {
    for (const v of ['', '.', 'abc', '1.2.3', 'NaN', 'Infinity', NaN, Infinity, new Prisma.Decimal(NaN), true, {}, [1], '1e99999']) {
      expect(enc(DecimalF, v), String(v)).toBeUndefined()
    }
  })
  it('property: every spelling of a decimal gives the text of the Decimal, and unequal decimals differ', () => {
    const digits = fc.string({ unit: fc.constantFrom(...'0123456789'), minLength: 1, maxLength: 12 })
    const dec = fc.tuple(fc.boolean(), digits, fc.option(digits, { nil: undefined })).map(([neg, i, f]) => `${neg ? '-' : ''}${i}${f === undefined ? '' : `.${f}`}`)
    fc.assert(
      fc.property(dec, dec, (a, b) => {
        const d = new Prisma.Decimal(a)
        const t = enc(DecimalF, d)
        expect(t).toBeTypeOf('string')
        expect(enc(DecimalF, a)).toBe(t)
        // The same value written with exponents: -12.345 as -12345e-3 and -0.12345e2.
        const [, sign = '', int = '', frac = ''] = /^(-?)(\d+)(?:\.(\d+))?$/.exec(a)!
        expect(enc(DecimalF, `${sign}${int}${frac}e-${frac.length}`)).toBe(t)
        expect(enc(DecimalF, `${sign}0.${int}${frac}E+${int.length}`)).toBe(t)
        expect(enc(DecimalF, `${a}000`.includes('.') ? `${a}000` : `${a}.000`)).toBe(t)
        const e = new Prisma.Decimal(b)
        expect(enc(DecimalF, e) === t).toBe(d.equals(e))
        // Numbers that are exact in binary agree with their decimal text.
        const n = Number(a)
        if (String(n) === d.toString()) expect(enc(DecimalF, n)).toBe(t)
      }),
    )
  })
})

describe('Decimal from numbers', () => {
  it('property: a number and the Decimal made from it agree', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e30, max: 1e30 }), (n) => {
        expect(enc(DecimalF, n)).toBe(enc(DecimalF, new Prisma.Decimal(n)))
        expect(enc(DecimalF, n)).toBe(enc(DecimalF, String(n)))
      }),
    )
  })
})

describe('DateTime', () => {
  it('a Date and the ISO string of the same instant are one value', () => {
    const d = new Date('2024-03-01T12:34:56.789Z')
    allEqual(DateF, [d, '2024-03-01T12:34:56.789Z', '2024-03-01T13:34:56.789+01:00', '2024-03-01T07:34:56.789-05:00', new Date(d.getTime()), '2024-03-01T12:34:56.789000Z'])
    allEqual(DateF, [new Date('2024-03-01T00:00:00.000Z'), '2024-03-01T00:00:00Z', '2024-03-01T00:00Z'])
  })
  it('tells different instants apart', () => {
    allDistinct(DateF, [new Date(0), new Date(1), '2024-03-01T12:34:56.788Z', '2024-03-01T12:34:56.789Z'])
  })
  it('refuses invalid dates and strings whose instant is ambiguous', () => {
    // No offset: JS reads a local time; sub-millisecond digits: a Date truncates them.
    for (const v of [new Date(NaN), 'not a date', '', '2024-03-01T12:00:00', '2024-03-01T12:00:00.0001Z', 0, 1700000000000]) {
      expect(enc(DateF, v), String(v)).toBeUndefined()
    }
  })
  it('property: a Date and its ISO string always agree', () => {
    fc.assert(
      fc.property(fc.date({ noInvalidDate: true, min: new Date(-1e14), max: new Date(1e14) }), (d) => {
        expect(enc(DateF, d.toISOString())).toBe(enc(DateF, d))
        expect(enc(DateF, new Date(d.getTime() + 1))).not.toBe(enc(DateF, d))
      }),
    )
  })
})

describe('String and enums', () => {
  it('strings compare exactly (case-sensitive)', () => {
    allDistinct(StringF, ['a', 'A', 'a ', ' a', 'ä', 'a\u0308', ''])
    allEqual(StringF, ['abc', 'abc'])
  })
  it('uuid columns compare case-insensitively and ignore input syntax', () => {
    const lower = 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'
    allEqual(UuidF, [lower, lower.toUpperCase(), `{${lower}}`, lower.replace(/-/g, ''), 'A0EEBC999C0B4EF8BB6D6BB9BD380A11'])
    expect(enc(UuidF, lower)).not.toBe(enc(UuidF, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a12'))
    expect(enc(UuidF, 'not-a-uuid')).toBeUndefined()
    // A plain String field is still case-sensitive.
    expect(enc(StringF, lower)).not.toBe(enc(StringF, lower.toUpperCase()))
  })
  it('char(n) columns ignore trailing spaces', () => {
    const CharF = synthetic('String', { nativeType: 'Char' })
    allEqual(CharF, ['ab', 'ab   '])
    expect(enc(CharF, ' ab')).not.toBe(enc(CharF, 'ab'))
  })
  it('native types with their own equality are left out', () => {
    expect(enc(synthetic('String', { nativeType: 'Citext' }), 'a')).toBeUndefined()
    expect(enc(synthetic('String', { nativeType: 'Inet' }), '10.0.0.1')).toBeUndefined()
    expect(enc(synthetic('DateTime', { nativeType: 'Date' }), new Date(0))).toBeUndefined()
    expect(enc(synthetic('DateTime', { nativeType: 'Time' }), new Date(0))).toBeUndefined()
    expect(enc(synthetic('Float', { nativeType: 'Real' }), 0.1)).toBeUndefined()
    expect(enc(synthetic('DateTime', { nativeType: 'Timestamptz' }), new Date(0))).toBe(enc(DateF, new Date(0)))
    expect(enc(synthetic('String', { nativeType: 'VarChar' }), 'a')).toBe(enc(StringF, 'a'))
  })
  it('enums encode their value name', () => {
    allDistinct(EnumF, ['USER', 'ADMIN'])
    expect(enc(EnumF, 'ADMIN')).toBe(enc(EnumF, 'ADMIN'))
  })
  it('refuses non-strings', () => {
    for (const v of [5, true, 1n, new Date(0), {}]) expect(enc(StringF, v), String(v)).toBeUndefined()
  })
})

describe('Boolean, Bytes, Json, lists', () => {
  it('booleans', () => {
    allDistinct(BoolF, [true, false])
    expect(enc(BoolF, 'true')).toBeUndefined()
    expect(enc(BoolF, 1)).toBeUndefined()
  })
  it('bytes compare by content, whatever the view', () => {
    const buf = new ArrayBuffer(6)
    new Uint8Array(buf).set([9, 1, 2, 3, 9, 9])
    allEqual(BytesF, [new Uint8Array([1, 2, 3]), Buffer.from([1, 2, 3]), new Uint8Array(buf, 1, 3)])
    allDistinct(BytesF, [new Uint8Array([1, 2, 3]), new Uint8Array([1, 2]), new Uint8Array([]), new Uint8Array([3, 2, 1])])
    expect(enc(BytesF, [1, 2, 3])).toBeUndefined()
  })
  it('Json never encodes, not even null', () => {
    for (const v of [{ a: 1 }, 'x', 1, true, null, [1], Prisma.DbNull, Prisma.JsonNull]) expect(enc(JsonF, v)).toBeUndefined()
  })
  it('lists and unsupported types never encode', () => {
    const list = synthetic('String', { isList: true })
    for (const v of [['a'], 'a', null, []]) expect(enc(list, v)).toBeUndefined()
    expect(enc(synthetic('Unsupported'), 'x')).toBeUndefined()
    expect(enc(synthetic('Unsupported'), null)).toBeUndefined()
  })
})

describe('separators and odd characters', () => {
  const tricky = ['&', '=', ':', '"', "'", '\n', '\r\n', '\0', '\\', '&id=1', 'a=b&c=d', 'x:y', '"x"', '{}', 'é', '日本', '😀', '\ud800', '#', 'null', 'true', '1', 'D0', 'N1']

  it('tricky strings keep distinct texts', () => {
    allDistinct(StringF, tricky)
  })

  it('no two different (field, canonical value) pairs give the same conjunction key', () => {
    const values: unknown[] = [...tricky, 0, 1, 12, true, false, null, 'title=x', '1&views=2', 'views=1']
    const owner = new Map<string, string>()
    for (const name of ['id', 'title', 'published', 'views', 'authorId', 'categoryId']) {
      for (const v of values) {
        const e = enc(field('Post', name), v)
        if (e === undefined) continue
        const key = conjKeyOf('Post', new Map([[name, e]]))
        const who = JSON.stringify([name, e])
        expect(owner.get(key) ?? who, key).toBe(who)
        owner.set(key, who)
      }
    }
    // Two-field conjunctions against one-field ones holding separators in a string.
    const one = conjKeyOf('Post', new Map([['title', enc(StringF, 'a"&views=1')!]]))
    const two = conjKeyOf('Post', new Map([['title', enc(StringF, 'a')!], ['views', '1']]))
    expect(one).not.toBe(two)
  })

  it('property: distinct strings, short or long (hashed), never share a text', () => {
    const str = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 80 }),
      fc.string({ unit: fc.constantFrom('&', '=', ':', '"', '\\', '\n', '\0', 'a', 'é', '😀'), maxLength: 70 }),
    )
    fc.assert(
      fc.property(str, str, (a, b) => {
        const ea = enc(StringF, a)
        const eb = enc(StringF, b)
        expect(ea).toBeTypeOf('string')
        expect(ea === eb).toBe(a === b)
        // Long values are hashed: the text stays short and free of separators.
        expect(ea!.length).toBeLessThanOrEqual(66)
      }),
      { numRuns: 500 },
    )
  })

  it('long strings are hashed, and a hash never equals a short value', () => {
    const long = 'x'.repeat(100)
    const e = enc(StringF, long)!
    expect(e.startsWith('#')).toBe(true)
    expect(enc(StringF, `${long}y`)).not.toBe(e)
    expect(enc(StringF, e)).not.toBe(e)
    expect(enc(StringF, 'x'.repeat(62))).toBe(JSON.stringify('x'.repeat(62)))
  })
})

describe('storesAsGiven: values that stand in for stored rows', () => {
  it('a Decimal with a native type only when it has no fraction (its scale is not known); without one, up to 30 digits', () => {
    expect(DecimalF.nativeType).toBe('Decimal') // balance @db.Decimal(12, 2)
    expect(storesAsGiven(DecimalF, 5)).toBe(true)
    expect(storesAsGiven(DecimalF, new Prisma.Decimal('12.00'))).toBe(true)
    expect(storesAsGiven(DecimalF, 1.234)).toBe(false) // stored as 1.23
    expect(storesAsGiven(DecimalF, '1.5')).toBe(false)
    const plainDecimal = synthetic('Decimal')
    expect(storesAsGiven(plainDecimal, '1.5')).toBe(true)
    expect(storesAsGiven(plainDecimal, `0.${'1'.repeat(31)}`)).toBe(false)
  })

  it('a time with a native type only in whole seconds; Prisma\'s default column keeps milliseconds', () => {
    const ts = synthetic('DateTime', { nativeType: 'Timestamp' })
    expect(storesAsGiven(ts, new Date('2026-01-01T00:00:01.000Z'))).toBe(true)
    expect(storesAsGiven(ts, new Date('2026-01-01T00:00:01.250Z'))).toBe(false)
    expect(storesAsGiven(DateF, new Date('2026-01-01T00:00:01.250Z'))).toBe(true)
  })

  it('integers, strings, booleans, enums and null as given', () => {
    for (const [f, v] of [[Int, 7], [StringF, 'a'], [BoolF, true], [EnumF, 'ADMIN'], [NullableInt, null], [UuidF, 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11']] as const) expect(storesAsGiven(f, v)).toBe(true)
  })
})
