// The README's code: its TypeScript snippets compile under the project's strict settings
// against the reference schema, as a user would paste them.
import { execFileSync } from 'node:child_process'
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'

const root = path.resolve(import.meta.dirname, '..')
const dir = path.join(root, '.readme-check')
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** The README's ```ts blocks up to the Stores section's end (the opening example, "Extend your client", the memory store). */
function quickstartSnippets(): string[] {
  const readme = readFileSync(path.join(root, 'README.md'), 'utf8')
  const upTo = readme.indexOf('\n## ', readme.indexOf('## Stores') + 1)
  return [...readme.slice(0, upTo).matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!.replace(/^ {3}/gm, ''))
}

describe('README', () => {
  it('the opening example, the quickstart and the stores example type-check under strict', () => {
    const snippets = quickstartSnippets()
    expect(snippets.length).toBe(3)
    mkdirSync(dir, { recursive: true })
    const prelude = [
      "import { PrismaPg } from '@prisma/adapter-pg'",
      "declare const adapter: PrismaPg",
    ]
    const files = snippets.map((code, i) => {
      const file = path.join(dir, `snippet${i}.ts`)
      const body = code
        .replace("from './prisma/generated/client/client'", "from '../prisma/generated/client/client.ts'")
        .replace("from './prisma/generated/cacheops'", "from '../prisma/generated/cacheops/index.ts'")
        .replace("from 'prisma-cacheops'", "from '../src/index.ts'")
      // Snippets leave out the imports the quickstart showed.
      const imports = [
        ...(body.includes('import { PrismaClient }') ? [] : ["import { PrismaClient } from '../prisma/generated/client/client.ts'"]),
        ...(body.includes('import { datamodel }') ? [] : ["import { datamodel } from '../prisma/generated/cacheops/index.ts'"]),
        ...(body.includes("from '../src/index.ts'") ? [] : ["import { cacheops } from '../src/index.ts'"]),
      ]
      writeFileSync(file, [...imports, ...prelude, body, 'export {}'].join('\n'))
      return file
    })
    const tsconfig = path.join(dir, 'tsconfig.json')
    // A snippet is a fragment: the client it makes is used by code that follows in the user's app.
    writeFileSync(tsconfig, JSON.stringify({ extends: '../tsconfig.json', compilerOptions: { noUnusedLocals: false }, include: [], files: files.map((f) => path.basename(f)) }))
    let out = ''
    try {
      execFileSync('npx', ['tsc', '-p', tsconfig], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
    } catch (err) {
      out = String((err as { stdout?: string }).stdout)
    }
    expect(out).toBe('')
  }, 120_000)
})
