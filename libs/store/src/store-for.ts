import type { BackingServices } from '@meshwave/contracts';
import { createInMemoryStore } from './in-memory-store.js';
import { createRedisStore } from './redis-store.js';
import type { StateStore } from './state-store.js';

/** What every store takes besides where it lives. */
export interface StoreOptions {
  /** how long audit entries are kept, by age only (ADR 0015); the stores' default when absent */
  readonly auditRetentionMs?: number;
}

/** The store a service process runs on: Redis, or memory when the in-memory mode was asked for (ADR 0016). */
export function createStoreFor(backing: BackingServices, options: StoreOptions = {}): StateStore {
  if (backing.mode === 'in-memory') return createInMemoryStore(options);
  return createRedisStore({
    auditRetentionMs: options.auditRetentionMs ?? backing.redis.auditRetentionMs,
    url: backing.redis.url,
    ...(backing.redis.keyPrefix !== undefined ? { keyPrefix: backing.redis.keyPrefix } : {}),
  });
}
