// @meshwave/store: the StateStore port and its two implementations.
//   createRedisStore({ url | redis, keyPrefix?, auditRetentionMs?, now? })   Redis (ioredis), production
//   createInMemoryStore({ now?, auditRetentionMs?, eraClock? })              in this process
// Layout, fencing, leases: docs/adr/0005-state-store-on-redis.md; audit kept by age: docs/adr/0015; epochs that
// survive a loss of the store: docs/adr/0025.
export type * from './state-store.js';
export * from './errors.js';
export { DEFAULT_AUDIT_RETENTION_MS, kindOf } from './validation.js';
export { createInMemoryStore, type InMemoryStoreOptions } from './in-memory-store.js';
export { createRedisStore, type RedisStoreOptions } from './redis-store.js';
export {
  describeStateStoreContract,
  newAuditEntry,
  type StateStoreContractFactory,
  type StateStoreContractFactoryOptions,
  type StateStoreContractOptions,
  type StoreContractTestApi,
} from './contract/state-store-contract.js';
export { describeStoreLossContract, type LoseStoreData } from './contract/store-loss-contract.js';
export { createStoreFor } from './store-for.js';
export { LeaseElection, type LeaseElectionOptions } from './lease-election.js';
