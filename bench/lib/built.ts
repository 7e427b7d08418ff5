// The library as users run it: compiled to dist/ (`npm run bench` builds it first). Loaded
// from src/ under tsx, every closure would be wrapped in a naming helper that compiled code
// never pays, on every call of the hit path. Typed by the sources.
const load = <T>(path: string) => import(new URL(`../../dist/${path}`, import.meta.url).href) as Promise<T>

export const { cacheops } = await load<typeof import('../../src/index.ts')>('index.js')
export const { decodeResult, encodeResult } = await load<typeof import('../../src/codec/index.ts')>('codec/index.js')
export const { RedisStore } = await load<typeof import('../../src/redis/store.ts')>('redis/store.js')
