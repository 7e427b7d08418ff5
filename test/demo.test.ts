// The scripted tour (`npm run demo`, the README's first command) states what each read
// should do after a write and exits non-zero when one does otherwise: run it here, in a
// database of its own, so a change of the invalidation rules cannot leave it behind.
import { spawnSync } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import { freshDatabase } from './helpers.ts'

describe('npm run demo (demo/tour.ts)', () => {
  it('runs to the end with every read doing what the tour says it does', async () => {
    const url = await freshDatabase('demo')
    const child = spawnSync(process.execPath, ['--import', 'tsx', 'demo/tour.ts'], { env: { ...process.env, DATABASE_URL: url }, encoding: 'utf8', timeout: 120_000 })
    expect(child.stdout).toContain('Same reads after the write')
    expect(child.stdout).not.toContain('(!)')
    expect(child.status, child.stderr).toBe(0)
  }, 150_000)
})
