import type { MessageType } from '@meshwave/contracts';
import type { EventBus, OutgoingMessage } from '@meshwave/bus';
import type { Logger } from '@meshwave/telemetry';

/** Publishes the agent's events; a failed publish is logged, never thrown. */
export interface EventPublisher {
  /** true once the bus has the messages; false when the publish failed (the reporter retries its reports) */
  publish(messages: OutgoingMessage[]): Promise<boolean>;
  /** one event on the events topic, keyed by this cluster */
  event<T extends MessageType>(type: T, data: OutgoingMessage<T>['data']): OutgoingMessage;
}

export function createEventPublisher(bus: EventBus, source: string, log: Logger): EventPublisher {
  return {
    async publish(messages) {
      if (messages.length === 0) return true;
      try {
        await bus.publish(messages);
        return true;
      } catch (err) {
        log.warn({ err }, 'publishing events failed');
        return false;
      }
    },
    event: (type, data) => ({ topic: 'events', key: source, type, data }) as OutgoingMessage,
  };
}
