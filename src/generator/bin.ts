import { mkdir, writeFile } from 'node:fs/promises'
import path from 'node:path'
import generatorHelper from '@prisma/generator-helper'
import { datamodelFromDmmf, relationModeOf, renderDatamodelModule, viewNamesOf, type DmmfEnum, type DmmfModel } from './fromDmmf.js'

generatorHelper.generatorHandler({
  onManifest: () => ({ prettyName: 'prisma-cacheops datamodel', defaultOutput: './generated/cacheops' }),
  onGenerate: async (options) => {
    const output = options.generator.output?.value
    if (!output) throw new Error('prisma-cacheops-generator: no output directory')
    const provider = options.datasources[0]?.activeProvider ?? options.datasources[0]?.provider ?? 'postgresql'
    const { models, enums } = options.dmmf.datamodel
    const dm = datamodelFromDmmf(models as unknown as DmmfModel[], provider, enums as unknown as DmmfEnum[], viewNamesOf(options.datamodel), relationModeOf(options.datamodel))
    await mkdir(output, { recursive: true })
    await writeFile(path.join(output, 'index.ts'), renderDatamodelModule(dm, prismaImportFor(options.otherGenerators, output)))
  },
})

/**
 * Where the `Prisma` namespace of the schema's client can be imported from, seen from our
 * output: the `prisma-client` generator's output (with its import file extension, `.js` by
 * default, which TypeScript maps to `.ts`), or `@prisma/client` for `prisma-client-js`.
 */
function prismaImportFor(generators: readonly { provider: { value: string | null }; output?: { value: string | null } | null; config: Record<string, unknown> }[], output: string): string | undefined {
  const client = generators.find((g) => g.provider.value === 'prisma-client')
  if (client?.output?.value) {
    let rel = path.relative(output, client.output.value).split(path.sep).join('/')
    if (!rel.startsWith('.')) rel = `./${rel}`
    const ext = typeof client.config.importFileExtension === 'string' ? client.config.importFileExtension : 'js'
    return `${rel}/client${ext ? `.${ext}` : ''}`
  }
  if (generators.some((g) => g.provider.value === 'prisma-client-js')) return '@prisma/client'
  return undefined
}
