import type { BackingServices } from '@meshwave/contracts';
import { createInMemoryStore } from './in-memory-store.js';
import { createRedisStore } from './redis-store.js';
import type { StateStore } from './state-store.js';

/** The store a service process runs on: Redis, or memory when the in-memory mode was asked for (ADR 0016). */
export function createStoreFor(backing: BackingServices): StateStore {
  if (backing.mode === 'in-memory') return createInMemoryStore();
  return createRedisStore({
    url: backing.redis.url,
    ...(backing.redis.keyPrefix !== undefined ? { keyPrefix: backing.redis.keyPrefix } : {}),
  });
}
