// The module graph of src/: no import cycles, type-only imports included (dpdm), so that
// each concern (query → dependencies, write → invalidations, store, Prisma hook) can be
// loaded and tested without the others.
import path from 'node:path'
import { parseCircular, parseDependencyTree } from 'dpdm'
import { describe, expect, it } from 'vitest'

const root = path.resolve(import.meta.dirname, '..')

describe('module graph', () => {
  it('has no import cycles', async () => {
    const entries = ['src/index.ts', 'src/generator/bin.ts', 'src/generator/index.ts']
    const tree = await parseDependencyTree(entries, { context: root, transform: false, skipDynamicImports: false })
    const modules = Object.keys(tree).filter((f) => f.startsWith('src/'))
    expect(modules.length).toBeGreaterThan(30) // the whole library was walked
    expect(parseCircular(tree)).toEqual([])
  })
})
