// relationMode = "prisma": Prisma emulates referential actions with statements of its own,
// outside any transaction. A write that fails may already have run some of them: it must
// invalidate what they may have changed (the differential tester found the stale read below).
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { relationModeOf } from '../src/generator/fromDmmf.ts'
import { openEnv, type DiffEnv } from './diff/env.ts'
import { REPO } from './diff/prepare.ts'
import type { AnyClient } from './diff/exec.ts'

describe('the generator records relationMode', () => {
  it('reads it off the datasource block, not comments or other blocks', () => {
    expect(relationModeOf('datasource db {\n  provider = "postgresql"\n  relationMode = "prisma"\n}')).toBe('prisma')
    expect(relationModeOf('datasource db {\n  provider = "postgresql"\n  // relationMode = "prisma"\n}')).toBe('foreignKeys')
    expect(relationModeOf('datasource db {\n  provider = "postgresql"\n}\nmodel A {\n  id Int @id\n  relationMode String @default("x")\n}')).toBe('foreignKeys')
    expect(relationModeOf('datasource db {\n  relationMode = "foreignKeys"\n}')).toBe('foreignKeys')
  })
})

describe('a failed write under relationMode = "prisma"', () => {
  let env: DiffEnv
  let prisma: AnyClient
  beforeAll(async () => {
    env = await openEnv(path.join(REPO, 'test/schemas/relation-mode-prisma.prisma'), { dbTag: 'unit' })
    expect(env.schema.name).toBe('relation_mode_prisma')
  }, 120_000)
  afterAll(async () => {
    await env?.close()
  })

  it('records the mode in the generated datamodel', async () => {
    const { datamodel } = (await import(env.schema.datamodelModule)) as { datamodel: { relationMode?: string } }
    expect(datamodel.relationMode).toBe('prisma')
  })

  it("a key update that fails with P2002 after Prisma's emulated ON UPDATE CASCADE ran: the children's cached reads go", async () => {
    await env.reset()
    prisma = await env.freshCached()
    const base = env.plainA as any
    const cached = prisma as any
    await base.room.createMany({ data: [{ id: 7, name: 'a' }, { id: 2, name: 'b' }] })
    await base.booking.createMany({ data: [{ roomId: 2, hour: 2, note: 'n' }] })
    const read = (c: any) => c.booking.aggregate({ _count: { _all: true }, _max: { roomId: true } })
    expect(await read(cached)).toEqual({ _count: { _all: 1 }, _max: { roomId: 2 } })
    // Room 7 exists: the update fails, but Prisma has already re-pointed the booking.
    await expect(cached.room.update({ where: { id: 2 }, data: { id: 7 } })).rejects.toMatchObject({ code: 'P2002' })
    const now = await read(base)
    expect(now).toEqual({ _count: { _all: 1 }, _max: { roomId: 7 } })
    expect(await read(cached)).toEqual(now)
  })

  it('the same write as a batch transaction of one: Prisma runs it as a plain call, its emulated cascade stays', async () => {
    await env.reset()
    prisma = await env.freshCached()
    const base = env.plainA as any
    const cached = prisma as any
    await base.room.createMany({ data: [{ id: 7, name: 'a' }, { id: 2, name: 'b' }] })
    await base.booking.createMany({ data: [{ roomId: 2, hour: 2, note: 'n' }] })
    const read = (c: any) => c.booking.findMany({ where: { roomId: 2 } })
    expect(await read(cached)).toHaveLength(1)
    await expect(cached.$transaction([cached.room.update({ where: { id: 2 }, data: { id: 7 } })])).rejects.toMatchObject({ code: 'P2002' })
    expect(await read(base)).toEqual([])
    expect(await read(cached)).toEqual([])
  })
})
