// The tester's view of a schema, built from the DMMF dump: models, fields (with defaults),
// relations, unique criteria. Everything the operation generator needs, and nothing else.
import { readFileSync } from 'node:fs'

export interface DmmfFieldJson {
  name: string
  dbName?: string | null
  kind: 'scalar' | 'object' | 'enum' | 'unsupported'
  type: string
  isList: boolean
  isRequired: boolean
  isId: boolean
  isUnique: boolean
  isUpdatedAt?: boolean
  hasDefaultValue: boolean
  default?: unknown
  relationName?: string | null
  relationFromFields?: string[] | null
  relationToFields?: string[] | null
  relationOnDelete?: string | null
  relationOnUpdate?: string | null
  nativeType?: [string, string[]] | null
}

interface DmmfJson {
  provider: string
  datamodel: {
    enums: { name: string; dbName?: string | null; values: { name: string }[] }[]
    models: { name: string; dbName?: string | null; fields: DmmfFieldJson[]; primaryKey?: { name?: string | null; fields: string[] } | null; uniqueIndexes: { name?: string | null; fields: string[] }[] }[]
  }
}

export interface SField {
  name: string
  dbName: string
  kind: 'scalar' | 'enum'
  type: string
  isList: boolean
  isRequired: boolean
  isId: boolean
  isUnique: boolean
  isUpdatedAt: boolean
  hasDefault: boolean
  /** autoincrement (left to the database), dynamic (uuid/cuid/now/dbgenerated...: given explicitly), static, or none. */
  defaultKind: 'autoincrement' | 'dynamic' | 'static' | 'none'
  enumValues: string[]
  nativeType: string | null
  /** Part of a foreign key. */
  isFk: boolean
}

export interface SRelation {
  name: string
  /** Target model. */
  type: string
  isList: boolean
  isRequired: boolean
  relationName: string
  /** Non-empty on the side holding the foreign key. */
  fromFields: string[]
  toFields: string[]
  /** The field on the other side. */
  back: string
  /** The FK side's fields are all optional (disconnect allowed). */
  optional: boolean
  /** Implicit many-to-many. */
  m2m: boolean
}

export interface SUnique {
  /** Prisma's where key: the field name, or the compound's name (`a_b`). */
  key: string
  fields: string[]
}

export interface SModel {
  name: string
  dbName: string
  delegate: string
  scalars: SField[]
  relations: SRelation[]
  idFields: string[]
  /** Every unique criterion: the id (single or compound), @unique fields, @@unique. */
  uniques: SUnique[]
  /** Fields giving a total order (the id, or the first all-required unique). */
  orderKey: string[]
}

export interface SchemaInfo {
  models: SModel[]
  byName: Record<string, SModel>
  enums: Record<string, { dbName: string; values: string[] }>
  /** Names of @updatedAt fields (masked in comparisons). */
  updatedAtFields: Set<string>
  /** Column names of @updatedAt fields, per table (masked in content dumps). */
  updatedAtColumns: Record<string, string[]>
}

const lowerFirst = (s: string) => s.charAt(0).toLowerCase() + s.slice(1)

function defaultKind(f: DmmfFieldJson): SField['defaultKind'] {
  if (!f.hasDefaultValue) return 'none'
  const d = f.default as { name?: string } | undefined
  if (d && typeof d === 'object' && !Array.isArray(d) && typeof d.name === 'string') return d.name === 'autoincrement' ? 'autoincrement' : d.name === 'sequence' ? 'autoincrement' : 'dynamic'
  return 'static'
}

export function loadSchemaInfo(dmmfJsonPath: string): SchemaInfo {
  const dmmf = JSON.parse(readFileSync(dmmfJsonPath, 'utf8')) as DmmfJson
  const enums: SchemaInfo['enums'] = {}
  for (const e of dmmf.datamodel.enums) enums[e.name] = { dbName: e.dbName ?? e.name, values: e.values.map((v) => v.name) }
  const raw = dmmf.datamodel.models
  const models: SModel[] = raw.map((m) => {
    const fks = new Set(m.fields.flatMap((f) => f.relationFromFields ?? []))
    const scalars: SField[] = m.fields
      .filter((f) => f.kind === 'scalar' || f.kind === 'enum')
      .map((f) => ({
        name: f.name,
        dbName: f.dbName ?? f.name,
        kind: f.kind as 'scalar' | 'enum',
        type: f.type,
        isList: f.isList,
        isRequired: f.isRequired,
        isId: f.isId,
        isUnique: f.isUnique,
        isUpdatedAt: f.isUpdatedAt ?? false,
        hasDefault: f.hasDefaultValue,
        defaultKind: defaultKind(f),
        enumValues: f.kind === 'enum' ? (enums[f.type]?.values ?? []) : [],
        nativeType: f.nativeType?.[0] ?? null,
        isFk: fks.has(f.name),
      }))
    const relations: SRelation[] = m.fields
      .filter((f) => f.kind === 'object')
      .map((f) => {
        const other = raw.find((o) => o.name === f.type)!
        const back = other.fields.find((o) => o.kind === 'object' && o.relationName === f.relationName && !(o.type === m.name && o.name === f.name))
        const from = f.relationFromFields ?? []
        return {
          name: f.name,
          type: f.type,
          isList: f.isList,
          isRequired: f.isRequired,
          relationName: f.relationName ?? '',
          fromFields: from,
          toFields: f.relationToFields ?? [],
          back: back?.name ?? '',
          optional: from.length > 0 ? from.every((n) => !m.fields.find((x) => x.name === n)!.isRequired) : false,
          m2m: f.isList && !!back?.isList,
        }
      })
    const idFields = m.primaryKey?.fields ?? m.fields.filter((f) => f.isId).map((f) => f.name)
    const uniques: SUnique[] = []
    if (idFields.length === 1) uniques.push({ key: idFields[0]!, fields: idFields })
    else if (idFields.length > 1) uniques.push({ key: m.primaryKey?.name || idFields.join('_'), fields: idFields })
    for (const f of m.fields) if (f.isUnique) uniques.push({ key: f.name, fields: [f.name] })
    for (const u of m.uniqueIndexes) uniques.push({ key: u.name || u.fields.join('_'), fields: u.fields })
    const required = (fs: string[]) => fs.every((n) => m.fields.find((x) => x.name === n)?.isRequired)
    const orderKey = idFields.length ? idFields : (uniques.find((u) => required(u.fields))?.fields ?? uniques[0]?.fields ?? [])
    return { name: m.name, dbName: m.dbName ?? m.name, delegate: lowerFirst(m.name), scalars, relations, idFields, uniques, orderKey }
  })
  const updatedAtFields = new Set<string>()
  const updatedAtColumns: Record<string, string[]> = {}
  for (const m of models)
    for (const f of m.scalars)
      if (f.isUpdatedAt) {
        updatedAtFields.add(f.name)
        ;(updatedAtColumns[m.dbName] ??= []).push(f.dbName)
      }
  return { models, byName: Object.fromEntries(models.map((m) => [m.name, m])), enums, updatedAtFields, updatedAtColumns }
}
