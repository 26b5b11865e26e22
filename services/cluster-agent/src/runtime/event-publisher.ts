import type { MessageType } from '@meshwave/contracts';
import type { EventBus, OutgoingMessage } from '@meshwave/bus';
import type { Logger } from '@meshwave/telemetry';

/** Publishes the agent's events; a failed publish is logged, and the next report repeats what it carried. */
export interface EventPublisher {
  publish(messages: OutgoingMessage[]): Promise<void>;
  /** one event on the events topic, keyed by this cluster */
  event<T extends MessageType>(type: T, data: OutgoingMessage<T>['data']): OutgoingMessage;
}

export function createEventPublisher(bus: EventBus, source: string, log: Logger): EventPublisher {
  return {
    async publish(messages) {
      if (messages.length === 0) return;
      try {
        await bus.publish(messages);
      } catch (err) {
        log.warn({ err }, 'publishing events failed; the next report repeats them');
      }
    },
    event: (type, data) => ({ topic: 'events', key: source, type, data }) as OutgoingMessage,
  };
}
