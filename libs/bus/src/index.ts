export type * from './event-bus.js';
