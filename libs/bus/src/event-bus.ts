import type { DeadLetterReason, MessageData, MessageType, Topic } from '@meshwave/contracts';

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

/** A verified, validated message of one type. */
export interface IncomingMessageOf<T extends MessageType> {
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
  /** when the message stops being valid (RFC 3339) */
  readonly expiresAt?: string;
}

/**
 * A verified, validated message handed to a handler: a union discriminated by `type`, so a `switch (m.type)`
 * narrows `m.data` to that type's schema without a cast.
 */
export type IncomingMessage<T extends MessageType = MessageType> = { [K in T]: IncomingMessageOf<K> }[T];

/** What a handler gets besides the message. Optional second argument: handlers written as `(m) => ...` still fit. */
export interface HandlerContext {
  /** 1 for the first try of this delivery, 2 for the first retry after a transient error, ... */
  readonly attempt: number;
  /** aborted when the subscription closes and the grace period is over: stop, the message stays uncommitted */
  readonly signal: AbortSignal;
}

/**
 * Resolves → the message is done and its offset may be committed. Throws → retried with backoff, up to the
 * bus's `retry.maxAttempts`, then the DLQ (`handler-failed`). A `HandlerRejectedError` (or `retryable: false`)
 * goes to the DLQ at once; a `HandlerRetryableError` (or `retryable: true`: not leader, store unreachable) is
 * never dead-lettered: retried while the subscription holds the partition, then left uncommitted.
 */
export type MessageHandler = (message: IncomingMessage, context: HandlerContext) => Promise<void>;

export interface SubscribeOptions {
  readonly topic: Topic;
  /** consumer group: members of one group share the partitions */
  readonly groupId: string;
  /**
   * identities this consumer acts for. A message addressed to another identity is refused to the DLQ
   * (`wrong-audience`) when its key routes it to one of these identities; when neither its key nor its audience
   * is ours it is another target's traffic on the shared topic and is acknowledged and skipped.
   * Undefined: accept all.
   */
  readonly audiences?: readonly string[];
  /** only these types reach the handler; others are acknowledged and skipped */
  readonly types?: readonly MessageType[];
  readonly fromBeginning?: boolean;
  /**
   * Called for each message; the offset is committed only after it resolves (at-least-once). Messages of one
   * key are handled one at a time, different keys concurrently. Handlers must be idempotent: redelivery happens.
   */
  readonly handler: MessageHandler;
  /** partitions handled at once (kafkajs `partitionsConsumedConcurrently`). Default: the bus's setting */
  readonly concurrency?: number;
  /** told about every message this subscription refused (after it reached the DLQ), e.g. to report it */
  readonly onRejected?: (rejection: DeadLetter) => void | Promise<void>;
}

export interface Subscription {
  /** stops fetching, lets in-flight handlers finish (or abandons them uncommitted after a grace period) */
  close(): Promise<void>;
}

// Why a message went to the DLQ: defined with the contracts, since agents report it as a command's rejection.
export { DeadLetterReason } from '@meshwave/contracts';

/** A refused message as it sits on the DLQ topic: the original record plus why and where it came from. */
export interface DeadLetter {
  readonly reason: DeadLetterReason;
  readonly detail: string;
  /** topic name the record was read from */
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly groupId: string;
  readonly key: string;
  /** original headers (CloudEvents attributes, signature, ...) */
  readonly headers: Readonly<Record<string, string>>;
  /** original value, UTF-8 */
  readonly value: string;
  /** when it was refused (RFC 3339) */
  readonly at: string;
}

export interface DeadLetterSubscribeOptions {
  readonly groupId: string;
  readonly fromBeginning?: boolean;
  readonly handler: (deadLetter: DeadLetter) => Promise<void>;
}

/** The only way services talk to each other. Kafka in production, in memory for the embedded default and unit tests. */
export interface EventBus {
  publish(messages: readonly OutgoingMessage[]): Promise<void>;
  subscribe(options: SubscribeOptions): Promise<Subscription>;
  /** reads the DLQ topic (operators, the planner's reporting, tests) */
  subscribeDeadLetters(options: DeadLetterSubscribeOptions): Promise<Subscription>;
  close(): Promise<void>;
}

/** Narrows a handler's message to one type, so its `data` has that type's shape. */
export function isMessageOf<T extends MessageType>(
  message: IncomingMessage,
  type: T,
): message is Extract<IncomingMessage, { readonly type: T }> {
  return message.type === type;
}
