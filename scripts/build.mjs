// Compiles src/ to dist/ (JS + .d.ts) and copies the Lua scripts beside their loader.
import { spawnSync } from 'node:child_process'
import { cpSync, rmSync } from 'node:fs'

rmSync('dist', { recursive: true, force: true })
const r = spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' })
if (r.status !== 0) process.exit(r.status ?? 1)
cpSync('src/redis/lua', 'dist/redis/lua', { recursive: true })
console.log('built dist/')
