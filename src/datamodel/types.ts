/**
 * The datamodel prisma-cacheops needs at runtime. Prisma 7's runtime datamodel is
 * stripped of ids, uniques, foreign keys and referential actions, so our generator
 * (src/generator) writes this structure from the full DMMF.
 */

export type ReferentialAction = 'Cascade' | 'Restrict' | 'NoAction' | 'SetNull' | 'SetDefault'

export interface ScalarFieldInfo {
  readonly kind: 'scalar' | 'enum'
  /** Prisma scalar type (`Int`, `String`, `DateTime`, ...) or the enum name. */
  readonly type: string
  readonly dbName: string
  readonly isList: boolean
  readonly isRequired: boolean
  readonly isId: boolean
  readonly isUnique: boolean
  readonly isUpdatedAt: boolean
  readonly hasDefault: boolean
  /** Native database type (`Uuid`, `Decimal`, ...) when the schema names one. */
  readonly nativeType?: string | null
  /** An enum field's values (absent from a datamodel written by an older generator). */
  readonly values?: readonly string[]
}

export interface RelationFieldInfo {
  readonly kind: 'relation'
  /** Target model name. */
  readonly type: string
  readonly isList: boolean
  readonly isRequired: boolean
  readonly relationName: string
  /** Foreign-key fields on this model (empty on the side without the FK). */
  readonly fromFields: readonly string[]
  /** Referenced fields on the target model (empty on the side without the FK). */
  readonly toFields: readonly string[]
  /** Effective actions, Prisma's defaults applied when the schema is silent. */
  readonly onDelete: ReferentialAction
  readonly onUpdate: ReferentialAction
}

export type FieldInfo = ScalarFieldInfo | RelationFieldInfo

export interface UniqueInfo {
  /** The key Prisma uses for it in a `WhereUniqueInput` (`authorId_title`). */
  readonly name: string
  readonly fields: readonly string[]
}

export interface ModelInfo {
  readonly name: string
  readonly dbName: string
  readonly idFields: readonly string[]
  /** Compound ids and compound uniques (single-field ones are plain fields). */
  readonly compoundUniques: readonly UniqueInfo[]
  readonly fields: { readonly [field: string]: FieldInfo }
  /**
   * A `view` block (Prisma's views preview feature): its rows change when the tables it
   * selects from change, which no datamodel says, so reads that reach it are never cached.
   */
  readonly isView?: boolean
}

export interface ImplicitManyToMany {
  readonly table: string
  readonly relationName: string
  /** Column A references this model, B the other (alphabetical model order). */
  readonly A: string
  readonly B: string
}

export interface CacheopsDatamodel {
  readonly version: 1
  readonly provider: string
  /**
   * `prisma` when the schema sets `relationMode = "prisma"`: Prisma emulates referential
   * actions with statements of its own, and a write that fails may have run some of them
   * (absent from a datamodel written by an older generator: foreign keys).
   */
  readonly relationMode?: 'foreignKeys' | 'prisma'
  readonly models: { readonly [model: string]: ModelInfo }
  readonly implicitManyToMany: readonly ImplicitManyToMany[]
}
