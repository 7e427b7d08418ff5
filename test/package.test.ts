// The package a user installs: builds, packs with what it needs, and its generator runs from dist.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const root = path.resolve(import.meta.dirname, '..')
const run = (cmd: string, args: string[], env: Record<string, string> = {}) =>
  execFileSync(cmd, args, { cwd: root, encoding: 'utf8', env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
let tmp: string

beforeAll(() => {
  run('npm', ['run', 'build'])
  tmp = mkdtempSync(path.join(tmpdir(), 'cacheops-pack-'))
}, 120_000)
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

describe('npm package', () => {
  it('packs the compiled library, its Lua scripts and the generator bin', () => {
    const out = JSON.parse(run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'])) as [{ files: { path: string }[] }]
    const files = out[0].files.map((f) => f.path)
    for (const f of ['dist/index.js', 'dist/index.d.ts', 'dist/redis/lua/read_or_lease.lua', 'dist/generator/bin.js', 'bin/generator.cjs', 'README.md']) {
      expect(files).toContain(f)
    }
    expect(files.some((f) => f.startsWith('src/') || f.startsWith('test/'))).toBe(false)
  })

  it('every entry of package.json exports is in the package, and prisma-cacheops/generator loads', () => {
    const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { exports: Record<string, Record<string, string>> }
    const files = (JSON.parse(run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'])) as [{ files: { path: string }[] }])[0].files.map((f) => f.path)
    for (const [entry, targets] of Object.entries(pkg.exports)) for (const target of Object.values(targets)) expect({ entry, target, packed: files.includes(target.replace(/^\.\//, '')) }).toEqual({ entry, target, packed: true })
    const out = run('node', ['--input-type=module', '-e', "const m = await import('prisma-cacheops/generator'); console.log(typeof m.datamodelFromDmmf, typeof m.renderDatamodelModule)"])
    expect(out.trim()).toBe('function function')
  })

  it('exports cacheops from the built entry point', () => {
    const out = run('node', ['--input-type=module', '-e', "const m = await import('./dist/index.js'); console.log(typeof m.cacheops, typeof m.CacheopsConfigError)"])
    expect(out.trim()).toBe('function function')
  })

  it('runs the published generator bin and writes the datamodel', () => {
    const schema = readFileSync(path.join(root, 'prisma/schema.prisma'), 'utf8')
      .replace(/generator client \{[^}]*\}/, '')
      .replace(/provider = "node --import tsx [^"]*"/, `provider = "node ${path.join(root, 'bin/generator.cjs')}"`)
      .replace('output   = "./generated/cacheops"', `output   = "${path.join(tmp, 'out')}"`)
    writeFileSync(path.join(tmp, 'schema.prisma'), schema)
    run('npx', ['prisma', 'generate', '--schema', path.join(tmp, 'schema.prisma')], { PRISMA_SCHEMA_ENGINE_BINARY: '/bin/false' })
    const generated = readFileSync(path.join(tmp, 'out', 'index.ts'), 'utf8')
    expect(generated).toContain('export const datamodel')
    expect(generated).toContain('"authorId_title"')
    // Enum values, which let updateManyAndReturn list an enum field's old values.
    expect(generated).toMatch(/"values": \[\s*"USER",\s*"ADMIN"\s*\]/)
  }, 120_000)
})
