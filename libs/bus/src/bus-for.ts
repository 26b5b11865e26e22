import type { BackingServices } from '@meshwave/contracts';
import type { EventBus } from './event-bus.js';
import { createInMemoryBus } from './in-memory-bus.js';
import { createKafkaBus, type KafkaBusOptions } from './kafka-bus.js';

/**
 * The bus a service process runs on, as its configuration says (ADR 0016): Kafka, or the in-memory bus when
 * the in-memory mode was asked for by name. There is no third case, so no silent fallback.
 */
export function createBusFor(
  backing: BackingServices,
  options: Omit<KafkaBusOptions, 'brokers' | 'clientId' | 'topicNames'>,
): EventBus {
  if (backing.mode === 'in-memory') return createInMemoryBus({ ...options, topicNames: backing.topicNames });
  return createKafkaBus({
    ...options,
    brokers: backing.kafka.brokers,
    topicNames: backing.kafka.topicNames,
    ...(backing.kafka.clientId !== undefined ? { clientId: backing.kafka.clientId } : {}),
    ...(backing.kafka.wireLayout !== undefined ? { wireLayout: backing.kafka.wireLayout } : {}),
  });
}
