export type * from './state-store.js';
export * from './errors.js';
export { kindOf } from './validation.js';
export { createInMemoryStore, type InMemoryStoreOptions } from './in-memory-store.js';
