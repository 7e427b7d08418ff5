/**
 * Value codec for cached Prisma query results (what is stored in Redis).
 *
 * Format: MessagePack via msgpackr, chosen over `v8.serialize` + walk and
 * JSON + revivers by measurement (see bench/codec.ts). Every message is
 * self-contained: record (object shape) definitions are embedded in each
 * message — no shared `structures` — so any fresh decoder in any process
 * decodes it.
 *
 * Round-trips, with the same type: string, number (incl. -0, NaN, ±Infinity,
 * floats, integers up to ±2^53), bigint (int64 and beyond), boolean, null,
 * Date (ms precision, any valid date; Invalid Date stays invalid), Prisma
 * Decimal (same class, same toString(), incl. -0/NaN/±Infinity; a
 * decimal.js-like instance of another Decimal copy decodes as Prisma's),
 * Uint8Array (Bytes; decoded as a fresh plain Uint8Array, a Buffer too), and
 * Json values: plain objects (key order preserved, own "__proto__" keys
 * included) and arrays, arbitrarily nested.
 *
 * Not part of the contract: `undefined` (Prisma results never contain it; as
 * msgpackr does, an undefined property decodes as an undefined property, an
 * undefined array slot as undefined).
 *
 * Refused (encodeResult throws, so the result is not stored rather than
 * decoded as something else): functions, symbols, cycles, and class instances
 * other than the ones above — Map, Set, Promise, Error, user classes — which
 * msgpackr would write as plain objects.
 *
 * Pitfalls found while measuring (msgpackr 2.1.3):
 * - -0 is written as the integer 0 (`-0 >>> 0 === -0`), so it is lost;
 * - an object key "__proto__" is decoded as "__proto_";
 * - a Uint8Array is written as `bin` and decoded as a Buffer view into the
 *   source message (see the Bytes extension);
 * - a Decimal without an extension is written through its toJSON() → string;
 * - with `useToJSON` on (default), a Json object with "constructor" and
 *   "toJSON" keys makes pack() call `obj.toJSON()` and throw;
 * - bigint is always written as int64 (0xd3) and decoded as bigint as long as
 *   `int64AsType` is left at 'bigint'; numbers are never written as int64
 *   (a non-32-bit integer number is a float64), so number and bigint never
 *   collide. `useFloat32` must stay off.
 * - the Decimal extension matches by `instanceof`; another copy of the
 *   class (e.g. `import { Decimal } from '@prisma/client-runtime-utils'` in
 *   ESM loads index.mjs, while the Prisma runtime requires index.js) is
 *   written as a plain object with garbage fields.
 * -0, "__proto__" and foreign Decimals are handled by a read-only pre-scan
 * that, only when it finds one, copies the value replacing them (by private
 * marker classes, resp. a Prisma Decimal).
 */
import { Decimal } from '@prisma/client/runtime/client';
import { Packr, Unpackr, addExtension } from 'msgpackr';

// msgpackr's extension registry is process-global (shared by every Packr /
// Unpackr created from the ESM build); these type codes must not be reused
// by other msgpackr extensions in the same process. msgpackr itself uses
// 0x00, 0x42, 0x62, 0x65, 0x69, 0x70, 0x72, 0x73, 0x74, 0x78 and 0xff.
const EXT_DECIMAL = 0x44; // 'D'
const EXT_BYTES = 0x55; // 'U'
const EXT_NEG_ZERO = 0x5a; // 'Z'
const EXT_PROTO_OBJECT = 0x4f; // 'O'

/** Marker written in place of the number -0 (msgpackr would write 0). */
class NegZero {}
const NEG_ZERO = new NegZero();

/**
 * Marker for a plain object owning a "__proto__" key (possible in Json
 * columns: JSON.parse creates it as an own property); msgpackr would decode
 * the key as "__proto_". Written as a flat [key, value, key, value…] array.
 */
class ProtoKeyObject {
  constructor(readonly entries: unknown[]) {}
}

// Decimal: without it msgpackr writes Decimal#toJSON() (a string) and the
// type is lost. Written as its string form, which decimal.js parses back to
// an equal Decimal (same digits, same exponent, so the same toString/toFixed).
// toString() drops the sign of a negative zero, so that one is written "-0".
addExtension({
  Class: Decimal,
  type: EXT_DECIMAL,
  write: (d: Decimal) => (d.isZero() && d.isNegative() ? '-0' : d.toString()),
  read: (s: string) => new Decimal(s),
});

// Bytes: msgpackr writes a Uint8Array as `bin` and decodes it as a Buffer
// (a view into the source message unless copyBuffers). `moreTypes` would
// decode a plain Uint8Array but via `slice().buffer` (an off-heap ArrayBuffer
// per value, ~12x slower than copying into a new small Uint8Array). A Buffer
// (a Uint8Array subclass) also matches this extension and decodes as a plain
// Uint8Array, which is what Prisma 7 returns for Bytes.
addExtension({
  Class: Uint8Array,
  type: EXT_BYTES,
  pack: (u: Uint8Array) => u,
  unpack: (data: Uint8Array) => new Uint8Array(data),
});

// -0: see NegZero. The payload is a dummy 0.
addExtension({
  Class: NegZero,
  type: EXT_NEG_ZERO,
  write: () => 0,
  read: () => -0,
});

// Objects with an own "__proto__" key: see ProtoKeyObject. defineProperty
// creates the key as an own data property instead of setting the prototype.
addExtension({
  Class: ProtoKeyObject,
  type: EXT_PROTO_OBJECT,
  write: (o: ProtoKeyObject) => o.entries,
  read: (entries: unknown[]) => {
    const out: Record<string, unknown> = {};
    for (let i = 0; i < entries.length; i += 2) {
      Object.defineProperty(out, entries[i] as string, {
        value: entries[i + 1],
        writable: true,
        enumerable: true,
        configurable: true,
      });
    }
    return out;
  },
});

const packr = new Packr({
  useRecords: true, // compact object shapes, defined inside each message
  useBigIntExtension: true, // bigints beyond 64 bits instead of throwing
  // A Json object owning a "constructor" key is not `constructor === Object`
  // for msgpackr, which then calls `value.toJSON()` if it has a "toJSON" key:
  // a TypeError (or worse). Date and Decimal have extensions, so toJSON is
  // never needed.
  useToJSON: false,
});

/** Any instance decodes any message; exported for tests (fresh-decoder check). */
export function createDecoder(): (buf: Uint8Array) => unknown {
  const unpackr = new Unpackr({
    mapsAsObjects: true,
    int64AsType: 'bigint', // int64 comes only from bigints: keep it bigint
    copyBuffers: true, // a `bin` (not written by us) must not alias the Redis reply
  });
  return (buf) => unpackr.unpack(buf);
}

const decode = createDecoder();

/** Encodes a Prisma query result (or any value described above). */
export function encodeResult(value: unknown): Buffer {
  return packr.pack(needsRewrite(value) ? rewrite(value) : value);
}

/**
 * A result as it would be stored, or why it is not: unencodable (see the refusals at the
 * top), or its encoding is larger than `maxBytes` (config `maxResultBytes`).
 */
export function encodeForStore(
  value: unknown,
  maxBytes: number,
): { payload: Buffer } | { skip: 'unencodable'; error: unknown } | { skip: 'too-large'; bytes: number } {
  let payload: Buffer;
  try {
    payload = encodeResult(value);
  } catch (error) {
    return { skip: 'unencodable', error };
  }
  return payload.length > maxBytes ? { skip: 'too-large', bytes: payload.length } : { payload };
}

/** Decodes what encodeResult produced, in this or any other process. */
export function decodeResult(buf: Uint8Array): unknown {
  return decode(buf);
}

function isPlainObject(v: object): v is Record<string, unknown> {
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** Deeper values are refused: far beyond any Prisma result (include depth), short of the stack. */
const MAX_DEPTH = 1000;

/** A value the codec would not give back as it is (see the list at the top). */
export class UnencodableValueError extends Error {
  override name = 'UnencodableValueError';
}

/**
 * True when `v` contains a -0, an own "__proto__" key or a foreign Decimal;
 * throws UnencodableValueError for what cannot round-trip.
 */
function needsRewrite(v: unknown, depth = 0): boolean {
  // A cycle (or absurd nesting) is refused before it overflows the stack.
  if (depth > MAX_DEPTH) throw new UnencodableValueError(`nesting deeper than ${MAX_DEPTH} levels (a cycle?) cannot be cached`);
  if (typeof v === 'number') return v === 0 && 1 / v < 0;
  if (typeof v === 'function' || typeof v === 'symbol') throw new UnencodableValueError(`a ${typeof v} cannot be cached`);
  if (typeof v !== 'object' || v === null) return false;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) if (needsRewrite(v[i], depth + 1)) return true;
    return false;
  }
  if (!isPlainObject(v)) {
    if (v instanceof Decimal || v instanceof Date || v instanceof Uint8Array) return false;
    if (Decimal.isDecimal(v)) return true;
    throw new UnencodableValueError(`a ${v.constructor?.name ?? 'class'} instance cannot be cached (only plain objects, arrays, Date, Decimal and bytes)`);
  }
  for (const k in v) {
    if (k === '__proto__' || needsRewrite(v[k], depth + 1)) return true;
  }
  return false;
}

/** Copy of `v` with what needsRewrite looks for replaced (refusing what it refuses). */
function rewrite(v: unknown, depth = 0): unknown {
  if (typeof v === 'number') return v === 0 && 1 / v < 0 ? NEG_ZERO : v;
  if (typeof v !== 'object' || v === null) return needsRewrite(v, depth), v;
  if (depth > MAX_DEPTH) return needsRewrite(v, depth);
  if (Array.isArray(v)) return v.map((x) => rewrite(x, depth + 1));
  if (!isPlainObject(v)) {
    if (!needsRewrite(v, depth)) return v; // Date, Decimal, bytes (or throws)
    const d = v as Decimal; // a foreign Decimal: same API, other class
    return new Decimal(d.isZero() && d.isNegative() ? '-0' : d.toString());
  }
  const keys = Object.keys(v);
  if (keys.includes('__proto__')) {
    const entries: unknown[] = [];
    for (const k of keys) entries.push(k, rewrite(v[k], depth + 1));
    return new ProtoKeyObject(entries);
  }
  const out: Record<string, unknown> = {};
  for (const k of keys) out[k] = rewrite(v[k], depth + 1);
  return out;
}
