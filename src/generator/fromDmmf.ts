import type {
  CacheopsDatamodel,
  FieldInfo,
  ImplicitManyToMany,
  ModelInfo,
  ReferentialAction,
} from '../datamodel/types.js'

/** The part of Prisma's DMMF we read; kept structural so tests can feed plain objects. */
export interface DmmfField {
  name: string
  kind: 'scalar' | 'object' | 'enum' | 'unsupported'
  type: string
  dbName?: string | null
  isList: boolean
  isRequired: boolean
  isId: boolean
  isUnique: boolean
  isUpdatedAt?: boolean
  hasDefaultValue: boolean
  relationName?: string | null
  relationFromFields?: readonly string[] | null
  relationToFields?: readonly string[] | null
  relationOnDelete?: string | null
  relationOnUpdate?: string | null
  nativeType?: readonly [string, readonly string[]] | null
}
export interface DmmfEnum {
  name: string
  values: readonly { name: string }[]
}
export interface DmmfModel {
  name: string
  dbName?: string | null
  fields: readonly DmmfField[]
  primaryKey?: { name?: string | null; fields: readonly string[] } | null
  uniqueIndexes: readonly { name?: string | null; fields: readonly string[] }[]
}

/**
 * Builds the runtime datamodel from the DMMF a generator receives. Prisma only
 * reports referential actions the schema spells out, so its defaults are applied
 * here: onDelete SetNull for an optional relation, Restrict for a required one,
 * onUpdate Cascade.
 */
export function datamodelFromDmmf(
  models: readonly DmmfModel[],
  provider: string,
  enums: readonly DmmfEnum[] = [],
  views: readonly string[] = [],
  relationMode: 'foreignKeys' | 'prisma' = 'foreignKeys',
): CacheopsDatamodel {
  const out: Record<string, ModelInfo> = {}
  const enumValues = new Map(enums.map((e) => [e.name, e.values.map((v) => v.name)]))
  const m2m: ImplicitManyToMany[] = []
  for (const model of models) {
    const fields: Record<string, FieldInfo> = {}
    for (const f of model.fields) {
      if (f.kind === 'object') {
        const from = f.relationFromFields ?? []
        const optional = from.length > 0 && from.some((n) => !model.fields.find((x) => x.name === n)?.isRequired)
        fields[f.name] = {
          kind: 'relation',
          type: f.type,
          isList: f.isList,
          isRequired: f.isRequired,
          relationName: f.relationName ?? '',
          fromFields: [...from],
          toFields: [...(f.relationToFields ?? [])],
          onDelete: action(f.relationOnDelete, optional ? 'SetNull' : 'Restrict'),
          onUpdate: action(f.relationOnUpdate, 'Cascade'),
        }
        if (f.isList && from.length === 0) {
          const other = models.find((m) => m.name === f.type)
          const back = other?.fields.find((x) => x.kind === 'object' && x.relationName === f.relationName && (x.type !== model.name || x.name !== f.name))
          if (back && back.isList && model.name <= f.type && !m2m.some((r) => r.relationName === f.relationName)) {
            m2m.push({ table: `_${f.relationName}`, relationName: f.relationName ?? '', A: model.name, B: f.type })
          }
        }
      } else if (f.kind === 'scalar' || f.kind === 'enum') {
        fields[f.name] = {
          kind: f.kind,
          type: f.type,
          dbName: f.dbName ?? f.name,
          isList: f.isList,
          isRequired: f.isRequired,
          isId: f.isId,
          isUnique: f.isUnique,
          isUpdatedAt: f.isUpdatedAt ?? false,
          hasDefault: f.hasDefaultValue,
          nativeType: f.nativeType?.[0] ?? null,
          // Client-side names (not @map's database ones): what queries and results carry.
          ...(f.kind === 'enum' && enumValues.has(f.type) ? { values: enumValues.get(f.type) } : {}),
        }
      }
    }
    const idFields = model.primaryKey?.fields ?? model.fields.filter((f) => f.isId).map((f) => f.name)
    const compoundUniques = [
      ...(model.primaryKey ? [model.primaryKey] : []),
      ...model.uniqueIndexes,
    ]
      .filter((u) => u.fields.length > 1)
      .map((u) => ({ name: u.name || u.fields.join('_'), fields: [...u.fields] }))
    out[model.name] = { name: model.name, dbName: model.dbName ?? model.name, idFields: [...idFields], compoundUniques, fields, ...(views.includes(model.name) ? { isView: true } : {}) }
  }
  return { version: 1, provider, ...(relationMode === 'prisma' ? { relationMode } : {}), models: out, implicitManyToMany: m2m }
}

/**
 * Names of the `view` blocks of a schema's text. The DMMF gives views as models, with
 * nothing to tell them apart, so the generator reads them off the schema (comments and
 * strings cannot start a line with `view Name {`).
 */
export function viewNamesOf(schema: string): string[] {
  return [...schema.matchAll(/^[ \t]*view[ \t]+([A-Za-z_][A-Za-z0-9_]*)[ \t]*\{/gm)].map((m) => m[1]!)
}

/** The datasource's `relationMode` (Prisma's default, `foreignKeys`, when the schema is silent). */
export function relationModeOf(schema: string): 'foreignKeys' | 'prisma' {
  const datasource = /^[ \t]*datasource[ \t]+\w+[ \t]*\{([^}]*)\}/m.exec(schema)?.[1] ?? ''
  const lines = datasource.split('\n').map((line) => line.replace(/\/\/.*$/, ''))
  return lines.some((line) => /^\s*relationMode\s*=\s*"prisma"\s*$/.test(line)) ? 'prisma' : 'foreignKeys'
}

function action(given: string | null | undefined, fallback: ReferentialAction): ReferentialAction {
  const known: readonly string[] = ['Cascade', 'Restrict', 'NoAction', 'SetNull', 'SetDefault']
  return given && known.includes(given) ? (given as ReferentialAction) : fallback
}

/**
 * Source of the generated `index.ts`: the datamodel as a typed constant. With `prismaImport`
 * (where the Prisma client's `Prisma` namespace comes from), its type also carries each
 * model's where input, so that `cachedAs` dependencies are checked against the model.
 */
export function renderDatamodelModule(dm: CacheopsDatamodel, prismaImport?: string): string {
  const lines = ['// Generated by prisma-cacheops-generator. Do not edit: run `prisma generate`.', '/* eslint-disable */']
  if (prismaImport) {
    lines.push(
      `import type { Prisma } from ${JSON.stringify(prismaImport)}`,
      '',
      '/** Each model\'s where input, for typing (no runtime value). */',
      'export interface CacheopsWhereInputs {',
      ...Object.keys(dm.models).map((m) => `  ${m}: Prisma.${m}WhereInput`),
      '}',
      '',
      `const raw = ${JSON.stringify(dm, null, 2)} as const`,
      "export const datamodel: typeof raw & { readonly '~where'?: CacheopsWhereInputs } = raw",
    )
  } else {
    lines.push(`export const datamodel = ${JSON.stringify(dm, null, 2)} as const`)
  }
  lines.push('export default datamodel', '')
  return lines.join('\n')
}
