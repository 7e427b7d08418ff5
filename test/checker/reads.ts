// Read shapes: every one runs either through the cache (`fresh = false`) or around it
// (`fresh = true`, `.nocache()`), with parameters drawn from the small domains in world.ts
// so the same (shape, params) pairs come back and hit the cache. Every list is ordered
// by a unique key, so two correct answers are identical.
import type { Prisma } from '../../prisma/generated/client/client.ts'
import type { Rng } from './rng.ts'
import {
  CATEGORIES, EMAILS, HOT_AUTHORS, HOT_POSTS, POSTS, ROLES, SETTING_KEYS, SLUGS, TAGS, TENANTS, TITLES, USERS, VIEWS_GT, errorCode, type Db,
} from './world.ts'

export interface ReadShape {
  readonly name: string
  /** Relative frequency among reads. */
  readonly weight: number
  /** Read in 'hot' phases too (the reads the hot writes race against). */
  readonly hot?: boolean
  params(r: Rng): Record<string, unknown>
  run(db: Db, fresh: boolean, p: Record<string, unknown>): Promise<unknown>
}

// Delegates with or without the cache, same types either way.
const post = (db: Db, fresh: boolean) => (fresh ? db.post.nocache() : db.post)
const user = (db: Db, fresh: boolean) => (fresh ? db.user.nocache() : db.user)
const tag = (db: Db, fresh: boolean) => (fresh ? db.tag.nocache() : db.tag)
const group = (db: Db, fresh: boolean) => (fresh ? db.group.nocache() : db.group)
const membership = (db: Db, fresh: boolean) => (fresh ? db.membership.nocache() : db.membership)
const setting = (db: Db, fresh: boolean) => (fresh ? db.setting.nocache() : db.setting)
const comment = (db: Db, fresh: boolean) => (fresh ? db.comment.nocache() : db.comment)
const profile = (db: Db, fresh: boolean) => (fresh ? db.profile.nocache() : db.profile)
const category = (db: Db, fresh: boolean) => (fresh ? db.category.nocache() : db.category)

const byId = { id: 'asc' } as const
const memberOrder: Prisma.MembershipOrderByWithRelationInput[] = [{ userId: 'asc' }, { tenant: 'asc' }, { slug: 'asc' }]

// Params: post and user ids are skewed towards low ids (hot keys repeat and hit the cache),
// the other domains are small enough to repeat anyway.
// Param helpers: narrow the loosely typed params bag back to what each shape drew.
const n = (p: Record<string, unknown>, k: string) => p[k] as number
const s = (p: Record<string, unknown>, k: string) => p[k] as string
const b = (p: Record<string, unknown>, k: string) => p[k] as boolean
const ns = (p: Record<string, unknown>, k: string) => p[k] as number[]

export const READ_SHAPES: readonly ReadShape[] = [
  // Unique lookups.
  { name: 'post.findUnique(id)', weight: 6, hot: true, params: (r) => ({ id: r.skewed(POSTS) }), run: (db, f, p) => post(db, f).findUnique({ where: { id: n(p, 'id') } }) },
  { name: 'post.findUniqueOrThrow(id)', weight: 3, params: (r) => ({ id: r.skewed(POSTS) }), run: (db, f, p) => post(db, f).findUniqueOrThrow({ where: { id: n(p, 'id') } }) },
  { name: 'post.findUnique(authorId_title)', weight: 2, params: (r) => ({ authorId: r.skewed(USERS), title: r.pick(TITLES) }), run: (db, f, p) => post(db, f).findUnique({ where: { authorId_title: { authorId: n(p, 'authorId'), title: s(p, 'title') } } }) },
  { name: 'user.findUnique(id)', weight: 4, params: (r) => ({ id: r.skewed(USERS) }), run: (db, f, p) => user(db, f).findUnique({ where: { id: n(p, 'id') } }) },
  { name: 'user.findUniqueOrThrow(email)', weight: 2, params: (r) => ({ email: r.pick(EMAILS) }), run: (db, f, p) => user(db, f).findUniqueOrThrow({ where: { email: s(p, 'email') } }) },
  { name: 'setting.findUnique(key)', weight: 3, params: (r) => ({ key: r.pick(SETTING_KEYS) }), run: (db, f, p) => setting(db, f).findUnique({ where: { key: s(p, 'key') } }) },
  { name: 'group.findUnique(tenant_slug)', weight: 2, params: (r) => ({ tenant: r.pick(TENANTS), slug: r.pick(SLUGS) }), run: (db, f, p) => group(db, f).findUnique({ where: { tenant_slug: { tenant: s(p, 'tenant'), slug: s(p, 'slug') } } }) },
  { name: 'profile.findUnique(userId)', weight: 1, params: (r) => ({ userId: r.skewed(USERS) }), run: (db, f, p) => profile(db, f).findUnique({ where: { userId: n(p, 'userId') } }) },
  // The fluent API: a read of User through Post (dataPath).
  { name: 'post.findUnique(id).author()', weight: 1, params: (r) => ({ id: r.skewed(POSTS) }), run: (db, f, p) => post(db, f).findUnique({ where: { id: n(p, 'id') } }).author() },

  // findFirst / findMany over the model's own fields.
  { name: 'post.findFirst(title)', weight: 3, params: (r) => ({ title: r.pick(TITLES) }), run: (db, f, p) => post(db, f).findFirst({ where: { title: s(p, 'title') }, orderBy: byId }) },
  // The read the hot-post writers race against: weighted up so it caches in between.
  { name: 'post.findMany(authorId)', weight: 12, hot: true, params: (r) => ({ authorId: r.skewed(USERS) }), run: (db, f, p) => post(db, f).findMany({ where: { authorId: n(p, 'authorId') }, orderBy: byId }) },
  { name: 'post.findMany(authorId in)', weight: 3, params: (r) => ({ ids: r.sample(USERS, 2) }), run: (db, f, p) => post(db, f).findMany({ where: { authorId: { in: ns(p, 'ids') } }, orderBy: byId }) },
  { name: 'post.findMany(OR published, categoryId)', weight: 3, params: (r) => ({ published: r.chance(0.5), categoryId: r.pick(CATEGORIES) }), run: (db, f, p) => post(db, f).findMany({ where: { OR: [{ published: b(p, 'published') }, { categoryId: n(p, 'categoryId') }] }, orderBy: byId }) },
  { name: 'post.findMany(categoryId, published)', weight: 2, params: (r) => ({ published: r.chance(0.5), categoryId: r.pick(CATEGORIES) }), run: (db, f, p) => post(db, f).findMany({ where: { categoryId: n(p, 'categoryId'), published: b(p, 'published') }, orderBy: byId }) },
  { name: 'post.findMany(views gt)', weight: 2, params: (r) => ({ gt: r.pick(VIEWS_GT) }), run: (db, f, p) => post(db, f).findMany({ where: { views: { gt: n(p, 'gt') } }, orderBy: byId }) },
  { name: 'post.findMany(author.email)', weight: 2, params: (r) => ({ email: r.pick(EMAILS) }), run: (db, f, p) => post(db, f).findMany({ where: { author: { email: s(p, 'email') } }, orderBy: byId }) },
  { name: 'post.findMany(categoryId null)', weight: 2, params: (r) => ({ published: r.chance(0.5) }), run: (db, f, p) => post(db, f).findMany({ where: { categoryId: null, published: b(p, 'published') }, orderBy: byId }) },
  { name: 'post.findMany(NOT authorId, published)', weight: 1, params: (r) => ({ authorId: r.skewed(USERS) }), run: (db, f, p) => post(db, f).findMany({ where: { NOT: { authorId: n(p, 'authorId') }, published: false }, orderBy: byId }) },
  // Only hot-post writes can invalidate these (their conjunctions name the ids): a stale
  // entry here outlives the other writes until the check; the first only writes of this
  // one post to or from this author.
  { name: 'post.findMany(id, authorId)', weight: 4, hot: true, params: (r) => ({ id: r.pick(HOT_POSTS), authorId: r.pick(HOT_AUTHORS) }), run: (db, f, p) => post(db, f).findMany({ where: { id: n(p, 'id'), authorId: n(p, 'authorId') }, orderBy: byId }) },
  { name: 'post.findMany(hot, authorId)', weight: 4, hot: true, params: (r) => ({ authorId: r.pick(HOT_AUTHORS) }), run: (db, f, p) => post(db, f).findMany({ where: { id: { in: HOT_POSTS }, authorId: n(p, 'authorId') }, orderBy: byId }) },
  { name: 'post.findMany(tags some id)', weight: 1, params: (r) => ({ tagId: r.pick(TAGS) }), run: (db, f, p) => post(db, f).findMany({ where: { tags: { some: { id: n(p, 'tagId') } } }, orderBy: byId, select: { id: true, title: true } }) },
  { name: 'user.findMany(role)', weight: 1, params: (r) => ({ role: r.pick(ROLES) }), run: (db, f, p) => user(db, f).findMany({ where: { role: s(p, 'role') as (typeof ROLES)[number] }, orderBy: byId, select: { id: true, email: true, role: true } }) },
  { name: 'comment.findMany(postId)', weight: 2, params: (r) => ({ postId: r.skewed(POSTS) }), run: (db, f, p) => comment(db, f).findMany({ where: { postId: n(p, 'postId') }, orderBy: byId }) },
  { name: 'membership.findMany(userId)', weight: 2, params: (r) => ({ userId: r.skewed(USERS) }), run: (db, f, p) => membership(db, f).findMany({ where: { userId: n(p, 'userId') }, orderBy: memberOrder }) },
  { name: 'setting.findMany()', weight: 1, params: () => ({}), run: (db, f) => setting(db, f).findMany({ orderBy: { key: 'asc' } }) },

  // Reads through relations.
  { name: 'post.findMany(authorId) include author, tags', weight: 3, params: (r) => ({ authorId: r.skewed(USERS) }), run: (db, f, p) => post(db, f).findMany({ where: { authorId: n(p, 'authorId') }, orderBy: byId, include: { author: true, tags: { orderBy: byId } } }) },
  { name: 'post.findUnique(id) include tags, comments', weight: 2, params: (r) => ({ id: r.skewed(POSTS) }), run: (db, f, p) => post(db, f).findUnique({ where: { id: n(p, 'id') }, include: { tags: { orderBy: byId }, comments: { orderBy: byId } } }) },
  { name: 'user.findUnique(id) include posts, _count', weight: 3, params: (r) => ({ id: r.skewed(USERS) }), run: (db, f, p) => user(db, f).findUnique({ where: { id: n(p, 'id') }, include: { posts: { orderBy: byId }, profile: true, _count: { select: { posts: true, comments: true, memberships: true } } } }) },
  { name: 'tag.findUnique(id) include posts', weight: 2, params: (r) => ({ id: r.pick(TAGS) }), run: (db, f, p) => tag(db, f).findUnique({ where: { id: n(p, 'id') }, include: { posts: { orderBy: byId, select: { id: true, title: true, authorId: true } } } }) },
  { name: 'group.findUnique(tenant_slug) include members', weight: 2, params: (r) => ({ tenant: r.pick(TENANTS), slug: r.pick(SLUGS) }), run: (db, f, p) => group(db, f).findUnique({ where: { tenant_slug: { tenant: s(p, 'tenant'), slug: s(p, 'slug') } }, include: { members: { orderBy: memberOrder } } }) },
  { name: 'group.findMany(tenant) include _count', weight: 1, params: (r) => ({ tenant: r.pick(TENANTS) }), run: (db, f, p) => group(db, f).findMany({ where: { tenant: s(p, 'tenant') }, orderBy: { slug: 'asc' }, include: { _count: { select: { members: true } } } }) },
  { name: 'category.findMany() include _count', weight: 1, params: () => ({}), run: (db, f) => category(db, f).findMany({ orderBy: byId, include: { _count: { select: { posts: true } } } }) },

  // Deeper relation reads: filtered and limited includes, two levels, to-one selects,
  // relation filters (some / none / to-one), the fluent API to a list.
  { name: 'user.findUnique(id) include posts(published) → comments', weight: 2, params: (r) => ({ id: r.skewed(USERS) }), run: (db, f, p) => user(db, f).findUnique({ where: { id: n(p, 'id') }, include: { posts: { where: { published: true }, orderBy: byId, include: { comments: { orderBy: byId } } } } }) },
  { name: 'category.findUnique(id) include posts(top 3 by views)', weight: 1, params: (r) => ({ id: r.pick(CATEGORIES) }), run: (db, f, p) => category(db, f).findUnique({ where: { id: n(p, 'id') }, include: { posts: { orderBy: [{ views: 'desc' }, { id: 'asc' }], take: 3 } } }) },
  { name: 'post.findMany(authorId) select author.name, category.title', weight: 2, params: (r) => ({ authorId: r.skewed(USERS) }), run: (db, f, p) => post(db, f).findMany({ where: { authorId: n(p, 'authorId') }, orderBy: byId, select: { id: true, title: true, author: { select: { name: true, email: true } }, category: { select: { title: true } } } }) },
  { name: 'user.findMany(posts some published+category)', weight: 1, params: (r) => ({ categoryId: r.pick(CATEGORIES) }), run: (db, f, p) => user(db, f).findMany({ where: { posts: { some: { published: true, categoryId: n(p, 'categoryId') } } }, orderBy: byId, select: { id: true } }) },
  { name: 'user.findMany(posts none published)', weight: 1, params: () => ({}), run: (db, f) => user(db, f).findMany({ where: { posts: { none: { published: true } } }, orderBy: byId, select: { id: true } }) },
  { name: 'comment.findMany(post.authorId)', weight: 1, params: (r) => ({ authorId: r.skewed(USERS) }), run: (db, f, p) => comment(db, f).findMany({ where: { post: { authorId: n(p, 'authorId') } }, orderBy: byId }) },
  { name: 'membership.findMany(tenant) include group, user.email', weight: 1, params: (r) => ({ tenant: r.pick(TENANTS) }), run: (db, f, p) => membership(db, f).findMany({ where: { tenant: s(p, 'tenant') }, orderBy: memberOrder, include: { group: true, user: { select: { email: true } } } }) },
  { name: 'user.findUnique(id).posts()', weight: 1, params: (r) => ({ id: r.skewed(USERS) }), run: (db, f, p) => user(db, f).findUnique({ where: { id: n(p, 'id') } }).posts({ orderBy: byId }) },
  { name: 'tag.findMany() include _count posts', weight: 1, params: () => ({}), run: (db, f) => tag(db, f).findMany({ orderBy: byId, include: { _count: { select: { posts: true } } } }) },

  // Aggregates.
  { name: 'post.count(authorId, published)', weight: 3, params: (r) => ({ authorId: r.skewed(USERS), published: r.chance(0.5) }), run: (db, f, p) => post(db, f).count({ where: { authorId: n(p, 'authorId'), published: b(p, 'published') } }) },
  { name: 'post.count(author.role)', weight: 1, params: (r) => ({ role: r.pick(ROLES) }), run: (db, f, p) => post(db, f).count({ where: { author: { role: s(p, 'role') as (typeof ROLES)[number] } } }) },
  { name: 'post.aggregate(authorId) _sum _max _count', weight: 2, params: (r) => ({ authorId: r.skewed(USERS) }), run: (db, f, p) => post(db, f).aggregate({ where: { authorId: n(p, 'authorId') }, _sum: { views: true }, _max: { views: true, id: true }, _count: true }) },
  { name: 'post.groupBy(authorId)', weight: 2, params: (r) => ({ published: r.chance(0.5) }), run: (db, f, p) => post(db, f).groupBy({ by: ['authorId'], where: { published: b(p, 'published') }, _count: { _all: true }, _sum: { views: true }, orderBy: { authorId: 'asc' } }) },
  // Field-scoped (counts and aggregates spare writes of fields they do not read): each one
  // reads a different set of Post fields, and the hot one races the hot writers' moves.
  { name: 'post.count()', weight: 1, params: () => ({}), run: (db, f) => post(db, f).count() },
  { name: 'post.count(title)', weight: 1, params: (r) => ({ title: r.pick(TITLES) }), run: (db, f, p) => post(db, f).count({ where: { title: s(p, 'title') } }) },
  { name: 'post.count(views gt)', weight: 1, params: (r) => ({ gt: r.pick(VIEWS_GT) }), run: (db, f, p) => post(db, f).count({ where: { views: { gt: n(p, 'gt') } } }) },
  { name: 'post.count(hot authorId, views gt)', weight: 2, hot: true, params: (r) => ({ authorId: r.pick(HOT_AUTHORS), gt: r.pick(VIEWS_GT) }), run: (db, f, p) => post(db, f).count({ where: { authorId: n(p, 'authorId'), views: { gt: n(p, 'gt') } } }) },
  { name: 'post.aggregate(hot authorId, published) _avg views', weight: 2, hot: true, params: (r) => ({ authorId: r.pick(HOT_AUTHORS), published: r.chance(0.5) }), run: (db, f, p) => post(db, f).aggregate({ where: { authorId: n(p, 'authorId'), published: b(p, 'published') }, _avg: { views: true }, _count: { _all: true, categoryId: true } }) },
  { name: 'post.groupBy(published) hot authors _max views', weight: 1, hot: true, params: () => ({}), run: (db, f) => post(db, f).groupBy({ by: ['published'], where: { authorId: { in: HOT_AUTHORS } }, _max: { views: true }, _count: { _all: true }, orderBy: { published: 'asc' } }) },
  { name: 'user.aggregate() _sum balance', weight: 1, params: () => ({}), run: (db, f) => user(db, f).aggregate({ _sum: { balance: true, big: true }, _max: { score: true }, _count: { _all: true } }) },
]

/** Read shapes per phase mix (see writes.ts WRITE_MIXES). */
export const READ_MIXES = {
  all: READ_SHAPES,
  rows: READ_SHAPES,
  hot: READ_SHAPES.filter((shape) => shape.hot),
} as const

export const SHAPE_BY_NAME = new Map(READ_SHAPES.map((shape) => [shape.name, shape]))

/**
 * Runs a read and returns its value; a not-found of an `OrThrow` read is a value too
 * (the cache answers it from a cached null), compared by its error code.
 */
export async function runRead(shape: ReadShape, db: Db, fresh: boolean, params: Record<string, unknown>): Promise<unknown> {
  try {
    return await shape.run(db, fresh, params)
  } catch (err) {
    if (errorCode(err) === 'P2025') return { $error: 'P2025' }
    throw err
  }
}
