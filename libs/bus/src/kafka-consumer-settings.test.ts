import { readBackingServices } from '@meshwave/contracts';
import { describe, expect, it } from 'vitest';
import { kafkaBusOptionsFor } from './bus-for.js';
import { consumerSettings } from './kafka-consumer-settings.js';

const SIGNING = { keys: [{ id: 'k', secret: 's'.repeat(32) }], activeKeyId: 'k' };

/** The settings a subscription's kafkajs consumer gets in a service started with `env`. */
function consumerOf(env: Record<string, string>) {
  const backing = readBackingServices({ MESHWAVE_KAFKA_BROKERS: 'k:9092', MESHWAVE_REDIS_URL: 'redis://r', ...env });
  if (backing.services?.mode !== 'external') throw new Error(JSON.stringify(backing.problems));
  return consumerSettings(kafkaBusOptionsFor(backing.services.kafka, { source: 'vm-bridge', signing: SIGNING }));
}

describe('the Kafka consumer settings of a service (ADR 0045)', () => {
  it('Given no setting, When a service subscribes, Then a dead member holds its partitions 10 s, not kafkajs 30 s', () => {
    expect(consumerOf({})).toEqual({ sessionTimeout: 10_000, heartbeatInterval: 3_000 });
  });

  it('Given MESHWAVE_KAFKA_SESSION_TIMEOUT_MS, When a service subscribes, Then its consumer gets it, with a heartbeat of a third', () => {
    expect(consumerOf({ MESHWAVE_KAFKA_SESSION_TIMEOUT_MS: '6000' })).toEqual({
      sessionTimeout: 6000,
      heartbeatInterval: 2000,
    });
    expect(consumerOf({ MESHWAVE_KAFKA_SESSION_TIMEOUT_MS: '45000' })).toEqual({
      sessionTimeout: 45_000,
      heartbeatInterval: 3_000,
    });
  });

  it('keeps a heartbeat set explicitly', () => {
    expect(consumerSettings({ sessionTimeoutMs: 9000, heartbeatIntervalMs: 1000 })).toEqual({
      sessionTimeout: 9000,
      heartbeatInterval: 1000,
    });
  });
});
