// Timing helpers of the benchmark: latency samples and concurrent throughput. Absolute
// numbers are printed for context; only ratios from the same run are compared.

export interface Latency {
  readonly name: string
  readonly n: number
  readonly medianUs: number
  readonly p99Us: number
}

/** Runs `fn` `warmup` times, then `n` times, one after another; returns median and p99. */
export async function latency(name: string, n: number, fn: (i: number) => Promise<unknown>, warmup = Math.min(200, n)): Promise<Latency> {
  for (let i = 0; i < warmup; i++) await fn(i)
  const samples = new Float64Array(n)
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint()
    await fn(warmup + i)
    samples[i] = Number(process.hrtime.bigint() - t0) / 1000
  }
  samples.sort()
  return { name, n, medianUs: samples[Math.floor(n / 2)]!, p99Us: samples[Math.min(n - 1, Math.floor(n * 0.99))]! }
}

/**
 * Variants measured interleaved in blocks (`block` calls of A, then of B, ...; the order
 * rotates every round), so drift in a noisy machine weighs on all of them alike. Blocks
 * rather than single calls: a call right after another variant's pays for what that one
 * left behind (a database query's pool release, its garbage), which would charge a cache
 * hit for the plain query it alternates with. The first `settle` calls of each block are
 * not timed for the same reason.
 */
export async function interleavedLatency(
  names: readonly string[],
  n: number,
  fns: readonly ((i: number) => Promise<unknown>)[],
  warmup = Math.min(200, n),
  block = 50,
  settle = 2,
): Promise<Latency[]> {
  for (let i = 0; i < warmup; i++) for (const fn of fns) await fn(i)
  const samples = fns.map(() => new Float64Array(n))
  const calls = fns.map(() => warmup)
  for (let done = 0, round = 0; done < n; done += block, round++) {
    const size = Math.min(block, n - done)
    for (let j = 0; j < fns.length; j++) {
      const k = (round + j) % fns.length
      const fn = fns[k]!
      for (let s = 0; s < settle; s++) await fn(calls[k]!++)
      for (let i = 0; i < size; i++) {
        const t0 = process.hrtime.bigint()
        await fn(calls[k]!++)
        samples[k]![done + i] = Number(process.hrtime.bigint() - t0) / 1000
      }
    }
  }
  return samples.map((s, k) => {
    s.sort()
    return { name: names[k]!, n, medianUs: s[Math.floor(n / 2)]!, p99Us: s[Math.min(n - 1, Math.floor(n * 0.99))]! }
  })
}

/** `workers` concurrent loops calling `fn` for `ms` milliseconds; operations per second. */
export async function throughput(workers: number, ms: number, fn: (worker: number, i: number) => Promise<unknown>): Promise<{ ops: number; perSecond: number }> {
  let ops = 0
  const end = performance.now() + ms
  const started = performance.now()
  await Promise.all(
    Array.from({ length: workers }, async (_, w) => {
      for (let i = 0; performance.now() < end; i++) {
        await fn(w, i)
        ops++
      }
    }),
  )
  return { ops, perSecond: (ops * 1000) / (performance.now() - started) }
}

/** A deterministic PRNG (mulberry32), so that a seed reproduces a run's key sequence. */
export function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Zipf(s) over 0..n-1 by inverse CDF: rank 0 is the hottest key. */
export function zipf(n: number, s: number, random: () => number): () => number {
  const cdf = new Float64Array(n)
  let sum = 0
  for (let k = 0; k < n; k++) cdf[k] = sum += 1 / Math.pow(k + 1, s)
  for (let k = 0; k < n; k++) cdf[k]! /= sum
  return () => {
    const u = random()
    let lo = 0
    let hi = n - 1
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (cdf[mid]! < u) lo = mid + 1
      else hi = mid
    }
    return lo
  }
}

export const us = (x: number) => `${x >= 10_000 ? x.toFixed(0) : x.toFixed(1)} µs`
