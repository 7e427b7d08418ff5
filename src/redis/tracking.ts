import type { Redis } from 'ioredis'

/**
 * Redis client-side caching for the near cache (NOTES §7): the data connection runs
 * `CLIENT TRACKING ON REDIRECT <id> OPTIN`, `<id>` being a RESP2 connection of our own
 * subscribed to `__redis__:invalidate` (ioredis drops RESP3 tracking pushes); a read that
 * fills the near cache is preceded by `CLIENT CACHING yes`, so Redis remembers its keys for
 * this client and, when one changes, queues an invalidation message to the subscriber
 * *before* it answers the writer. Hence the fence: a PING sent on the subscriber after a
 * read began is answered after every invalidation of a write completed before that read
 * began (one connection, in order), so awaiting its PONG proves the near cache holds
 * nothing such a write voided. One PING serves every read that began before it was sent.
 *
 * Anything that may lose a message — either connection closing or reconnecting, a FLUSH
 * (a null message), `close()` — calls `onLost` (the near cache drops everything) and makes
 * the tracking not `live` until both connections and the redirect are set up again.
 */
export class Tracking {
  private subscriber: Redis | undefined
  private starting: Promise<void> | undefined
  private pendingPing: { promise: Promise<void>; sent: boolean } | undefined
  /** Losses so far: a set-up that saw one while it ran does not make the tracking live. */
  private losses = 0
  /** performance.now() of the last message or PONG on the subscriber: proof it is alive. */
  lastProof = 0
  live = false
  private closed = false

  constructor(
    private readonly data: Redis,
    private readonly onInvalidate: (keys: readonly string[]) => void,
    private readonly onLost: () => void,
  ) {
    data.on('close', () => this.lost())
  }

  /** Sets tracking up, once, and again after a loss. Rejects if it could not (then: not live). */
  start(): Promise<void> {
    this.starting ??= this.setUp().catch((err: unknown) => {
      this.starting = undefined
      throw err
    })
    return this.starting
  }

  private async setUp(): Promise<void> {
    if (this.closed) throw new Error('closed')
    const losses = this.losses
    // A subscriber of its own per set-up: a reconnected one has another client id, and a
    // subscribed connection cannot be asked for it.
    this.subscriber?.disconnect()
    const sub = (this.subscriber = this.data.duplicate({ protocol: 2, enableAutoPipelining: false, autoResubscribe: false }))
    sub.on('error', () => {})
    sub.on('close', () => sub === this.subscriber && this.lost())
    sub.on('messageBuffer', (channel: Buffer, message: Buffer | Buffer[] | null) => {
      if (sub !== this.subscriber || String(channel) !== '__redis__:invalidate') return
      this.lastProof = performance.now()
      if (message === null) return this.lost() // FLUSHALL / FLUSHDB
      this.onInvalidate(Array.isArray(message) ? message.map(String) : [String(message)])
    })
    const id = await sub.client('ID')
    await sub.subscribe('__redis__:invalidate')
    await this.data.call('CLIENT', 'TRACKING', 'ON', 'REDIRECT', String(id), 'OPTIN')
    if (this.losses !== losses || this.closed || sub !== this.subscriber) throw new Error('a connection was lost while tracking was set up')
    this.lastProof = performance.now()
    this.live = true
  }

  private lost(): void {
    this.losses++
    this.live = false
    this.starting = undefined
    this.onLost()
  }

  /**
   * Sends `read` with its keys tracked: `CLIENT CACHING yes` goes right before it on the
   * data connection (two synchronous calls: nothing can be written between them).
   */
  tracked<T>(read: () => Promise<T>): Promise<T> {
    this.data.call('CLIENT', 'CACHING', 'YES').catch(() => {})
    return read()
  }

  /**
   * Resolves once every invalidation Redis queued for us before this call has been
   * handled: joins the PING not yet sent, or makes one, sent after the current tick so
   * that concurrent hits share it. Rejects when tracking is not live.
   */
  fence(): Promise<void> {
    const sub = this.subscriber
    if (!this.live || !sub) return Promise.reject(new Error('tracking is not live'))
    if (this.pendingPing && !this.pendingPing.sent) return this.pendingPing.promise
    const losses = this.losses
    const pending: { promise: Promise<void>; sent: boolean } = { promise: Promise.resolve(), sent: false }
    pending.promise = new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
      pending.sent = true
      return sub.ping().then(() => {
        if (this.losses !== losses) throw new Error('tracking was lost')
        this.lastProof = performance.now()
      })
    })
    this.pendingPing = pending
    return pending.promise
  }

  async close(): Promise<void> {
    this.closed = true
    this.live = false
    if (this.subscriber) await this.subscriber.quit().catch(() => this.subscriber?.disconnect())
    await this.data.call('CLIENT', 'TRACKING', 'OFF').catch(() => {})
  }
}
