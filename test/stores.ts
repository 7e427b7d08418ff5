// The conformance split (vitest.config.ts): behavioural test files run once per store;
// the few tests in them that are about Redis itself (what it holds, its commands) are
// declared with `itRedis` and exist on the Redis run only.
import { it } from 'vitest'
import { STORE } from './helpers.ts'

export { STORE }
export const itRedis: typeof it = STORE === 'redis' ? it : ((() => {}) as unknown as typeof it)
