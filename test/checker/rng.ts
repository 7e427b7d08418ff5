// Seeded PRNG for the consistency checker. Each (seed, phase, process, worker) gets its own
// stream, so a run's operation sequence is reproducible from its seed (the interleaving of
// concurrent workers is not — that is the point of running them concurrently).

/** 32-bit FNV-1a over the parts' text: turns (seed, phase, child, worker) into a seed. */
export function deriveSeed(...parts: (string | number)[]): number {
  let h = 0x811c9dc5
  for (const ch of parts.join('/')) {
    h ^= ch.charCodeAt(0)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}

/** sfc32: small, fast, good enough statistically, and trivially seedable. */
export class Rng {
  private a: number
  private b: number
  private c: number
  private d: number

  constructor(seed: number) {
    this.a = 0x9e3779b9
    this.b = 0x243f6a88
    this.c = 0xb7e15162
    this.d = seed >>> 0
    for (let i = 0; i < 15; i++) this.next() // mix the seed in
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.a >>>= 0; this.b >>>= 0; this.c >>>= 0; this.d >>>= 0
    const t = (((this.a + this.b) | 0) + this.d) | 0
    this.d = (this.d + 1) | 0
    this.a = this.b ^ (this.b >>> 9)
    this.b = (this.c + (this.c << 3)) | 0
    this.c = (this.c << 21) | (this.c >>> 11)
    this.c = (this.c + t) | 0
    return (t >>> 0) / 4294967296
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n)
  }

  /** Integer in [lo, hi]. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1)
  }

  chance(p: number): boolean {
    return this.next() < p
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list')
    return items[this.int(items.length)] as T
  }

  /** Like pick, but favouring the first items (index ≈ n·u²): some keys are hot, as in real traffic. */
  skewed<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list')
    return items[Math.floor(items.length * this.next() ** 2)] as T
  }

  /** `k` distinct items, in ascending index order (so params repeat as cache keys). */
  sample<T>(items: readonly T[], k: number): T[] {
    const idx = items.map((_, i) => i)
    for (let i = idx.length - 1; i > 0; i--) {
      const j = this.int(i + 1)
      ;[idx[i], idx[j]] = [idx[j]!, idx[i]!]
    }
    return idx.slice(0, Math.min(k, idx.length)).sort((x, y) => x - y).map((i) => items[i] as T)
  }

  /** Picks an entry of `table` with probability proportional to its weight. */
  weighted<T extends { weight: number }>(table: readonly T[]): T {
    let total = 0
    for (const t of table) total += t.weight
    let x = this.next() * total
    for (const t of table) {
      x -= t.weight
      if (x < 0) return t
    }
    return table[table.length - 1] as T
  }
}
