// @meshwave/bus: the EventBus port and its two implementations.
//   createKafkaBus({ brokers, source, signing, ... })    Kafka (kafkajs), production
//   createInMemoryBus({ source, signing, broker? })      in this process; share one createInMemoryBroker()
// Envelope, signing and DLQ: docs/adr/0004-message-signing.md; Ed25519 and principals: docs/adr/0038-ed25519-signing.md.
export * from './event-bus.js';
export * from './errors.js';
export {
  MessageSigner,
  type PrivateSigningKey,
  type SigningKey,
  type SigningOptions,
  type TrustedKey,
} from './signing.js';
export { generateSigningKeyPair, type SigningKeyPair } from './ed25519-keys.js';
export {
  EnvelopeHeaders,
  Header,
  encodeEnvelope,
  inspectRecord,
  sealRecord,
  type EncodeContext,
  type InspectContext,
  type RecordPosition,
  type Verdict,
  type WireRecord,
} from './envelope.js';
export { topicNameOf, type BusOptions } from './bus-options.js';
export { WireLayout, SEAL_HEADER, STRUCTURED_CONTENT_TYPE } from './wire-layout.js';
export { StructuredEvent, sealEvent } from './structured-envelope.js';
export type { RetryOptions } from './bus-options.js';
export { createInMemoryBroker, createInMemoryBus, InMemoryBroker, type InMemoryBusOptions } from './in-memory-bus.js';
export {
  CONTRACT_SIGNING,
  ContractSigningMode,
  describeEventBusContract,
  newHeartbeat,
  type ContractTestApi,
  type EventBusContractHarness,
  type EventBusContractHarnessFactory,
  type EventBusContractOptions,
} from './contract/event-bus-contract.js';
export { createKafkaBus, type KafkaBusOptions, type KafkaLogLevel } from './kafka-bus.js';
export { createBusFor } from './bus-for.js';
