import { KafkaSessionTimeout } from '@meshwave/contracts';

/** What a subscription's kafkajs consumer is given of the bus's group-membership options. */
export interface ConsumerSettings {
  readonly sessionTimeout: number;
  readonly heartbeatInterval: number;
}

/**
 * The group-membership settings of every consumer the Kafka bus starts: the session timeout (default
 * `KafkaSessionTimeout.DefaultMs`, ADR 0045) and a heartbeat of a third of it, at most 3 s, so two heartbeats may
 * be missed before the coordinator gives the member up.
 */
export function consumerSettings(options: {
  readonly sessionTimeoutMs?: number;
  readonly heartbeatIntervalMs?: number;
}): ConsumerSettings {
  const sessionTimeout = options.sessionTimeoutMs ?? KafkaSessionTimeout.DefaultMs;
  return {
    sessionTimeout,
    heartbeatInterval: options.heartbeatIntervalMs ?? Math.max(100, Math.min(3_000, Math.floor(sessionTimeout / 3))),
  };
}
