// Does the differential tester find the bugs of issue 20? Each mutant is a copy of src/ with
// one fix reverted (a small text edit, which fails loudly once the code it edits has moved);
// the tester runs against it (--lib) until it finds a mismatch or the budget ends.
//
//   npx tsx test/diff/mutants.ts [--seconds N] [--seed S] [name ...]
import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { formatReport, runDiff } from './index.ts'
import { GENERATED, REPO } from './prepare.ts'

interface Mutant {
  /** What reverting the edit brings back. */
  bug: string
  edits: { file: string; from: string; to: string }[]
}

export const MUTANTS: Record<string, Mutant> = {
  batch: {
    bug: '1. a batch transaction ignores referential actions (cascades, SET NULL, re-keys)',
    edits: [{ file: 'runtime/writePath.ts', from: '    for (const m of reach) modelWide.add(m)\n    c.scope.pending.push', to: '    c.scope.pending.push' }],
  },
  depths: {
    bug: '2. a nested write reaching one model at two depths loses the deeper rows',
    edits: [
      { file: 'invalidation/nested.ts', from: '    let list = out.get(field.type)\n    if (!list) out.set(field.type, (list = []))', to: '    const list = out.get(field.type) ?? []' },
      {
        file: 'invalidation/nested.ts',
        from: '      rowsOfNestedRead(dm, field.type, sel.select, child, out, overflow)\n    }\n',
        to: '      rowsOfNestedRead(dm, field.type, sel.select, child, out, overflow)\n    }\n    out.set(field.type, list)\n',
      },
    ],
  },
  noid: {
    bug: '3. models without @id: rows are not found again (no identity)',
    edits: [{ file: 'datamodel/identity.ts', from: 'fields = model.idFields.length > 0 ? model.idFields : (firstRequiredUnique(model) ?? [])', to: 'fields = model.idFields' }],
  },
  connect: {
    bug: '4. a foreign key changed through connect skips ON UPDATE CASCADE',
    edits: [
      { file: 'invalidation/cascades.ts', from: 'if (field.fromFields.length > 0) changed.push(...field.fromFields)', to: 'if (field.fromFields.length > 0) {}' },
      { file: 'invalidation/writes.ts', from: "if (f?.kind === 'relation') for (const from of f.fromFields) out.add(from)", to: '' },
    ],
  },
  retry: {
    bug: 'error case: a nested write failing in a transaction is retried (P2002 instead of P2025)',
    edits: [{ file: 'runtime/writePath.ts', from: '} else if (c.scope && nestedPlan) {', to: '} else if (false) {' }],
  },
}

/** Writes the mutant's copy of src/ and returns its entry module. */
export function buildMutant(name: string): string {
  const m = MUTANTS[name]
  if (!m) throw new Error(`unknown mutant ${name} (${Object.keys(MUTANTS).join(', ')})`)
  const dir = path.join(GENERATED, 'mutants', name)
  rmSync(dir, { recursive: true, force: true })
  cpSync(path.join(REPO, 'src'), path.join(dir, 'src'), { recursive: true })
  for (const e of m.edits) {
    const file = path.join(dir, 'src', e.file)
    const text = readFileSync(file, 'utf8')
    if (!text.includes(e.from)) throw new Error(`mutant ${name}: src/${e.file} no longer has the code it reverts:\n${e.from}`)
    writeFileSync(file, text.replace(e.from, e.to))
  }
  return path.join(dir, 'src/index.ts')
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2)
  let seconds = 300
  let seed = 1
  const names: string[] = []
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--seconds') seconds = Number(args[++i])
    else if (args[i] === '--seed') seed = Number(args[++i])
    else names.push(args[i]!)
  }
  const rows: string[] = []
  for (const name of names.length ? names : Object.keys(MUTANTS)) {
    const lib = buildMutant(name)
    const r = await runDiff({ schema: path.join(REPO, 'prisma/schema.prisma'), seconds, seed, lib, dbTag: 'mutant', shrinkSeconds: 60 })
    console.log(`\n=== mutant ${name}: ${MUTANTS[name]!.bug}\n${formatReport(r)}`)
    const m = r.mismatch
    rows.push(`${name.padEnd(8)} ${m ? `found after ${m.foundAfterOps} operations (${(m.foundAfterMs / 1000).toFixed(1)} s), ${m.kind}, shrunk to ${m.ops.length}` : `not found in ${seconds} s (${r.stats.ops} operations)`}`)
  }
  console.log(`\nseed ${seed}, reference schema:\n${rows.join('\n')}`)
  process.exit(0)
}
