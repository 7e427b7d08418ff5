import { mkdir, writeFile } from 'node:fs/promises'
import path from 'node:path'
import generatorHelper from '@prisma/generator-helper'
import { datamodelFromDmmf, renderDatamodelModule, type DmmfModel } from './fromDmmf.js'

generatorHelper.generatorHandler({
  onManifest: () => ({ prettyName: 'prisma-cacheops datamodel', defaultOutput: './generated/cacheops' }),
  onGenerate: async (options) => {
    const output = options.generator.output?.value
    if (!output) throw new Error('prisma-cacheops-generator: no output directory')
    const provider = options.datasources[0]?.activeProvider ?? options.datasources[0]?.provider ?? 'postgresql'
    const dm = datamodelFromDmmf(options.dmmf.datamodel.models as unknown as DmmfModel[], provider)
    await mkdir(output, { recursive: true })
    await writeFile(path.join(output, 'index.ts'), renderDatamodelModule(dm))
  },
})
