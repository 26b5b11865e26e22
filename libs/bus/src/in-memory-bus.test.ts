import { startTelemetry } from '@meshwave/telemetry';
import { afterEach, describe, expect, it } from 'vitest';
import { describeEventBusContract } from './contract/event-bus-contract.js';
import { topicNameOf } from './bus-options.js';
import { createInMemoryBroker, createInMemoryBus } from './in-memory-bus.js';

// A started SDK registers the context manager that carries the active span into handlers, as in a service.
startTelemetry({ serviceName: 'bus-contract', env: {} });

describeEventBusContract(
  'in-memory',
  async () => {
    const broker = createInMemoryBroker({ partitions: 3 });
    return {
      createBus: async (options) => createInMemoryBus({ ...options, broker }),
      produceRaw: async (topic, record) => void broker.append(topicNameOf({}, topic), record),
      close: async () => {},
    };
  },
  { describe, it, expect, afterEach },
  { waitMs: 5_000 },
);
