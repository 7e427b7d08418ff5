// The scripted tour (`npm run demo`, the README's first command) states what each read
// should do after a write and exits non-zero when one does otherwise. It runs here twice:
// on the servers (DATABASE_URL and REDIS_URL set: a database of its own), and as on a
// fresh laptop — neither variable set, so embedded PostgreSQL and the memory store — with
// no network at all (a new network namespace: even loopback is down).
import { spawnSync } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import { freshDatabase } from './helpers.ts'

function tour(env: NodeJS.ProcessEnv, isolated = false) {
  const node = [process.execPath, '--import', 'tsx', 'demo/tour.ts']
  const [cmd, ...args] = isolated ? ['unshare', '-n', ...node] : node
  return spawnSync(cmd!, args, { env, encoding: 'utf8', timeout: 120_000 })
}

function expectWholeTour(child: ReturnType<typeof tour>) {
  expect(child.stdout).toContain('Same reads after the write')
  expect(child.stdout).not.toContain('(!)')
  expect(child.stdout).toContain('connections closed')
  expect(child.status, child.stderr).toBe(0)
}

describe('npm run demo (demo/tour.ts)', () => {
  it('runs to the end on the servers, every read doing what the tour says it does', async () => {
    const url = await freshDatabase('demo')
    const child = tour({ ...process.env, DATABASE_URL: url })
    expectWholeTour(child)
    expect(child.stdout).toMatch(/database: PostgreSQL at 127\.0\.0\.1/)
    expect(child.stdout).toMatch(/cache: +Redis at/)
  }, 150_000)

  it('runs to the end with neither DATABASE_URL nor REDIS_URL, and no network at all', () => {
    const env = { ...process.env }
    delete env.DATABASE_URL
    delete env.REDIS_URL
    const child = tour(env, true)
    expectWholeTour(child)
    expect(child.stdout).toContain('database: embedded PostgreSQL (PGlite')
    expect(child.stdout).toContain('cache:    the memory store')
  }, 150_000)
})
