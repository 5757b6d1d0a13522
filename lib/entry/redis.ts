/**
 * `coaps/redis`: a shared session store on Redis (`@redis/client`) for `createServer({ sessionStore })`,
 * in an entry of its own so that `coaps/dtls` loads no Redis client.
 */
export { connectRedisSessionStore, DEFAULT_REDIS_PREFIX, type RedisSessionStore, type RedisSessionStoreOptions } from '../../transports/redis-session-store.js';
