import { describe, expect, it } from 'vitest'
import { modelsWrittenBySql } from '../src/invalidation/rawSql.ts'
import { datamodel } from '../prisma/generated/cacheops/index.ts'

const models = (sql: string) => {
  const r = modelsWrittenBySql(datamodel, sql)
  return r === 'all' ? r : [...r].sort()
}

describe('modelsWrittenBySql', () => {
  it('names the written table, mapped through @@map, quoted or not, schema-qualified', () => {
    expect(models('UPDATE "Setting" SET value = $1')).toEqual(['Setting'])
    expect(models('update setting set value = 1')).toEqual(['Setting'])
    expect(models('UPDATE public."Setting" SET value = 1')).toEqual(['Setting'])
    expect(models('UPDATE "groups" SET display_name = $1')).toEqual(['Group', 'Membership']) // key update may cascade
    expect(models('INSERT INTO `Tag` (name) VALUES (?)')).toEqual(['Tag'])
  })

  it('adds what referential actions reach', () => {
    expect(models('DELETE FROM "User" WHERE id = 1')).toEqual(['Comment', 'Membership', 'Post', 'Profile', 'User'])
    expect(models('DELETE FROM "Category"')).toEqual(['Category', 'Post']) // SET NULL
    expect(models('INSERT INTO "Post" (title) VALUES ($1)')).toEqual(['Post']) // inserts cascade nowhere
  })

  it('maps implicit many-to-many join tables to both sides', () => {
    expect(models('INSERT INTO "_PostToTag" ("A", "B") VALUES (1, 2)')).toEqual(['Post', 'Tag'])
  })

  it('handles upserts, CTEs, several statements and several tables', () => {
    expect(models("INSERT INTO \"Tag\" (name) VALUES ('x') ON CONFLICT (name) DO UPDATE SET name = excluded.name")).toEqual(['Tag'])
    expect(models('WITH d AS (DELETE FROM "Comment" RETURNING *) SELECT count(*) FROM d')).toEqual(['Comment'])
    // Tag's implicit many-to-many links to Post go with it.
    expect(models('TRUNCATE "Setting", "Tag"')).toEqual(['Post', 'Setting', 'Tag'])
    expect(models('UPDATE "Setting" SET value = 1; DELETE FROM "Tag"')).toEqual(['Setting', 'Tag'])
  })

  it('ignores keywords inside strings and comments', () => {
    expect(models(`UPDATE "Setting" SET value = 'delete from "User"' -- update "Post"`)).toEqual(['Setting'])
    expect(models('UPDATE "Setting" SET value = $$ insert into "User" $$ /* drop table "Tag" */')).toEqual(['Setting'])
  })

  it('scans literals and comments in one pass: a -- inside a literal is no comment, E\'\' escapes', () => {
    expect(models(`UPDATE "Tag" SET name = '--'; UPDATE "Setting" SET value = 1`)).toEqual(['Setting', 'Tag'])
    expect(models(`UPDATE "Tag" SET name = E'it\\'s'; UPDATE "Setting" SET value = 1`)).toEqual(['Setting', 'Tag'])
    expect(models(`UPDATE "Tag" SET name = '/*'; UPDATE "Setting" SET value = 1 -- */`)).toEqual(['Setting', 'Tag'])
    // A backslash in a plain literal escapes the quote on some servers only: cannot be told.
    expect(models(`UPDATE "Tag" SET name = 'a\\'; UPDATE "Setting" SET value = 1`)).toBe('all')
  })

  it('TRUNCATE empties every referencing table, whatever its ON DELETE action', () => {
    // Post.category is SET NULL on delete, but TRUNCATE "Category" CASCADE truncates Post too.
    expect(models('TRUNCATE "Category" CASCADE')).toEqual(expect.arrayContaining(['Category', 'Post', 'Comment']))
  })

  it('says all when the tables cannot be told', () => {
    expect(models('SELECT refresh_everything()')).toBe('all')
    expect(models('CALL do_things()')).toBe('all')
    expect(models('DO $$ BEGIN UPDATE "Tag" SET name = name; END $$')).toBe('all')
    expect(models('UPDATE "not_a_model_table" SET x = 1')).toBe('all')
    expect(models("select 'update \"User\"'")).toBe('all')
  })
})
