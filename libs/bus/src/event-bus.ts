import type { MessageData, MessageType, Topic } from '@meshwave/contracts';

/** A message to publish. `data` is validated against the schema of `type` before it leaves. */
export interface OutgoingMessage<T extends MessageType = MessageType> {
  readonly topic: Topic;
  /** partition key: `cluster/<name>`, `vmgroup/<name>` or the source's name; one key stays ordered */
  readonly key: string;
  readonly type: T;
  readonly data: MessageData<T>;
  /** who may act on it (e.g. `cluster/prod-1`); a consumer with another identity refuses it */
  readonly audience?: string;
  /** seconds until the message expires; expired messages are refused. Default: configured per bus */
  readonly ttlSeconds?: number;
}

/** A verified, validated message handed to a handler. */
export interface IncomingMessage<T extends MessageType = MessageType> {
  readonly id: string;
  readonly type: T;
  readonly source: string;
  readonly time: string;
  readonly key: string;
  readonly audience?: string;
  readonly data: MessageData<T>;
  /** W3C trace context carried in the headers, to continue the trace */
  readonly traceparent?: string;
  readonly tracestate?: string;
  /** position, for logs and tests */
  readonly partition: number;
  readonly offset: string;
}

export type MessageHandler = (message: IncomingMessage) => Promise<void>;

export interface SubscribeOptions {
  readonly topic: Topic;
  /** consumer group: members of one group share the partitions */
  readonly groupId: string;
  /** identities this consumer acts for; messages addressed to others are refused to the DLQ. Undefined: accept all */
  readonly audiences?: readonly string[];
  /** only these types reach the handler; others are acknowledged and skipped */
  readonly types?: readonly MessageType[];
  readonly fromBeginning?: boolean;
  /**
   * Called for each message; the offset is committed only after it resolves (at-least-once). Messages of one
   * key are handled one at a time, different keys concurrently. Handlers must be idempotent: redelivery happens.
   */
  readonly handler: MessageHandler;
}

export interface Subscription {
  /** stops fetching, lets in-flight handlers finish (or abandons them uncommitted after a grace period) */
  close(): Promise<void>;
}

/** The only way services talk to each other. Kafka in production, in memory for the embedded default and unit tests. */
export interface EventBus {
  publish(messages: readonly OutgoingMessage[]): Promise<void>;
  subscribe(options: SubscribeOptions): Promise<Subscription>;
  close(): Promise<void>;
}
