import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import type { Redis, Cluster } from 'ioredis'

/** A Lua script from ./lua, run with EVALSHA and loaded on NOSCRIPT (e.g. after SCRIPT FLUSH). */
export class LuaScript {
  readonly sha: string
  constructor(readonly name: string, readonly source: string, readonly numberOfKeys: number) {
    this.sha = createHash('sha1').update(source).digest('hex')
  }

  /** ./lua/<name>.lua, with each `-- @include <part>` line replaced by ./lua/include/<part>.lua. */
  static load(name: string, numberOfKeys: number): LuaScript {
    const read = (path: string) => readFileSync(new URL(`./lua/${path}.lua`, import.meta.url), 'utf8')
    const source = read(name).replace(/^-- @include (\w+)$/gm, (_, part: string) => read(`include/${part}`))
    return new LuaScript(name, source, numberOfKeys)
  }

  /**
   * Not an async function: one promise less on every call (this is on every hit).
   * `numberOfKeys`: for a script whose number of keys varies per call (-1 in its entry below).
   */
  run(redis: Redis | Cluster, args: (string | Buffer | number)[], numberOfKeys = this.numberOfKeys): Promise<unknown> {
    return this.runLoaded(redis, args, numberOfKeys).catch((err: unknown) => {
      if (!isNoScript(err)) throw err
      return (redis as unknown as ScriptCommands).evalBuffer(this.source, numberOfKeys, ...args)
    })
  }

  /** EVALSHA only: for a caller that must redo what it sent behind the script on NOSCRIPT. */
  runLoaded(redis: Redis | Cluster, args: (string | Buffer | number)[], numberOfKeys = this.numberOfKeys): Promise<unknown> {
    return (redis as unknown as ScriptCommands).evalshaBuffer(this.sha, numberOfKeys, ...args)
  }
}

/**
 * ioredis defines a `<command>Buffer` method for every command, but types only some. These,
 * not `callBuffer`, because auto-pipelining drops the command name of `callBuffer` calls.
 */
interface ScriptCommands {
  evalBuffer(source: string, numberOfKeys: number, ...args: (string | Buffer | number)[]): Promise<unknown>
  evalshaBuffer(sha: string, numberOfKeys: number, ...args: (string | Buffer | number)[]): Promise<unknown>
}

/** Redis does not have the script (SCRIPT FLUSH, a restart): EVAL sends it along. */
export function isNoScript(err: unknown): boolean {
  return err instanceof Error && err.message.startsWith('NOSCRIPT')
}

/**
 * Loads every script into Redis. Sent before any other command on a new connection, so
 * EVALSHA finds them: a NOSCRIPT fallback would re-send the script after the reply and
 * let later commands overtake it (a store could then land after the next read).
 */
export function preloadScripts(redis: Redis | Cluster): void {
  for (const s of Object.values(scripts)) redis.script('LOAD', s.source).catch(() => {})
}

/** Every script, loaded once. Names say what each does; see the comment atop each file. */
export const scripts = {
  readOrLease: LuaScript.load('read_or_lease', 2),
  storeIfFresh: LuaScript.load('store_if_fresh', 2),
  invalidateRows: LuaScript.load('invalidate_rows', 0),
  deleteConjKeys: LuaScript.load('delete_conj_keys', -1),
  beginWrite: LuaScript.load('begin_write', 0),
  releaseLock: LuaScript.load('release_lock', 1),
}
