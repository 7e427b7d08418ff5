import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { Decimal as RuntimeDecimal } from '@prisma/client/runtime/client';
// In ESM this loads index.mjs: a second Decimal class (dual-package hazard).
import { Decimal as ForeignDecimal } from '@prisma/client-runtime-utils';
import { Prisma } from '../prisma/generated/client/client.ts';
import { createDecoder, decodeResult, encodeResult, UnencodableValueError } from '../src/codec/index.js';

const Decimal = Prisma.Decimal;
type Decimal = InstanceType<typeof Decimal>;

const roundTrip = (v: unknown): unknown => decodeResult(encodeResult(v));

/**
 * Returns null when `actual` equals `expected` with the same types all the way
 * down (constructors, Object.is for numbers, Decimal class + toString/toFixed,
 * plain Uint8Array bytes, key order), else a description of the first mismatch.
 */
function mismatch(expected: unknown, actual: unknown, path = '$'): string | null {
  const at = (msg: string) => `${path}: ${msg}`;
  if (typeof expected !== typeof actual) return at(`typeof ${typeof actual}, expected ${typeof expected}`);
  if (typeof expected === 'number') {
    return Object.is(expected, actual) ? null : at(`${String(actual)} is not ${String(expected)}`);
  }
  if (typeof expected !== 'object' || expected === null || actual === null) {
    return expected === actual ? null : at(`${String(actual)} !== ${String(expected)}`);
  }
  const a = actual as object;
  if (Decimal.isDecimal(expected)) {
    const e = expected as Decimal;
    if (!(a instanceof Decimal) || a.constructor !== Decimal || !Decimal.isDecimal(a)) return at('not a Prisma Decimal');
    if (a.toString() !== e.toString()) return at(`Decimal ${a.toString()} !== ${e.toString()}`);
    if (!e.isNaN() && a.toFixed() !== e.toFixed()) return at(`Decimal toFixed ${a.toFixed()} !== ${e.toFixed()}`);
    if (a.isNegative() !== e.isNegative()) return at('Decimal sign differs');
    return null;
  }
  if (expected instanceof Date) {
    if (a.constructor !== Date) return at('not a Date');
    return Object.is((a as Date).getTime(), expected.getTime()) ? null : at(`Date ${String(a)} !== ${String(expected)}`);
  }
  if (expected instanceof Uint8Array) {
    if (a.constructor !== Uint8Array) return at(`constructor ${a.constructor.name}, expected Uint8Array`);
    const u = a as Uint8Array;
    if (u.length !== expected.length || u.some((x, i) => x !== expected[i])) return at('bytes differ');
    return null;
  }
  if (Array.isArray(expected)) {
    if (!Array.isArray(a)) return at('not an array');
    if (a.length !== expected.length) return at(`length ${a.length} !== ${expected.length}`);
    for (let i = 0; i < expected.length; i++) {
      const m = mismatch(expected[i], a[i], `${path}[${i}]`);
      if (m) return m;
    }
    return null;
  }
  if (Object.getPrototypeOf(a) !== Object.prototype) return at('not a plain object');
  const ek = Object.keys(expected);
  const ak = Object.keys(a);
  if (JSON.stringify(ek) !== JSON.stringify(ak)) return at(`keys ${JSON.stringify(ak)} !== ${JSON.stringify(ek)}`);
  for (const k of ek) {
    const m = mismatch((expected as Record<string, unknown>)[k], (a as Record<string, unknown>)[k], `${path}.${k}`);
    if (m) return m;
  }
  return null;
}

function expectSame(expected: unknown, actual: unknown) {
  expect(mismatch(expected, actual)).toBeNull();
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

describe('codec: explicit cases', () => {
  it('uses the same Decimal class as the generated client', () => {
    expect(Decimal).toBe(RuntimeDecimal);
  });

  it('returns a Buffer', () => {
    expect(Buffer.isBuffer(encodeResult({ id: 1 }))).toBe(true);
  });

  it('strings, booleans, null, enums', () => {
    for (const v of ['', 'héllo wörld 🎉', 'a'.repeat(70_000), '\u0000', 'ADMIN', true, false, null]) {
      expectSame(v, roundTrip(v));
    }
  });

  it('numbers: -0, floats, large integers stay numbers', () => {
    const nums = [
      0, -0, 1, -1, 0.1, -2.5, 1e300, -1e300, 5e-324, 1e21, Math.PI, NaN, Infinity, -Infinity,
      2 ** 31, -(2 ** 31) - 1, 2 ** 32 - 1, 2 ** 32, -(2 ** 32), 2 ** 40 + 7,
      Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, Number.MAX_VALUE,
    ];
    for (const n of nums) {
      const out = roundTrip(n);
      expect(typeof out).toBe('number');
      expect(Object.is(out, n)).toBe(true);
    }
    const out = roundTrip({ score: -0, list: [-0, 0], nested: { z: -0 } }) as any;
    expect(Object.is(out.score, -0)).toBe(true);
    expect(Object.is(out.list[0], -0)).toBe(true);
    expect(Object.is(out.list[1], 0)).toBe(true);
    expect(Object.is(out.nested.z, -0)).toBe(true);
  });

  it('bigint: int64 range comes back as bigint, never as number', () => {
    for (const b of [0n, 1n, -1n, 42n, 2n ** 32n, 2n ** 53n + 1n, INT64_MIN, INT64_MAX, 2n ** 64n, -(2n ** 100n)]) {
      const out = roundTrip({ big: b }) as { big: unknown };
      expect(typeof out.big).toBe('bigint');
      expect(out.big).toBe(b);
    }
  });

  it('Date: ms precision, before 1970, extremes, invalid', () => {
    const dates = [
      new Date('2024-02-29T12:34:56.789Z'), new Date(0), new Date(-1), new Date(1),
      new Date('1969-07-20T20:17:40.123Z'), new Date('1900-01-01T00:00:00.001Z'), new Date('0001-01-01T00:00:00.000Z'),
      new Date(8.64e15), new Date(-8.64e15), new Date(2 ** 32 * 1000 + 5), new Date(NaN),
    ];
    for (const d of dates) expectSame(d, roundTrip(d));
  });

  it('Decimal: class, toString and scale (toFixed) preserved', () => {
    const cases = [
      '1.50', '0', '-0', '0.00', '12345678901.23', '-0.01', '123456789012345678901234567890.123456789',
      '1e-30', '1e+40', '-7.5e-7', 'NaN', 'Infinity', '-Infinity',
    ];
    for (const s of cases) {
      const d = new Decimal(s);
      const out = roundTrip({ balance: d }) as { balance: Decimal };
      expect(Decimal.isDecimal(out.balance)).toBe(true);
      expect(out.balance).toBeInstanceOf(Decimal);
      expect(out.balance.toString()).toBe(d.toString());
      if (!d.isNaN()) expect(out.balance.toFixed(2)).toBe(d.toFixed(2));
      expectSame(d, out.balance);
    }
    expect((roundTrip(new Decimal('1.50')) as Decimal).toFixed()).toBe(new Decimal('1.50').toFixed());
    expect((roundTrip(new Decimal('-0')) as Decimal).isNegative()).toBe(true);
  });

  it('Decimal of another class copy decodes as the Prisma Decimal', () => {
    expect(ForeignDecimal).not.toBe(Decimal);
    for (const s of ['1.50', '-0', '-12.345', 'NaN']) {
      const foreign = new ForeignDecimal(s);
      expect(foreign).not.toBeInstanceOf(Decimal);
      const out = roundTrip({ list: [{ balance: foreign, n: 1 }] }) as { list: [{ balance: Decimal; n: number }] };
      expectSame(new Decimal(s), out.list[0].balance);
      expect(out.list[0].n).toBe(1);
    }
  });

  it('Bytes: plain Uint8Array, same bytes, decoupled from the message', () => {
    for (const u of [new Uint8Array(0), new Uint8Array([0, 255, 1]), new Uint8Array(16).fill(7), new Uint8Array(100_000).map((_, i) => i)]) {
      const out = roundTrip({ avatar: u }) as { avatar: Uint8Array };
      expect(out.avatar.constructor).toBe(Uint8Array);
      expectSame(u, out.avatar);
    }
    // a view with an offset into a larger buffer
    const big = new Uint8Array([9, 9, 1, 2, 3, 9]);
    expectSame(new Uint8Array([1, 2, 3]), roundTrip(big.subarray(2, 5)));
    // a Buffer also comes back as a plain Uint8Array
    expectSame(new Uint8Array([4, 5]), roundTrip(Buffer.from([4, 5])));
    // mutating the message after decoding does not touch the decoded bytes
    const msg = encodeResult({ avatar: new Uint8Array([1, 2, 3]) });
    const out = decodeResult(msg) as { avatar: Uint8Array };
    msg.fill(0);
    expect([...out.avatar]).toEqual([1, 2, 3]);
  });

  it('Json: nested objects/arrays, nulls, empties, odd keys, key order', () => {
    const meta = JSON.parse(
      '{"z":1,"a":[1,null,{"b":"x"}],"n":null,"e":{},"ea":[],"deep":{"x":{"y":[[null],[{}],{"k":null}]}},' +
        '"__proto__":{"p":1},"constructor":"c","hasOwnProperty":2,"toJSON":"j","":0,"10":"ten","2":"two",' +
        '"a-b c":true,"ünï":"ç","-0":-0}',
    );
    const out = roundTrip({ id: 1, meta }) as { meta: Record<string, unknown> };
    expectSame({ id: 1, meta }, out);
    expect(Object.getPrototypeOf(out.meta)).toBe(Object.prototype);
    expect(Object.keys(out.meta)).toEqual(Object.keys(meta));
    expect(Object.prototype.hasOwnProperty.call(out.meta, '__proto__')).toBe(true);
    expect(JSON.stringify(out)).toBe(JSON.stringify({ id: 1, meta }));
    for (const v of [[], {}, [null], [[]], { a: null }, 'just a string', 3.5, null]) expectSame(v, roundTrip(v));
  });

  it('findMany with includes, _count, aggregate and groupBy shapes', () => {
    const user = (id: number) => ({
      id, email: `u${id}@x.io`, name: id % 2 ? null : `n${id}`, role: id % 3 ? 'USER' : 'ADMIN',
      score: id / 3, balance: new Decimal(`${id}.50`), big: BigInt(id) * 10n ** 15n,
      avatar: id % 2 ? null : new Uint8Array([id, id + 1]), meta: id % 4 ? { tags: ['a', id] } : null,
      createdAt: new Date(Date.UTC(2020, 0, id)),
      profile: id % 2 ? { id: id * 10, bio: 'bio', userId: id } : null,
      posts: Array.from({ length: id % 3 }, (_, j) => ({ id: j, title: `t${j}`, published: !!(j % 2), views: j * 1000, authorId: id, categoryId: null, tags: [{ id: 1, name: 'x' }] })),
      _count: { posts: id % 3, comments: 0 },
    });
    const findMany = Array.from({ length: 50 }, (_, i) => user(i + 1));
    expectSame(findMany, roundTrip(findMany));
    const aggregate = {
      _count: { _all: 50 }, _avg: { score: 8.5, balance: new Decimal('25.5') }, _sum: { big: 12345n, balance: new Decimal('1275.00') },
      _min: { createdAt: new Date(0), score: -0 }, _max: { email: 'z', balance: null },
    };
    expectSame(aggregate, roundTrip(aggregate));
    const groupBy = [{ role: 'USER', _count: { _all: 3 }, _sum: { score: 1.5 } }, { role: 'ADMIN', _count: { _all: 1 }, _sum: { score: null } }];
    expectSame(groupBy, roundTrip(groupBy));
    expectSame(7, roundTrip(7)); // count()
    expectSame(null, roundTrip(null)); // findUnique miss
  });

  it('many distinct object shapes in one message (record slots wrap around)', () => {
    const v = Array.from({ length: 600 }, (_, i) => ({ [`k${i}`]: i, [`j${i % 7}`]: { [`x${i % 90}`]: [i] } }));
    expectSame(v, roundTrip(v));
  });

  it('undefined properties are kept as undefined (Prisma never returns them)', () => {
    const out = roundTrip({ a: 1, b: undefined }) as Record<string, unknown>;
    expect(out.a).toBe(1);
    expect(out.b).toBeUndefined();
  });

  it('decodes from a plain Uint8Array and from an offset Buffer view', () => {
    const v = { id: 1, balance: new Decimal('2.25'), big: 3n, at: new Date(5), bytes: new Uint8Array([1]) };
    const msg = encodeResult(v);
    expectSame(v, decodeResult(new Uint8Array(msg)));
    const padded = Buffer.concat([Buffer.from([1, 2, 3]), msg, Buffer.from([4])]);
    expectSame(v, decodeResult(padded.subarray(3, 3 + msg.length)));
  });

  it('consecutive encodes do not clobber earlier results', () => {
    const a = encodeResult({ id: 1, email: 'a' });
    const b = encodeResult({ id: 2, email: 'b' });
    expectSame({ id: 1, email: 'a' }, decodeResult(a));
    expectSame({ id: 2, email: 'b' }, decodeResult(b));
  });
});

// ---------------------------------------------------------------------------
// Property test: Prisma-like rows.

const decimalArb = fc
  .oneof(
    fc.tuple(fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }), fc.integer({ min: 0, max: 12 })).map(([digits, scale]) => {
      const neg = digits < 0n;
      const s = (neg ? -digits : digits).toString().padStart(scale + 1, '0');
      return `${neg ? '-' : ''}${scale ? `${s.slice(0, -scale)}.${s.slice(-scale)}` : s}`;
    }),
    fc.constantFrom('-0', '0.00', '1.50', 'NaN', 'Infinity', '-Infinity', '1e-40', '-9.99e+50'),
  )
  .chain((s) => fc.oneof(
    { weight: 9, arbitrary: fc.constant(s).map((x) => new Decimal(x)) },
    { weight: 1, arbitrary: fc.constant(s).map((x) => new ForeignDecimal(x)) }, // must decode as Prisma's
  ));

const keyArb = fc.oneof(
  { weight: 4, arbitrary: fc.string({ unit: 'binary', maxLength: 6 }) },
  { weight: 1, arbitrary: fc.constantFrom('__proto__', 'constructor', 'toJSON', 'hasOwnProperty', '0', '17', '-1', '') },
);

const { json: jsonArb } = fc.letrec<{ json: unknown }>((tie) => ({
  json: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    fc.double(),
    fc.integer(),
    fc.string({ unit: 'binary', maxLength: 10 }),
    fc.array(tie('json'), { maxLength: 4 }),
    fc.dictionary(keyArb, tie('json'), { maxKeys: 4, noNullPrototype: true }),
  ),
}));

const scalarFields = {
  id: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
  email: fc.string({ unit: 'binary', maxLength: 20 }),
  name: fc.option(fc.string({ maxLength: 10 })),
  role: fc.constantFrom('USER', 'ADMIN'),
  score: fc.double(),
  views: fc.maxSafeInteger(),
  balance: decimalArb,
  big: fc.bigInt({ min: INT64_MIN, max: INT64_MAX }),
  avatar: fc.option(fc.uint8Array({ maxLength: 40 })),
  meta: fc.option(jsonArb),
  createdAt: fc.date(),
  published: fc.boolean(),
};

// requiredKeys: [] varies the shape (select / omit), like different queries do
const postArb = fc.record(
  { id: scalarFields.id, title: scalarFields.email, views: scalarFields.views, published: scalarFields.published, meta: scalarFields.meta },
  { requiredKeys: ['id'] },
);
const rowArb = fc.record(
  {
    ...scalarFields,
    profile: fc.option(fc.record({ id: scalarFields.id, bio: scalarFields.email, userId: scalarFields.id })),
    posts: fc.array(postArb, { maxLength: 3 }),
    _count: fc.record({ posts: fc.nat(), comments: fc.nat() }),
  },
  { requiredKeys: ['id', 'createdAt', 'balance'] },
);
const resultArb = fc.oneof(
  { weight: 3, arbitrary: fc.array(rowArb, { maxLength: 8 }) }, // findMany
  { weight: 2, arbitrary: fc.option(rowArb) }, // findUnique / findFirst
  { weight: 1, arbitrary: fc.nat() }, // count
  {
    weight: 1,
    arbitrary: fc.record({ // aggregate
      _count: fc.record({ _all: fc.nat() }),
      _sum: fc.record({ balance: fc.option(decimalArb), big: fc.option(scalarFields.big), score: fc.option(fc.double()) }),
      _min: fc.record({ createdAt: fc.option(fc.date()), email: fc.option(scalarFields.email) }),
    }),
  },
  { weight: 1, arbitrary: jsonArb },
);

describe('codec: refusals (not stored rather than decoded as something else)', () => {
  const cycle: Record<string, unknown> = { a: 1 };
  cycle.self = cycle;
  class Point { constructor(readonly x: number) {} }
  const refused: [string, unknown][] = [
    ['a function', { f: () => 1 }],
    ['a symbol', [Symbol('s')]],
    ['a Map', { m: new Map([[1, 2]]) }],
    ['a Set', new Set([1])],
    ['a Promise', { p: Promise.resolve(1) }],
    ['a class instance', [{ at: new Point(1) }]],
    ['an Error', new Error('x')],
    ['a cycle', cycle],
  ];
  for (const [what, value] of refused) {
    it(`refuses ${what}`, () => {
      expect(() => encodeResult(value)).toThrow(UnencodableValueError);
    });
    it(`refuses ${what} next to a value that needs rewriting (-0, "__proto__")`, () => {
      expect(() => encodeResult([{ z: -0 }, value])).toThrow(UnencodableValueError);
      expect(() => encodeResult(JSON.parse('{"__proto__": {"x": 1}, "v": 0}') && { ...JSON.parse('{"__proto__": 1}'), v: value })).toThrow(UnencodableValueError);
    });
  }
});

describe('codec: property', () => {
  it('round-trips Prisma-like results with identical types and values', () => {
    fc.assert(
      fc.property(resultArb, (v) => {
        const m = mismatch(v, roundTrip(v));
        if (m) throw new Error(m);
      }),
      { numRuns: Number(process.env.CODEC_FC_RUNS ?? 2000) },
    );
  });

  it('a fresh decoder instance decodes what the module encoder wrote', () => {
    fc.assert(
      fc.property(resultArb, (v) => {
        const freshDecode = createDecoder();
        const m = mismatch(v, freshDecode(encodeResult(v)));
        if (m) throw new Error(m);
      }),
      { numRuns: 300 },
    );
  });
});

describe('codec: another process', () => {
  it('a result encoded here decodes in a brand-new process (and back)', () => {
    const value = {
      users: [
        {
          id: 1, email: 'a@b.c', score: -0, big: INT64_MIN, max: INT64_MAX, n: Number.MAX_SAFE_INTEGER,
          balance: new Decimal('1.50'), negZero: new Decimal('-0'), avatar: new Uint8Array([1, 2, 3]),
          createdAt: new Date('1950-06-01T10:00:00.250Z'),
          meta: JSON.parse('{"__proto__":null,"a":[1,null,{"b":"x"}],"e":{}}'),
        },
      ],
      _count: { posts: 2 },
    };
    const codecUrl = new URL('../src/codec/index.ts', import.meta.url).href;
    // The child decodes with its own, freshly loaded codec, checks the types it
    // sees, re-encodes, and sends the bytes back.
    const script = `
      import { decodeResult, encodeResult } from ${JSON.stringify(codecUrl)};
      import { Decimal } from '@prisma/client/runtime/client';
      const chunks = [];
      for await (const c of process.stdin) chunks.push(c);
      const v = decodeResult(Buffer.from(Buffer.concat(chunks).toString(), 'base64'));
      const u = v.users[0];
      const ok = Object.is(u.score, -0) && typeof u.big === 'bigint' && typeof u.n === 'number' &&
        u.balance instanceof Decimal && u.avatar.constructor === Uint8Array && u.createdAt instanceof Date;
      if (!ok) { console.error('bad types in child'); process.exit(3); }
      process.stdout.write(encodeResult(v).toString('base64'));
    `;
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: fileURLToPath(new URL('..', import.meta.url)),
      input: encodeResult(value).toString('base64'),
      encoding: 'utf8',
    });
    expect(child.stderr.replace(/^npm warn.*\n/gm, '')).toBe('');
    expect(child.status).toBe(0);
    expectSame(value, decodeResult(Buffer.from(child.stdout, 'base64')));
  }, 30_000);
});
