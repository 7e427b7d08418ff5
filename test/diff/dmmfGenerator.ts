// A tiny Prisma generator of the differential tester: dumps the full DMMF datamodel (with
// defaults, which the runtime datamodel and our cacheops generator leave out) to
// `<output>/dmmf.json`. Run as `node --import tsx <repo>/test/diff/dmmfGenerator.ts`.
import { mkdir, writeFile } from 'node:fs/promises'
import path from 'node:path'
import generatorHelper from '@prisma/generator-helper'

generatorHelper.generatorHandler({
  onManifest: () => ({ prettyName: 'cacheops diff DMMF dump', defaultOutput: './dmmf' }),
  onGenerate: async (options) => {
    const output = options.generator.output?.value
    if (!output) throw new Error('dmmf dump: no output directory')
    await mkdir(output, { recursive: true })
    const ds = options.datasources[0]
    const dump = { provider: ds?.activeProvider ?? ds?.provider, datamodel: options.dmmf.datamodel }
    await writeFile(path.join(output, 'dmmf.json'), JSON.stringify(dump, null, 1))
  },
})
