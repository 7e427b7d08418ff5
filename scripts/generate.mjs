// Runs `prisma generate` offline: the CLI would otherwise try to download a native
// schema engine it does not need for generation (see docs/design.md).
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'

if (!existsSync('prisma/schema.prisma')) process.exit(0) // installed as a dependency: nothing to do
const r = spawnSync('npx', ['prisma', 'generate'], {
  stdio: 'inherit',
  env: { ...process.env, PRISMA_SCHEMA_ENGINE_BINARY: process.env.PRISMA_SCHEMA_ENGINE_BINARY ?? '/bin/false', PRISMA_HIDE_UPDATE_MESSAGE: '1', CHECKPOINT_DISABLE: '1' },
})
process.exit(r.status ?? 1)
