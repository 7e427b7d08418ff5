/**
 * A command that got no answer in time: on a hung Redis it would wait forever, and with it
 * the database write whose invalidation it is.
 */
export class CommandDeadlineError extends Error {
  override name = 'CommandDeadlineError'
  constructor(ms: number) {
    super(`Redis did not answer within ${ms} ms`)
  }
}

interface Waiting {
  readonly due: number
  readonly reject: (err: Error) => void
  settled: boolean
}

/**
 * Deadlines of the commands in flight on one connection, checked by one timer. ioredis'
 * `commandTimeout` arms and clears a timer per command, which cost a hit 5–10 µs of CPU
 * here (a twentieth of it); this costs a timestamp and a queue slot. Commands are queued
 * in the order they were sent, so their deadlines are in order too and only the oldest
 * unanswered one needs looking at. A command is given up between `ms` and `ms` plus a
 * quarter of it after it was sent. It may still run later: everything sent is safe to run
 * late (stores are checked when they run, a late guard expires, a failed invalidation is
 * retried model-wide).
 */
export class CommandDeadlines {
  private queue: Waiting[] = []
  private head = 0
  private timer: NodeJS.Timeout | undefined

  /**
   * `outcome` is told how every command ended, before its caller is: undefined when it was
   * answered, else the error (a CommandDeadlineError when it was given up).
   */
  constructor(
    readonly ms: number,
    private readonly outcome: (err: unknown) => void = () => {},
  ) {}

  /** What `sent` settles to, or a CommandDeadlineError if it takes longer than `ms`. */
  watch<T>(sent: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const waiting: Waiting = { due: performance.now() + this.ms, reject, settled: false }
      this.queue.push(waiting)
      if (this.timer === undefined) {
        this.timer = setInterval(() => this.expire(), Math.max(1, this.ms / 4))
        this.timer.unref()
      }
      sent.then(
        (value) => {
          if (waiting.settled) return
          waiting.settled = true
          this.outcome(undefined)
          resolve(value)
        },
        (err: unknown) => {
          if (waiting.settled) return
          waiting.settled = true
          this.outcome(err)
          reject(err)
        },
      )
    })
  }

  /** Commands in flight (answered ones still queued are not counted). */
  get pending(): number {
    let n = 0
    for (let i = this.head; i < this.queue.length; i++) if (!this.queue[i]!.settled) n++
    return n
  }

  private expire(): void {
    const now = performance.now()
    const queue = this.queue
    while (this.head < queue.length) {
      const oldest = queue[this.head]!
      if (!oldest.settled) {
        if (oldest.due > now) break
        oldest.settled = true
        const err = new CommandDeadlineError(this.ms)
        this.outcome(err)
        oldest.reject(err)
      }
      this.head++
    }
    if (this.head === queue.length) {
      // Nothing in flight: no timer until the next command.
      this.queue = []
      this.head = 0
      clearInterval(this.timer)
      this.timer = undefined
    } else if (this.head > 1024 && this.head * 2 > queue.length) {
      this.queue = queue.slice(this.head)
      this.head = 0
    }
  }
}
