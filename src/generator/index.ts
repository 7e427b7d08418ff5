/**
 * `prisma-cacheops/generator`: the datamodel generator as functions, for tools that run
 * Prisma's DMMF themselves (the `prisma-cacheops-generator` bin is `bin.ts`).
 */
export { datamodelFromDmmf, relationModeOf, renderDatamodelModule, viewNamesOf, type DmmfEnum, type DmmfField, type DmmfModel } from './fromDmmf.js'
