import { describe, expect, it } from 'vitest'
import { CommandDeadlineError, CommandDeadlines } from '../src/redis/deadlines.ts'

const never = () => new Promise<never>(() => {})
const after = <T>(ms: number, value: T) => new Promise<T>((resolve) => setTimeout(() => resolve(value), ms))

describe('CommandDeadlines (one timer for every command in flight)', () => {
  it('passes answers and errors through, and tells each outcome first', async () => {
    const outcomes: unknown[] = []
    const deadlines = new CommandDeadlines(200, (err) => outcomes.push(err))
    expect(await deadlines.watch(Promise.resolve('OK'))).toBe('OK')
    const refused = new Error('NOSCRIPT')
    await expect(deadlines.watch(Promise.reject(refused))).rejects.toBe(refused)
    expect(outcomes).toEqual([undefined, refused])
  })

  it('gives up a command that gets no answer, between the deadline and a quarter more', async () => {
    const outcomes: unknown[] = []
    const deadlines = new CommandDeadlines(80, (err) => outcomes.push(err))
    const started = performance.now()
    const hung = deadlines.watch(never())
    const answered = deadlines.watch(after(10, 'fast'))
    expect(await answered).toBe('fast')
    const err = await hung.catch((e: unknown) => e)
    const waited = performance.now() - started
    expect(err).toBeInstanceOf(CommandDeadlineError)
    expect((err as Error).message).toBe('Redis did not answer within 80 ms')
    expect(waited).toBeGreaterThanOrEqual(79)
    expect(waited).toBeLessThan(80 + 20 + 60) // a quarter of the deadline, plus timer slack
    expect(outcomes).toEqual([undefined, err])
    expect(deadlines.pending).toBe(0)
  })

  it('an answer after the deadline changes nothing', async () => {
    const outcomes: unknown[] = []
    const deadlines = new CommandDeadlines(40, (err) => outcomes.push(err))
    const late = deadlines.watch(after(120, 'late'))
    await expect(late).rejects.toBeInstanceOf(CommandDeadlineError)
    await after(120, undefined)
    expect(outcomes).toHaveLength(1)
  })

  it('a command sent behind a hung one keeps its own deadline', async () => {
    const deadlines = new CommandDeadlines(60)
    const first = deadlines.watch(never()).catch((e: unknown) => e)
    await after(40, undefined)
    const second = deadlines.watch(never()).catch((e: unknown) => e)
    const firstGivenUpAt = await first.then(() => performance.now())
    expect(deadlines.pending).toBe(1) // the second is not due yet
    const secondGivenUpAt = await second.then(() => performance.now())
    expect(secondGivenUpAt - firstGivenUpAt).toBeGreaterThanOrEqual(10)
    expect(deadlines.pending).toBe(0)
  })

  it('many answered commands leave nothing behind', async () => {
    const deadlines = new CommandDeadlines(20)
    for (let round = 0; round < 5; round++) await Promise.all(Array.from({ length: 2000 }, (_, i) => deadlines.watch(Promise.resolve(i))))
    expect(deadlines.pending).toBe(0)
    await after(30, undefined) // a tick of the timer empties the queue and stops it
    expect((deadlines as unknown as { queue: unknown[] }).queue).toHaveLength(0)
    expect((deadlines as unknown as { timer: unknown }).timer).toBeUndefined()
  })
})
