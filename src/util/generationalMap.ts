/**
 * A map bounded by two generations: when the young one is full it becomes the old one (the
 * previous old one is dropped), and a key found in the old one moves back to the young one.
 * So what is used keeps its place and what is not falls out, at the cost of one more Map
 * lookup for a key not in the young generation; no per-entry bookkeeping as in an LRU.
 */
export class GenerationalMap<K, V> {
  private young = new Map<K, V>()
  private old = new Map<K, V>()

  constructor(private readonly perGeneration: number) {}

  get(key: K): V | undefined {
    const young = this.young.get(key)
    if (young !== undefined || this.old.size === 0) return young
    const old = this.old.get(key)
    if (old !== undefined) {
      this.old.delete(key)
      this.set(key, old)
    }
    return old
  }

  set(key: K, value: V): void {
    if (this.young.size >= this.perGeneration && !this.young.has(key)) {
      this.old = this.young
      this.young = new Map()
    }
    this.young.set(key, value)
  }

  delete(key: K): void {
    this.young.delete(key)
    this.old.delete(key)
  }

  get size(): number {
    return this.young.size + this.old.size
  }
}
