// Write operations: every kind of write the cache must see (single-row, mass, nested,
// referential actions, key changes, raw SQL, transactions) plus hot same-row writes.
// Many fail legitimately under concurrency (unique or foreign key violations, rows deleted
// by another worker, deadlocks): the worker counts those as write errors, not failures.
import { Prisma } from '../../prisma/generated/client/client.ts'
import type { Rng } from './rng.ts'
import {
  CATEGORIES, COLD_POSTS, HOT_AUTHORS, HOT_POSTS, POSTS, ROLES, SETTING_KEYS, SLUGS, TAGS, TENANTS, TITLES, USERS, SPARE_POST_OFFSET, SPARE_USER_OFFSET, emailOf, errorCode, hotTitle, type Db,
} from './world.ts'

/** What a write may do besides writing. */
export interface WriteContext {
  /** A catalogued read through `client` (default: the cached client of this worker). */
  read(shape: string, params: Record<string, unknown>, client?: Db): Promise<unknown>
}

export interface WriteOp {
  readonly name: string
  /**
   * A single-row write (invalidated granularly): the only kind in 'rows' phases, where no
   * mass, nested or raw write wipes a model, so a stale entry survives until the check.
   */
  readonly row?: boolean
  /** A hot same-row write: the only kind in 'hot' phases. */
  readonly hot?: boolean
  readonly weight: number
  run(db: Db, r: Rng, ctx: WriteContext): Promise<void>
}

/** Thrown inside an interactive transaction to roll it back on purpose. */
export class Rollback extends Error {
  override name = 'Rollback'
}

const orNull = <T>(r: Rng, v: T, p = 0.25): T | null => (r.chance(p) ? null : v)

/** Runs concurrently, waits for all, then rethrows the first failure (if any). */
async function all(tasks: Promise<unknown>[]): Promise<void> {
  const results = await Promise.allSettled(tasks)
  const failed = results.find((x) => x.status === 'rejected')
  if (failed) throw (failed as PromiseRejectedResult).reason
}

/** Updates a hot post; if a cascade deleted it, brings it back (same id, its own title). */
async function moveHot(db: Db, id: number, data: { authorId?: number; published?: boolean; views?: { increment: number } }): Promise<void> {
  try {
    await db.post.update({ where: { id }, data })
  } catch (err) {
    const code = errorCode(err)
    if (code === 'P2025') {
      await db.post.create({ data: { id, title: hotTitle(id), authorId: data.authorId ?? HOT_AUTHORS[id % HOT_AUTHORS.length]!, published: data.published ?? false } })
    } else if (code === 'P2003' && data.authorId !== undefined) {
      // The author was deleted (or re-keyed away): bring it back for the next move, and
      // still count this one as refused.
      await db.user.create({ data: { id: data.authorId, email: emailOf(data.authorId), name: `hot ${data.authorId}` } }).catch(() => {})
      throw err
    } else throw err
  }
}

export const WRITE_OPS: readonly WriteOp[] = [
  // --- Concurrent same-row writes: several workers in several processes move the same few
  // posts between a few authors (the same field, A→B here while A→C there) while
  // `post.findMany({ where: { authorId } })` keeps caching. A writer that invalidates with
  // a stale pre-image leaves an entry claiming the post for an author it already left.
  { name: 'hot: post.update authorId', row: true, hot: true, weight: 10, run: (db, r) => moveHot(db, r.pick(HOT_POSTS), { authorId: r.pick(HOT_AUTHORS) }) },
  { name: 'hot: post.update published / views', row: true, hot: true, weight: 3, run: (db, r) => moveHot(db, r.pick(HOT_POSTS), r.chance(0.5) ? { published: r.chance(0.5) } : { views: { increment: r.range(1, 4) } }) },
  {
    // Two writers of one row at once from this worker too, while it keeps re-reading both
    // targets, so some read leases between one write's invalidation and the other's commit.
    name: 'hot: race two authorId updates',
    row: true,
    hot: true,
    weight: 5,
    run: async (db, r, ctx) => {
      const id = r.pick(HOT_POSTS)
      const [a, b] = r.sample(HOT_AUTHORS, 2) as [number, number]
      const reread = async (authorId: number) => {
        for (let k = 0; k < 3; k++) {
          await ctx.read('post.findMany(id, authorId)', { id, authorId })
          await ctx.read(r.pick(['post.findMany(hot, authorId)', 'post.findMany(authorId)']), { authorId })
        }
      }
      await all([moveHot(db, id, { authorId: a }), moveHot(db, id, { authorId: b }), reread(a), reread(b)])
    },
  },

  // --- Single-row writes (granular invalidation).
  { name: 'post.create', row: true, weight: 4, run: async (db, r) => void (await db.post.create({ data: { id: r.pick(COLD_POSTS), title: r.pick(TITLES), authorId: r.pick(USERS), categoryId: orNull(r, r.pick(CATEGORIES)), published: r.chance(0.4) } })) },
  { name: 'post.update title', row: true, weight: 3, run: async (db, r) => void (await db.post.update({ where: { id: r.pick(COLD_POSTS) }, data: { title: r.pick(TITLES) } })) },
  { name: 'post.update published', row: true, weight: 3, run: async (db, r) => void (await db.post.update({ where: { id: r.pick(COLD_POSTS) }, data: { published: r.chance(0.5) } })) },
  { name: 'post.update authorId', row: true, weight: 3, run: async (db, r) => void (await db.post.update({ where: { id: r.pick(COLD_POSTS) }, data: { authorId: r.pick(USERS) } })) },
  { name: 'post.update categoryId', row: true, weight: 2, run: async (db, r) => void (await db.post.update({ where: { id: r.pick(COLD_POSTS) }, data: { categoryId: orNull(r, r.pick(CATEGORIES)) } })) },
  { name: 'post.update views increment', row: true, weight: 3, run: async (db, r) => void (await db.post.update({ where: { id: r.pick(POSTS) }, data: { views: { increment: r.range(1, 5) } } })) },
  { name: 'post.update author connect', weight: 1, run: async (db, r) => void (await db.post.update({ where: { id: r.pick(COLD_POSTS) }, data: { author: { connect: { id: r.pick(USERS) } } } })) },
  { name: 'post.update authorId_title where', row: true, weight: 1, run: async (db, r) => void (await db.post.update({ where: { authorId_title: { authorId: r.pick(USERS), title: r.pick(TITLES) } }, data: { published: r.chance(0.5), views: { increment: 1 } } })) },
  { name: 'post.delete', row: true, weight: 2, run: async (db, r) => void (await db.post.delete({ where: { id: r.pick(COLD_POSTS) } })) },
  {
    name: 'post.upsert',
    row: true,
    weight: 3,
    run: async (db, r) => {
      const id = r.pick(COLD_POSTS)
      await db.post.upsert({
        where: { id },
        create: { id, title: r.pick(TITLES), authorId: r.pick(USERS), published: r.chance(0.5) },
        update: { published: r.chance(0.5), views: { increment: 1 }, categoryId: orNull(r, r.pick(CATEGORIES)) },
      })
    },
  },
  {
    // Key change: ON UPDATE CASCADE moves its comments and tag links along; away to a
    // spare id and back, so the id domain stays whole.
    name: 'post.update id (re-key and back)',
    weight: 1,
    run: async (db, r) => {
      const id = r.pick(COLD_POSTS)
      await db.post.update({ where: { id }, data: { id: SPARE_POST_OFFSET + id } })
      try {
        await db.post.update({ where: { id: SPARE_POST_OFFSET + id }, data: { id } })
      } catch (err) {
        await db.post.delete({ where: { id: SPARE_POST_OFFSET + id } }) // the id was taken meanwhile
        throw err
      }
    },
  },
  {
    name: 'user.update',
    row: true,
    weight: 3,
    run: async (db, r) => {
      const id = r.pick(USERS)
      const data = r.pick([
        { name: `n${r.int(4)}` },
        { role: r.pick(ROLES) },
        { score: r.int(3) / 2 },
        { balance: new Prisma.Decimal(`${r.int(5)}.${r.pick(['00', '50', '05'])}`), big: BigInt(r.int(3)) },
        { email: r.chance(0.5) ? emailOf(id) : r.pick(['alt0@x.io', 'alt1@x.io']) },
      ])
      await db.user.update({ where: { id }, data })
    },
  },
  {
    // Key change: ON UPDATE CASCADE into Post, Comment, Profile and Membership, away to a
    // spare id and back (readers see the user's rows vanish and return).
    name: 'user.update id (re-key and back)',
    weight: 1,
    run: async (db, r) => {
      const id = r.pick(USERS)
      const spare = SPARE_USER_OFFSET + id
      await db.user.update({ where: { id }, data: { id: spare } })
      try {
        await db.user.update({ where: { id: spare }, data: { id } })
      } catch (err) {
        // The id was taken meanwhile (user.create): drop the stray so the domain stays whole.
        await db.comment.deleteMany({ where: { authorId: spare } })
        await db.user.delete({ where: { id: spare } })
        throw err
      }
    },
  },
  {
    // Cascade: Post → Comment, Profile, Membership. Comments the user wrote on others'
    // posts restrict the delete, so they go first; then the user comes back (same id).
    name: 'user delete (cascade) + recreate',
    weight: 1,
    run: async (db, r) => {
      const id = r.pick(USERS)
      await db.comment.deleteMany({ where: { authorId: id } })
      await db.user.delete({ where: { id } })
      await db.user.create({
        data: {
          id, email: emailOf(id), name: `reborn ${id}`, profile: r.chance(0.5) ? { create: { bio: `bio ${r.int(3)}` } } : undefined,
          posts: r.chance(0.5) ? { create: [{ id: r.pick(COLD_POSTS), title: r.pick(TITLES), published: r.chance(0.5) }] } : undefined,
        },
      })
    },
  },
  {
    // After a delete or a re-key some ids are free: fill them.
    name: 'user.create',
    weight: 1,
    run: async (db, r) => {
      const id = r.pick(USERS)
      await db.user.create({ data: { id, email: emailOf(id), name: `new ${id}` } })
    },
  },
  {
    // ON DELETE SET NULL on Post.categoryId.
    name: 'category delete (SetNull) + recreate',
    weight: 1,
    run: async (db, r) => {
      const id = r.pick(CATEGORIES)
      await db.category.delete({ where: { id } })
      await db.category.create({ data: { id, title: `cat-${id}` } })
    },
  },
  {
    // Implicit m2m: deleting a tag drops its _PostToTag links.
    name: 'tag delete + recreate',
    weight: 1,
    run: async (db, r) => {
      const id = r.pick(TAGS)
      await db.tag.delete({ where: { id } })
      await db.tag.create({ data: { id, name: `tag-${id}`, posts: r.chance(0.5) ? { connect: [{ id: r.pick(POSTS) }] } : undefined } })
    },
  },
  {
    name: 'setting.upsert',
    row: true,
    weight: 3,
    run: async (db, r) => {
      const key = r.pick(SETTING_KEYS)
      const value = `${key}-${r.int(4)}`
      await db.setting.upsert({ where: { key }, create: { key, value }, update: { value } })
    },
  },
  { name: 'setting.delete', row: true, weight: 1, run: async (db, r) => void (await db.setting.delete({ where: { key: r.pick(SETTING_KEYS) } })) },
  { name: 'comment.create', row: true, weight: 2, run: async (db, r) => void (await db.comment.create({ data: { postId: r.pick(POSTS), authorId: r.pick(USERS), body: `b${r.int(5)}` } })) },
  {
    name: 'profile.upsert',
    row: true,
    weight: 1,
    run: async (db, r) => {
      const userId = r.pick(USERS)
      const bio = `bio ${r.int(4)}`
      await db.profile.upsert({ where: { userId }, create: { userId, bio }, update: { bio } })
    },
  },

  // --- Mass writes.
  {
    name: 'post.createMany',
    weight: 1,
    run: async (db, r) => {
      const data = r.sample(COLD_POSTS, r.range(1, 3)).map((id) => ({ id, title: r.pick(TITLES), authorId: r.pick(USERS), published: r.chance(0.5) }))
      await db.post.createMany({ data, skipDuplicates: true })
    },
  },
  {
    name: 'post.updateMany',
    weight: 1,
    run: async (db, r) => {
      if (r.chance(0.5)) await db.post.updateMany({ where: { authorId: r.pick(USERS) }, data: { published: r.chance(0.5) } })
      else await db.post.updateMany({ where: { views: { lt: r.pick([2, 5]) } }, data: { views: { increment: 1 } } })
    },
  },
  {
    name: 'post.deleteMany',
    weight: 1,
    run: async (db, r) => {
      if (r.chance(0.5)) await db.post.deleteMany({ where: { id: { in: r.sample(COLD_POSTS, 2) } } })
      else await db.post.deleteMany({ where: { authorId: r.pick(USERS), published: false, id: { notIn: HOT_POSTS } } })
    },
  },
  { name: 'comment.deleteMany', weight: 1, run: async (db, r) => void (await db.comment.deleteMany({ where: { postId: r.pick(POSTS) } })) },

  // --- Nested writes.
  {
    name: 'user.update posts create (nested)',
    weight: 1,
    run: async (db, r) => void (await db.user.update({ where: { id: r.pick(USERS) }, data: { posts: { create: { id: r.pick(COLD_POSTS), title: r.pick(TITLES), categoryId: orNull(r, r.pick(CATEGORIES)) } } } })),
  },
  {
    name: 'user.update posts updateMany (nested)',
    weight: 1,
    run: async (db, r) => void (await db.user.update({ where: { id: r.pick(USERS) }, data: { name: `nested ${r.int(3)}`, posts: { updateMany: { where: { published: false }, data: { views: { increment: 2 } } } } } })),
  },
  {
    name: 'post.update tags connect / disconnect / set',
    weight: 3,
    run: async (db, r) => {
      const id = r.pick(POSTS)
      const ids = r.sample(TAGS, r.range(1, 2)).map((t) => ({ id: t }))
      const tags = r.pick([{ connect: ids }, { disconnect: ids }, { set: ids }])
      await db.post.update({ where: { id }, data: { tags } })
    },
  },
  {
    name: 'post.create with comments + tags (nested)',
    weight: 2,
    run: async (db, r) => {
      await db.post.create({
        data: {
          id: r.pick(COLD_POSTS), title: r.pick(TITLES), authorId: r.pick(USERS), published: r.chance(0.5),
          comments: { create: [{ body: `nc${r.int(3)}`, authorId: r.pick(USERS) }] },
          tags: { connect: r.sample(TAGS, 1).map((t) => ({ id: t })) },
        },
      })
    },
  },
  {
    name: 'group.create with members (nested)',
    weight: 1,
    run: async (db, r) => {
      await db.group.create({
        data: { tenant: r.pick(TENANTS), slug: r.pick(SLUGS), name: `g${r.int(3)}`, members: { create: r.sample(USERS, 2).map((userId) => ({ userId, level: r.int(3) })) } },
      })
    },
  },
  {
    // Explicit m2m with a compound foreign key.
    name: 'membership create / update / delete',
    row: true,
    weight: 3,
    run: async (db, r) => {
      const key = { userId: r.pick(USERS), tenant: r.pick(TENANTS), slug: r.pick(SLUGS) }
      const kind = r.int(3)
      if (kind === 0) await db.membership.create({ data: { ...key, level: r.int(3) } })
      else if (kind === 1) await db.membership.update({ where: { userId_tenant_slug: key }, data: { level: r.int(3) } })
      else await db.membership.delete({ where: { userId_tenant_slug: key } })
    },
  },
  {
    // Group key change: ON UPDATE CASCADE into Membership's compound foreign key.
    name: 'group.update slug (re-key)',
    weight: 1,
    run: async (db, r) => {
      const tenant = r.pick(TENANTS)
      const [a, b] = r.sample(SLUGS, 2) as [string, string]
      const [from, to] = r.chance(0.5) ? [a, b] : [b, a]
      await db.group.update({ where: { tenant_slug: { tenant, slug: from } }, data: { slug: to } })
    },
  },
  { name: 'group.update name', row: true, weight: 1, run: async (db, r) => void (await db.group.update({ where: { tenant_slug: { tenant: r.pick(TENANTS), slug: r.pick(SLUGS) } }, data: { name: `g${r.int(3)}` } })) },
  { name: 'group.delete (cascade)', weight: 1, run: async (db, r) => void (await db.group.delete({ where: { tenant_slug: { tenant: r.pick(TENANTS), slug: r.pick(SLUGS) } } })) },

  {
    // One-to-many from the other side: nested update / delete / connectOrCreate / set.
    name: 'user.update posts update / delete / connectOrCreate (nested)',
    weight: 1,
    run: async (db, r) => {
      const id = r.pick(USERS)
      const postId = r.pick(COLD_POSTS)
      const posts = r.pick([
        { update: { where: { id: postId }, data: { published: r.chance(0.5), views: { increment: 1 } } } },
        { delete: { id: postId } },
        { deleteMany: { published: false, views: { gt: 8 } } },
        { connectOrCreate: { where: { id: postId }, create: { id: postId, title: r.pick(TITLES) } } },
        { upsert: { where: { id: postId }, create: { id: postId, title: r.pick(TITLES) }, update: { title: r.pick(TITLES) } } },
      ])
      await db.user.update({ where: { id }, data: { posts } })
    },
  },
  {
    // Optional to-one: disconnect (FK to null) and connectOrCreate of the parent.
    name: 'post.update category disconnect / connectOrCreate (nested)',
    weight: 1,
    run: async (db, r) => {
      const c = r.pick(CATEGORIES)
      const category = r.chance(0.5) ? { disconnect: true } : { connectOrCreate: { where: { id: c }, create: { id: c, title: `cat-${c}` } } }
      await db.post.update({ where: { id: r.pick(COLD_POSTS) }, data: { category } })
    },
  },
  {
    // `set` on a one-to-many with an optional FK: the category's other posts lose it.
    name: 'category.update posts set (nested)',
    weight: 1,
    run: async (db, r) => void (await db.category.update({ where: { id: r.pick(CATEGORIES) }, data: { posts: { set: r.sample(COLD_POSTS, r.range(0, 3)).map((id) => ({ id })) } } })),
  },
  {
    name: 'group.update members (nested) / user.update memberships upsert',
    weight: 1,
    run: async (db, r) => {
      const tenant = r.pick(TENANTS)
      const slug = r.pick(SLUGS)
      if (r.chance(0.5)) {
        await db.group.update({
          where: { tenant_slug: { tenant, slug } },
          data: { members: r.pick([{ deleteMany: { level: { gt: 0 } } }, { create: { userId: r.pick(USERS), level: r.int(3) } }, { updateMany: { where: {}, data: { level: r.int(3) } } }]) },
        })
      } else {
        const userId = r.pick(USERS)
        const level = r.int(3)
        await db.user.update({ where: { id: userId }, data: { memberships: { upsert: { where: { userId_tenant_slug: { userId, tenant, slug } }, create: { tenant, slug, level }, update: { level } } } } })
      }
    },
  },
  {
    name: 'post.createManyAndReturn / updateManyAndReturn',
    weight: 1,
    run: async (db, r) => {
      if (r.chance(0.5)) {
        const data = r.sample(COLD_POSTS, r.range(1, 2)).map((id) => ({ id, title: r.pick(TITLES), authorId: r.pick(USERS) }))
        await db.post.createManyAndReturn({ data, skipDuplicates: true, select: { id: true } })
      } else {
        await db.post.updateManyAndReturn({ where: { authorId: r.pick(USERS), id: { notIn: HOT_POSTS } }, data: { categoryId: orNull(r, r.pick(CATEGORIES)) }, select: { id: true, title: true } })
      }
    },
  },
  {
    // Data that leaves keyed fields alone or sets Booleans and enums: the rows come back
    // from the write and stand for their prior images with each such field at every value.
    name: 'post/user.updateManyAndReturn of flags and counters',
    weight: 1,
    run: async (db, r) => {
      const pick = r.int(3)
      if (pick === 0) await db.post.updateManyAndReturn({ where: { authorId: r.pick(USERS), id: { notIn: HOT_POSTS } }, data: { published: r.chance(0.5) }, select: { id: true } })
      else if (pick === 1) await db.post.updateManyAndReturn({ where: { categoryId: r.pick(CATEGORIES) }, data: { views: { increment: 1 }, ...(r.chance(0.5) ? { published: r.chance(0.5) } : {}) } })
      else await db.user.updateManyAndReturn({ where: { id: { in: r.sample(USERS, r.range(1, 3)) } }, data: { role: r.pick(ROLES) }, select: { email: true } })
    },
  },
  {
    // A mass delete with cascades (Post → Comment, Profile, Membership); then back.
    name: 'user.deleteMany (cascade) + recreate',
    weight: 1,
    run: async (db, r) => {
      const ids = r.sample(USERS, 2)
      await db.comment.deleteMany({ where: { authorId: { in: ids } } })
      await db.user.deleteMany({ where: { id: { in: ids } } })
      await db.user.createMany({ data: ids.map((id) => ({ id, email: emailOf(id), name: `mass ${id}` })), skipDuplicates: true })
    },
  },

  // --- Raw SQL.
  {
    name: '$executeRaw',
    weight: 1,
    run: async (db, r) => {
      const kind = r.int(3)
      if (kind === 0) await db.$executeRaw`UPDATE "Post" SET "views" = "views" + 1 WHERE "authorId" = ${r.pick(USERS)}`
      else if (kind === 1) await db.$executeRaw`UPDATE "groups" SET "display_name" = ${`raw${r.int(3)}`} WHERE "tenant" = ${r.pick(TENANTS)}`
      else await db.$executeRawUnsafe('UPDATE "Setting" SET "value" = $1 WHERE "key" = $2', `raw${r.int(3)}`, r.pick(SETTING_KEYS))
    },
  },

  // --- Transactions.
  {
    // Reads may hit the cache before the first write, must never fill it after.
    name: 'interactive $transaction (commit)',
    weight: 2,
    run: async (db, r, ctx) => {
      const id = r.pick(COLD_POSTS)
      const [from, to] = r.sample(USERS, 2) as [number, number]
      await db.$transaction(async (tx) => {
        const t = tx as unknown as Db
        await ctx.read('post.findMany(authorId)', { authorId: from }, t)
        await tx.post.update({ where: { id }, data: { authorId: to, views: { increment: 1 } } })
        await ctx.read('post.findMany(authorId)', { authorId: to }, t)
        await tx.user.update({ where: { id: to }, data: { score: { increment: 1 } } })
        await tx.comment.create({ data: { postId: id, authorId: from, body: 'itx' } })
        await ctx.read('post.findUnique(id)', { id }, t)
      })
    },
  },
  {
    // Everything written here rolls back; what it read inside must not reach the cache.
    name: 'interactive $transaction (rollback)',
    weight: 2,
    run: async (db, r, ctx) => {
      const id = r.pick(POSTS)
      const authorId = r.pick(USERS)
      const key = r.pick(SETTING_KEYS)
      await db.$transaction(async (tx) => {
        const t = tx as unknown as Db
        await tx.post.update({ where: { id }, data: { title: `rolled-back-${id}`, published: r.chance(0.5), authorId } })
        await ctx.read('post.findUnique(id)', { id }, t)
        await ctx.read('post.findMany(authorId)', { authorId }, t)
        await tx.setting.upsert({ where: { key }, create: { key, value: 'rolled-back' }, update: { value: 'rolled-back' } })
        await ctx.read('setting.findUnique(key)', { key }, t)
        throw new Rollback()
      })
    },
  },
  {
    name: 'batch $transaction([...])',
    weight: 1,
    run: async (db, r) => {
      const key = r.pick(SETTING_KEYS)
      await db.$transaction([
        db.post.updateMany({ where: { id: r.pick(POSTS) }, data: { views: { increment: 1 } } }),
        db.user.update({ where: { id: r.pick(USERS) }, data: { name: `batch ${r.int(3)}` } }),
        db.setting.upsert({ where: { key }, create: { key, value: 'batch' }, update: { value: `batch${r.int(3)}` } }),
        db.post.count({ where: { published: true } }),
      ])
    },
  },
  {
    // Referential actions inside a batch: the database deletes, nulls and re-keys rows
    // that no operation of the batch names (issue 20: these stayed cached). In 'rows'
    // phases too: a batch wipes only the models it names, so a child left stale by a
    // missed referential action survives until the check.
    name: 'batch $transaction with cascades / SET NULL / re-key',
    row: true,
    weight: 2,
    run: async (db, r) => {
      const kind = r.int(4)
      if (kind === 0) {
        // Post → Comment cascade; the post comes back (same id) with a comment.
        const id = r.pick(COLD_POSTS)
        await db.$transaction([db.post.delete({ where: { id } }), db.comment.count()])
        await db.post.create({ data: { id, title: r.pick(TITLES), authorId: r.pick(USERS), comments: { create: { authorId: r.pick(USERS), body: 'back' } } } })
      } else if (kind === 1) {
        // Category → Post SET NULL, through deleteMany; then back.
        const id = r.pick(CATEGORIES)
        await db.$transaction([db.category.deleteMany({ where: { id } })])
        await db.category.create({ data: { id, title: `cat-${id}` } })
      } else if (kind === 2) {
        // User → Post → Comment, Profile, Membership: two levels down; then back.
        const id = r.pick(USERS)
        await db.$transaction([db.comment.deleteMany({ where: { authorId: id } }), db.user.delete({ where: { id } })])
        await db.user.create({ data: { id, email: emailOf(id), name: `batch-reborn ${id}`, posts: { create: [{ id: r.pick(COLD_POSTS), title: r.pick(TITLES) }] } } })
      } else {
        // ON UPDATE CASCADE: a user's id moves to a spare one and back, in two batches.
        const id = r.pick(USERS)
        const spare = id + SPARE_USER_OFFSET
        await db.$transaction([db.user.update({ where: { id }, data: { id: spare } })])
        try {
          await db.$transaction([db.user.update({ where: { id: spare }, data: { id } })])
        } catch (err) {
          // The id was taken meanwhile (user.create): drop the stray so the domain stays whole.
          await db.$transaction([db.comment.deleteMany({ where: { authorId: spare } }), db.user.delete({ where: { id: spare } })])
          throw err
        }
      }
    },
  },
]


/** Write mixes of a phase: everything, single-row writes only, or hot same-row writes only. */
export const WRITE_MIXES = {
  all: WRITE_OPS,
  rows: WRITE_OPS.filter((op) => op.row),
  hot: WRITE_OPS.filter((op) => op.hot),
} as const
export type WriteMix = keyof typeof WRITE_MIXES
