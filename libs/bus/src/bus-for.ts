import type { BackingServices } from '@meshwave/contracts';
import type { EventBus } from './event-bus.js';
import { createInMemoryBus } from './in-memory-bus.js';
import { createKafkaBus, type KafkaBusOptions } from './kafka-bus.js';

/**
 * The bus a service process runs on, as its configuration says (ADR 0016): Kafka, or the in-memory bus when
 * the in-memory mode was asked for by name. There is no third case, so no silent fallback.
 */
export function createBusFor(backing: BackingServices, options: ServiceBusOptions): EventBus {
  if (backing.mode === 'in-memory') return createInMemoryBus({ ...options, topicNames: backing.topicNames });
  return createKafkaBus(kafkaBusOptionsFor(backing.kafka, options));
}

/** What a service sets of its bus itself; the rest comes from its configuration's backing services. */
export type ServiceBusOptions = Omit<KafkaBusOptions, 'brokers' | 'clientId' | 'topicNames' | 'sessionTimeoutMs'>;

/** The Kafka bus options of a service: its own, plus what its configuration says of Kafka. */
export function kafkaBusOptionsFor(
  kafka: Extract<BackingServices, { mode: 'external' }>['kafka'],
  options: ServiceBusOptions,
): KafkaBusOptions {
  return {
    ...options,
    brokers: kafka.brokers,
    topicNames: kafka.topicNames,
    sessionTimeoutMs: kafka.sessionTimeoutMs,
    ...(kafka.clientId !== undefined ? { clientId: kafka.clientId } : {}),
    ...(kafka.wireLayout !== undefined ? { wireLayout: kafka.wireLayout } : {}),
  };
}
