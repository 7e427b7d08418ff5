// Schema variants derived from the reference schema (prisma/schema.prisma), so they never
// drift from it. Run `npx tsx test/diff/variants.ts` to rewrite them after the reference changes.
import { readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { REPO } from './prepare.ts'

export const REFERENCE = path.join(REPO, 'prisma/schema.prisma')
export const RELATION_MODE_PRISMA = path.join(REPO, 'test/schemas/relation-mode-prisma.prisma')

/** Everything after the datasource block: the enums and models (comments included). */
export function modelsBlock(schema: string): string {
  const m = /datasource\s+\w+\s*\{[^}]*\}/.exec(schema)
  if (!m) throw new Error('no datasource block')
  const rest = schema.slice(m.index + m[0].length)
  if (/^\s*generator\s+\w+\s*\{/m.test(rest)) throw new Error('a generator block after the datasource block')
  return rest.trim()
}

/**
 * Under relationMode = "prisma", Prisma rejects a self-relation with cascading actions (P1012
 * "A self-relation must have `onDelete` and `onUpdate` referential actions set to `NoAction`"),
 * and on PostgreSQL it rejects `NoAction` itself in that mode ("use `Restrict` instead"): such
 * relations get `onDelete: Restrict, onUpdate: Restrict`, the one change made to the
 * reference's models (checked by prisma validate: Restrict/Restrict is the only accepted form).
 */
export function selfRelationsRestrict(models: string): string {
  let current = ''
  return models
    .split('\n')
    .map((line) => {
      const head = /^model\s+(\w+)\s*\{/.exec(line)
      if (head) current = head[1]!
      const rel = /^(\s+\w+\s+)(\w+)(\??\s+@relation\()(.*)\)(.*)$/.exec(line)
      if (!rel || rel[2] !== current || !/fields\s*:/.test(rel[4]!)) return line
      const args = rel[4]!.split(/,\s*(?![^[]*\])/).filter((a) => !/^\s*on(Delete|Update)\s*:/.test(a))
      return `${rel[1]}${rel[2]}${rel[3]}${[...args, 'onDelete: Restrict', 'onUpdate: Restrict'].join(', ')})${rel[5]}`
    })
    .join('\n')
}

export function relationModePrismaVariant(reference: string): string {
  return [
    '// The reference schema (prisma/schema.prisma) with relationMode = "prisma": referential',
    '// actions are emulated by Prisma instead of foreign keys. Derived by test/diff/variants.ts;',
    '// test/diff.test.ts checks that its models equal the reference\'s. Do not edit by hand.',
    '// One change: Prisma requires Restrict on self-relations in this mode on PostgreSQL (Team.parent).',
    '',
    'generator client {',
    '  provider = "prisma-client"',
    '  output   = "./generated/client"',
    '}',
    '',
    'datasource db {',
    '  provider     = "postgresql"',
    '  relationMode = "prisma"',
    '}',
    '',
    selfRelationsRestrict(modelsBlock(reference)),
    '',
  ].join('\n')
}

if (import.meta.url === `file://${process.argv[1]}`) {
  writeFileSync(RELATION_MODE_PRISMA, relationModePrismaVariant(readFileSync(REFERENCE, 'utf8')))
  console.log(`wrote ${path.relative(REPO, RELATION_MODE_PRISMA)}`)
}
