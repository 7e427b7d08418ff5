import type { Cluster, Redis } from 'ioredis'

/**
 * Waits for entry locks to be released without polling Redis: one subscriber connection
 * (opened on first use) listens on the prefix's unlock channel; release_lock.lua publishes
 * the entry key there. A wait always ends: on the release, when the lock turns out to be
 * gone already, or after `timeoutMs` (a holder that crashed, a message that was missed).
 */
export class LockWaiter {
  private subscriber: Redis | Cluster | undefined
  private ready: Promise<unknown> | undefined
  private readonly waiting = new Map<string, Set<() => void>>()

  constructor(
    private readonly redis: Redis | Cluster,
    private readonly channel: string,
    private readonly lockHeld: (entryKey: string) => Promise<boolean>,
  ) {}

  wait(entryKey: string, timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const set = this.waiting.get(entryKey) ?? new Set()
      const done = () => {
        clearTimeout(timer)
        set.delete(done)
        if (set.size === 0) this.waiting.delete(entryKey)
        resolve()
      }
      // Armed first: a subscription Redis does not answer must not hold the wait either.
      const timer = setTimeout(done, timeoutMs)
      set.add(done)
      this.waiting.set(entryKey, set)
      // Released between our read and our listening: do not wait for a message that came.
      this.subscribe()
        .catch(() => undefined)
        .then(() => this.lockHeld(entryKey))
        .then((held) => held || done(), () => done())
    })
  }

  private subscribe(): Promise<unknown> {
    if (!this.ready) {
      const sub = (this.subscriber = (this.redis as Redis).duplicate())
      sub.on('error', () => {})
      sub.on('message', (_channel: string, key: string) => {
        for (const wake of [...(this.waiting.get(key) ?? [])]) wake()
      })
      this.ready = sub.subscribe(this.channel)
    }
    return this.ready
  }

  async close(): Promise<void> {
    for (const set of this.waiting.values()) for (const wake of [...set]) wake()
    if (this.subscriber) await this.subscriber.quit().catch(() => this.subscriber?.disconnect())
  }
}
