/**
 * Compares candidate value codecs for cached Prisma results.
 * Run: npx tsx bench/codec.ts
 *
 * Each candidate encodes + decodes 1000 User-like rows; printed: median µs per
 * encode+decode (and the encode / decode medians separately) and the encoded
 * size. Every candidate is checked to round-trip the row types first.
 */
import v8 from 'node:v8';
import { Decimal } from '@prisma/client/runtime/client';
import { Packr, Unpackr } from 'msgpackr';
import { decodeResult, encodeResult } from '../src/codec/index.js';

interface Codec {
  name: string;
  encode(v: unknown): Uint8Array;
  decode(b: Uint8Array): unknown;
}

// 1. The chosen codec: msgpackr with records + extensions + -0/__proto__ pre-scan.
const chosen: Codec = { name: 'msgpackr (src/codec)', encode: encodeResult, decode: decodeResult };

// 1b. Same msgpackr setup without the pre-scan (NOT correct for -0; shows the scan's cost).
// Extensions registered by src/codec are process-global, so Decimal still works here.
const rawPackr = new Packr({ useRecords: true, useBigIntExtension: true, useToJSON: false });
const rawUnpackr = new Unpackr({ mapsAsObjects: true, int64AsType: 'bigint', copyBuffers: true });
const msgpackrNoScan: Codec = {
  name: 'msgpackr, no pre-scan',
  encode: (v) => rawPackr.pack(v),
  decode: (b) => rawUnpackr.unpack(b),
};

// 1c. With bundleStrings (strings gathered into one block per message).
const bundlePackr = new Packr({ useRecords: true, useBigIntExtension: true, useToJSON: false, bundleStrings: true });
const bundleUnpackr = new Unpackr({ mapsAsObjects: true, int64AsType: 'bigint', copyBuffers: true, bundleStrings: true });
const msgpackrBundle: Codec = {
  name: 'msgpackr + bundleStrings, no pre-scan',
  encode: (v) => bundlePackr.pack(v),
  decode: (b) => bundleUnpackr.unpack(b),
};

// 2. v8.serialize: handles -0, bigint, Date, Uint8Array, "__proto__" natively, but
// throws on Decimal (it has an own `constructor` function property). Pre-walk copies
// the value replacing each Decimal with a boxed String (never in a Prisma result),
// post-walk turns boxed Strings back into Decimals in place.
function v8Pre(v: unknown): unknown {
  if (typeof v !== 'object' || v === null) return v;
  if (v instanceof Decimal) return Object(v.isZero() && v.isNeg() ? '-0' : v.toString());
  if (Array.isArray(v)) return v.map(v8Pre);
  if (v instanceof Date || ArrayBuffer.isView(v)) return v;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v)) out[k] = v8Pre((v as Record<string, unknown>)[k]);
  return out;
}
function v8Post(v: unknown): unknown {
  if (typeof v !== 'object' || v === null) return v;
  if (v instanceof String) return new Decimal(v.valueOf());
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) v[i] = v8Post(v[i]);
  } else if (!(v instanceof Date) && !ArrayBuffer.isView(v)) {
    const o = v as Record<string, unknown>;
    for (const k of Object.keys(o)) o[k] = v8Post(o[k]);
  }
  return v;
}
const v8Codec: Codec = {
  name: 'v8.serialize + walks',
  encode: (v) => v8.serialize(v8Pre(v)),
  decode: (b) => v8Post(v8.deserialize(b)),
};

// 3. JSON with a replacer/reviver tagging the non-JSON types as {"\u0000T": payload}
// (a Json column holding such a key would be misread: bench only).
const TAG = '\u0000';
const jsonCodec: Codec = {
  name: 'JSON + replacer/reviver',
  encode(v) {
    return Buffer.from(
      JSON.stringify(v, function (this: Record<string, unknown>, key, val: unknown) {
        const raw = this[key];
        if (typeof raw === 'number') return Object.is(raw, -0) ? { [TAG + 'z']: 0 } : raw;
        if (typeof raw === 'bigint') return { [TAG + 'b']: raw.toString() };
        if (typeof raw !== 'object' || raw === null) return val;
        if (raw instanceof Date) return { [TAG + 't']: raw.getTime() };
        if (raw instanceof Decimal) return { [TAG + 'd']: raw.isZero() && raw.isNeg() ? '-0' : raw.toString() };
        if (raw instanceof Uint8Array) return { [TAG + 'u']: Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('base64') };
        return val;
      }),
    );
  },
  decode(b) {
    return JSON.parse(Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8'), (_k, val: unknown) => {
      if (typeof val !== 'object' || val === null || Array.isArray(val)) return val;
      const o = val as Record<string, unknown>;
      for (const k in o) {
        if (k.length !== 2 || k[0] !== TAG) return val;
        const p = o[k];
        switch (k[1]) {
          case 'z': return -0;
          case 'b': return BigInt(p as string);
          case 't': return new Date(p as number);
          case 'd': return new Decimal(p as string);
          case 'u': return new Uint8Array(Buffer.from(p as string, 'base64'));
        }
        return val;
      }
      return val;
    });
  },
};

function makeRows(n: number) {
  const rows = [];
  for (let i = 0; i < n; i++) {
    rows.push({
      id: i + 1,
      email: `user${i}@example.com`,
      createdAt: new Date(Date.UTC(2024, 0, 1) + i * 1234567),
      score: i * 1.25 + 0.1,
      big: BigInt(i) * 1_000_000_007n,
      balance: new Decimal(`${i}.${String(i % 100).padStart(2, '0')}`),
      avatar: new Uint8Array(16).map((_, j) => (i + j) & 0xff),
      meta: { a: [1, null, { b: 'x' }] },
    });
  }
  return rows;
}

function sanity(c: Codec, rows: ReturnType<typeof makeRows>) {
  const out = c.decode(c.encode(rows)) as typeof rows;
  const r = out[7]!;
  const o = rows[7]!;
  const ok =
    out.length === rows.length &&
    r.createdAt instanceof Date && r.createdAt.getTime() === o.createdAt.getTime() &&
    typeof r.big === 'bigint' && r.big === o.big &&
    r.balance instanceof Decimal && r.balance.toString() === o.balance.toString() &&
    r.avatar.constructor === Uint8Array && Buffer.compare(r.avatar, o.avatar) === 0 &&
    JSON.stringify(r.meta) === JSON.stringify(o.meta) && r.score === o.score;
  if (!ok) throw new Error(`${c.name} does not round-trip the bench rows`);
}

function median(xs: number[]) {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

function bench(c: Codec, rows: unknown, iterations: number) {
  for (let i = 0; i < 200; i++) c.decode(c.encode(rows)); // warm-up (JIT, msgpackr record readers)
  const enc: number[] = [];
  const dec: number[] = [];
  const both: number[] = [];
  let bytes = 0;
  for (let i = 0; i < iterations; i++) {
    const t0 = process.hrtime.bigint();
    const buf = c.encode(rows);
    const t1 = process.hrtime.bigint();
    c.decode(buf);
    const t2 = process.hrtime.bigint();
    enc.push(Number(t1 - t0) / 1000);
    dec.push(Number(t2 - t1) / 1000);
    both.push(Number(t2 - t0) / 1000);
    bytes = buf.byteLength;
  }
  return { codec: c.name, 'enc+dec µs': median(both), 'enc µs': median(enc), 'dec µs': median(dec), bytes };
}

const rows = makeRows(1000);
const candidates = [chosen, msgpackrNoScan, msgpackrBundle, v8Codec, jsonCodec];
for (const c of candidates) sanity(c, rows);
const iterations = Number(process.argv[2] ?? 300);
const results = candidates.map((c) => bench(c, rows, iterations));
console.log(`node ${process.version}, 1000 rows, ${iterations} iterations, medians`);
console.table(results.map((r) => ({ ...r, 'enc+dec µs': Math.round(r['enc+dec µs']), 'enc µs': Math.round(r['enc µs']), 'dec µs': Math.round(r['dec µs']) })));
