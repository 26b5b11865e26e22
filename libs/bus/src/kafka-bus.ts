import type { Topic } from '@meshwave/contracts';
import type { Logger } from '@meshwave/telemetry';
import {
  Kafka,
  Partitioners,
  logLevel as kafkaLogLevels,
  type Admin,
  type Consumer,
  type EachBatchPayload,
  type KafkaConfig,
  type LogEntry,
  type Producer,
} from 'kafkajs';
import { publishInSpan, resolveBusOptions, type BusOptions, type ResolvedBusOptions } from './bus-options.js';
import { closedError, deadLetterSubscription, messageSubscription, sleep } from './delivery.js';
import type { RecordProcessor, SubscriptionPlan } from './delivery.js';
import type { WireRecord } from './envelope.js';
import { BusError, BusErrorCode } from './errors.js';
import type {
  DeadLetterSubscribeOptions,
  EventBus,
  OutgoingMessage,
  SubscribeOptions,
  Subscription,
} from './event-bus.js';
import { consumerSettings } from './kafka-consumer-settings.js';
import { suppressKafkaJsTimeoutNegativeWarning } from './kafka-warnings.js';
import { DEFAULT_MAX_PRODUCE_BYTES, produceChunks } from './produce-chunks.js';
import { handleKafkaBatch } from './kafka-batch.js';

/** kafkajs's own log lines that reach the bus logger: `error` by default, so a healthy client is quiet. */
export type KafkaLogLevel = 'nothing' | 'error' | 'warn' | 'info' | 'debug';

export interface KafkaBusOptions extends BusOptions {
  readonly brokers: readonly string[];
  /** default: `meshwave-<source>` */
  readonly clientId?: string;
  /** bytes one produce request may hold (more is sent in several, in order); default 768 KiB (ADR 0070) */
  readonly maxProduceBytes?: number;
  /** partitions of each topic when this client creates it; default commands 6, events 6, dlq 3 */
  readonly partitions?: Partial<Record<Topic, number>>;
  /** replication factor of created topics; default -1 (the broker's `default.replication.factor`) */
  readonly replicationFactor?: number;
  /** create missing topics on first use; default true */
  readonly createTopics?: boolean;
  /** default `error` */
  readonly kafkaLogLevel?: KafkaLogLevel;
  /** consumer session timeout; default 10 000 (`consumerSettings`, ADR 0045) */
  readonly sessionTimeoutMs?: number;
  /** consumer heartbeat; default a third of the session timeout, at most 3 000 */
  readonly heartbeatIntervalMs?: number;
  /** how often a long batch commits what it handled so far; default 1 000 */
  readonly commitIntervalMs?: number;
  /** extra kafkajs settings (ssl, sasl, connection timeouts) */
  readonly kafka?: Omit<KafkaConfig, 'brokers' | 'clientId' | 'logLevel' | 'logCreator'>;
}

const DEFAULT_PARTITIONS: Readonly<Record<Topic, number>> = { commands: 6, events: 6, dlq: 3 };

const LOG_LEVELS: Readonly<Record<KafkaLogLevel, kafkaLogLevels>> = {
  nothing: kafkaLogLevels.NOTHING,
  error: kafkaLogLevels.ERROR,
  warn: kafkaLogLevels.WARN,
  info: kafkaLogLevels.INFO,
  debug: kafkaLogLevels.DEBUG,
};

/** kafkajs log entries → pino, one line each, with kafkajs's fields under `kafka`. */
function kafkaLogCreator(logger: Logger) {
  const child = logger.child({ component: 'kafkajs' });
  return () =>
    ({ namespace, level, log }: LogEntry): void => {
      const { message, ...extra } = log;
      const fields = { namespace, kafka: extra };
      if (level === kafkaLogLevels.ERROR) child.error(fields, message);
      else if (level === kafkaLogLevels.WARN) child.warn(fields, message);
      else if (level === kafkaLogLevels.INFO) child.info(fields, message);
      else child.debug(fields, message);
    };
}

// kafkajs only reads the headers; no copy needed.
const toKafkaMessage = (record: WireRecord): { key: string; value: Buffer; headers: Record<string, string> } => ({
  key: record.key,
  value: record.value,
  headers: record.headers as Record<string, string>,
});

class KafkaSubscription implements Subscription {
  private readonly abandon = new AbortController();
  private closing: Promise<void> | undefined;
  /** the kafkajs consumer now in use (replaced when a crash kafkajs does not recover from is restarted) */
  consumer: Consumer | undefined;

  constructor(
    private readonly graceMs: number,
    private readonly onClosed: (s: KafkaSubscription) => void,
  ) {}

  readonly signal = this.abandon.signal;

  get isClosing(): boolean {
    return this.closing !== undefined;
  }

  close(): Promise<void> {
    this.closing ??= this.stop();
    return this.closing;
  }

  private async stop(): Promise<void> {
    // disconnect() waits for the batch in hand; after the grace period the handlers are abandoned uncommitted.
    const graceTimer = new AbortController();
    void sleep(this.graceMs, graceTimer.signal).then((r) => {
      if (r === 'slept') this.abandon.abort();
    });
    try {
      await this.consumer?.disconnect();
    } finally {
      graceTimer.abort();
      this.onClosed(this);
    }
  }
}

class KafkaEventBus implements EventBus {
  private readonly kafka: Kafka;
  private readonly producer: Producer;
  private producerReady: Promise<void> | undefined;
  private topicsReady: Promise<void> | undefined;
  private readonly subscriptions = new Set<KafkaSubscription>();
  private closed = false;

  constructor(
    private readonly options: KafkaBusOptions,
    private readonly resolved: ResolvedBusOptions,
  ) {
    suppressKafkaJsTimeoutNegativeWarning();
    this.kafka = new Kafka({
      ...options.kafka,
      clientId: options.clientId ?? `meshwave-${options.source.replaceAll('/', '-')}`,
      brokers: [...options.brokers],
      logLevel: LOG_LEVELS[options.kafkaLogLevel ?? 'error'],
      logCreator: kafkaLogCreator(resolved.logger),
    });
    // Idempotent: the broker drops duplicates of a retried produce request (needs acks from all in-sync
    // replicas, sent on every batch). One request in flight keeps each partition's order across retries.
    this.producer = this.kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
  }

  private ensureTopics(): Promise<void> {
    this.topicsReady ??= (async () => {
      if (this.options.createTopics === false) return;
      const admin: Admin = this.kafka.admin();
      await admin.connect();
      try {
        const existing = new Set(await admin.listTopics());
        const roles = (Object.keys(this.resolved.topicNames) as Topic[]).filter(
          (role) => !existing.has(this.resolved.topicNames[role]),
        );
        if (roles.length === 0) return;
        await admin.createTopics({
          waitForLeaders: true,
          topics: roles.map((role) => ({
            topic: this.resolved.topicNames[role],
            numPartitions: this.options.partitions?.[role] ?? DEFAULT_PARTITIONS[role],
            replicationFactor: this.options.replicationFactor ?? -1,
          })),
        });
      } finally {
        await admin.disconnect();
      }
    })().catch((error: unknown) => {
      this.topicsReady = undefined; // let the next call try again
      throw error;
    });
    return this.topicsReady;
  }

  private connectProducer(): Promise<void> {
    this.producerReady ??= (async () => {
      await this.ensureTopics();
      await this.producer.connect();
    })().catch((error: unknown) => {
      this.producerReady = undefined;
      throw error;
    });
    return this.producerReady;
  }

  async publish(messages: readonly OutgoingMessage[]): Promise<void> {
    if (this.closed) throw closedError('the event bus');
    await publishInSpan(messages, this.resolved, async (encoded) => {
      await this.connectProducer();
      await this.send(encoded);
    });
  }

  private async send(records: Iterable<{ topicName: string; record: WireRecord }>): Promise<void> {
    for (const chunk of produceChunks(records, this.options.maxProduceBytes ?? DEFAULT_MAX_PRODUCE_BYTES))
      await this.sendChunk(chunk);
  }

  private async sendChunk(records: readonly { topicName: string; record: WireRecord }[]): Promise<void> {
    const byTopic = new Map<string, WireRecord[]>();
    for (const { topicName, record } of records) {
      const list = byTopic.get(topicName);
      if (list === undefined) byTopic.set(topicName, [record]);
      else list.push(record);
    }
    try {
      await this.producer.sendBatch({
        acks: -1,
        topicMessages: [...byTopic].map(([topic, rs]) => ({ topic, messages: rs.map(toKafkaMessage) })),
      });
    } catch (cause) {
      throw new BusError(
        BusErrorCode.PublishFailed,
        `publishing to ${[...byTopic.keys()].join(', ')} failed: ${(cause as Error).message}`,
        { cause },
      );
    }
  }

  private async sendDeadLetter(record: WireRecord): Promise<void> {
    await this.connectProducer();
    await this.send([{ topicName: this.resolved.topicNames.dlq, record }]);
  }

  async subscribe(options: SubscribeOptions): Promise<Subscription> {
    return this.consume(messageSubscription(options, this.resolved, (dlq) => this.sendDeadLetter(dlq)));
  }

  async subscribeDeadLetters(options: DeadLetterSubscribeOptions): Promise<Subscription> {
    return this.consume(deadLetterSubscription(options, this.resolved));
  }

  private async consume({
    topicName,
    groupId,
    fromBeginning,
    concurrency,
    process,
  }: SubscriptionPlan): Promise<Subscription> {
    if (this.closed) throw closedError('the event bus');
    await this.ensureTopics();
    const subscription = new KafkaSubscription(this.resolved.shutdownGraceMs, (s) => this.subscriptions.delete(s));
    this.subscriptions.add(subscription);
    const logger = this.resolved.logger;
    let restarts = 0;
    const start = async (): Promise<void> => {
      const consumer = this.kafka.consumer({
        groupId,
        allowAutoTopicCreation: false,
        ...consumerSettings(this.options),
      });
      subscription.consumer = consumer;
      // kafkajs restarts a consumer itself after retriable errors only; after any other crash it stays down.
      // A subscription must outlive a broker restart, so those crashes are restarted here, with backoff.
      consumer.on(consumer.events.CRASH, ({ payload }) => {
        logger.error(
          { err: payload.error, groupId, topic: topicName, restart: payload.restart },
          'kafka consumer crashed',
        );
        if (payload.restart || subscription.isClosing || this.closed) return;
        const backoff = Math.min(30_000, 1_000 * 2 ** Math.min(restarts++, 5));
        void sleep(backoff).then(async () => {
          if (subscription.isClosing || this.closed) return;
          await consumer.disconnect().catch(() => undefined);
          await start().catch((error: unknown) =>
            logger.error({ err: error, groupId, topic: topicName }, 'kafka consumer restart failed'),
          );
        });
      });
      consumer.on(consumer.events.GROUP_JOIN, () => {
        restarts = 0;
      });
      await consumer.connect();
      await consumer.subscribe({ topic: topicName, fromBeginning });
      // Resolves once the group is joined: a message published after subscribe() is seen.
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: concurrency,
        eachBatch: (payload) => this.handleBatch(payload, process, subscription.signal),
      });
    };
    try {
      await start();
    } catch (error) {
      await subscription.close().catch(() => undefined);
      throw error;
    }
    return subscription;
  }

  /** One partition's batch (kafka-batch.ts). */
  private handleBatch(payload: EachBatchPayload, process: RecordProcessor, abandon: AbortSignal): Promise<void> {
    return handleKafkaBatch(payload, process, abandon, {
      commitIntervalMs: this.options.commitIntervalMs ?? 1_000,
      logger: this.resolved.logger,
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.subscriptions].map((s) => s.close()));
    if (this.producerReady !== undefined) {
      await this.producerReady.catch(() => undefined);
      await this.producer.disconnect();
    }
  }
}

/**
 * An EventBus on Kafka (kafkajs). Connects lazily: topics are created (if missing) and the producer connected
 * on the first publish or subscribe.
 */
export function createKafkaBus(options: KafkaBusOptions): EventBus {
  return new KafkaEventBus(options, resolveBusOptions(options));
}
