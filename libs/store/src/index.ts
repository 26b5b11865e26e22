export type * from './state-store.js';
export * from './errors.js';
export { kindOf } from './validation.js';
export { createInMemoryStore, type InMemoryStoreOptions } from './in-memory-store.js';
export { createRedisStore, type RedisStoreOptions } from './redis-store.js';
export {
  describeStateStoreContract,
  newAuditEntry,
  type StateStoreContractFactory,
  type StateStoreContractOptions,
  type StoreContractTestApi,
} from './contract/state-store-contract.js';
