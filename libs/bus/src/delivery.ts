import { SpanKind, context as contextApi, trace } from '@opentelemetry/api';
import { extractTraceContext, failSpan, type Logger } from '@meshwave/telemetry';
import type { ResolvedBusOptions, RetryOptions } from './bus-options.js';
import type { DeadLetter, DeadLetterSubscribeOptions, MessageHandler, SubscribeOptions } from './event-bus.js';
import { BusError, BusErrorCode, isRetryableHandlerError, isTerminalHandlerError } from './errors.js';
import {
  decodeDeadLetter,
  deadLetterRecord,
  inspectRecord,
  type InspectContext,
  type RecordPosition,
  type WireRecord,
} from './envelope.js';

const tracer = trace.getTracer('@meshwave/bus');

export interface DeliveryDeps {
  readonly topicName: string;
  readonly groupId: string;
  readonly inspect: Omit<InspectContext, 'nowMs'>;
  readonly now: () => number;
  readonly handler: MessageHandler;
  readonly onRejected: ((rejection: DeadLetter) => void | Promise<void>) | undefined;
  /** appends to the DLQ topic; resolves once the broker has it */
  readonly sendDeadLetter: (record: WireRecord) => Promise<void>;
  readonly retry: RetryOptions;
  /** aborted when the subscription gives up on in-flight work */
  readonly abandon: AbortSignal;
  readonly logger: Logger;
}

/**
 * How one subscription delivers each record, the same for every bus: only where dead letters go (and how
 * records are fetched) differs between Kafka and memory.
 */
export function subscriptionDelivery(
  options: SubscribeOptions,
  resolved: ResolvedBusOptions,
  sendDeadLetter: (record: WireRecord) => Promise<void>,
): RecordProcessor {
  const deps: Omit<DeliveryDeps, 'abandon'> = {
    topicName: resolved.topicNames[options.topic],
    groupId: options.groupId,
    inspect: {
      signer: resolved.signer,
      clockSkewMs: resolved.clockSkewMs,
      ...(options.audiences !== undefined ? { audiences: options.audiences } : {}),
      ...(options.types !== undefined ? { types: options.types } : {}),
    },
    now: resolved.now,
    handler: options.handler,
    onRejected: options.onRejected,
    sendDeadLetter,
    retry: resolved.retry,
    logger: resolved.logger,
  };
  // One deps object per abort signal (a subscription has one), not a copy of it for every record.
  let withAbandon: DeliveryDeps | undefined;
  return (record, position, abandon, holds) => {
    if (withAbandon?.abandon !== abandon) withAbandon = { ...deps, abandon };
    return deliverRecord(record, position, withAbandon, holds);
  };
}

/** `done`: commit the offset. `abandoned`: the subscription closed first; leave it uncommitted for redelivery. */
export type DeliveryOutcome = 'done' | 'abandoned';

/**
 * Whether the subscription still holds the record's partition (running, not closing, not rebalanced away);
 * Kafka also heartbeats here, so a handler retried for long keeps its group membership.
 */
export type PartitionHold = () => Promise<boolean>;

/** What a bus does with each record it fetched for a subscription. */
export type RecordProcessor = (
  record: WireRecord,
  position: RecordPosition,
  abandon: AbortSignal,
  holds: PartitionHold,
) => Promise<DeliveryOutcome>;

/**
 * What a subscription joins (topic, group, where it starts, partitions at once) and how it processes each
 * record: the same for every bus, which only fetches the records and appends the dead letters.
 */
export interface SubscriptionPlan {
  readonly topicName: string;
  readonly groupId: string;
  readonly fromBeginning: boolean;
  readonly concurrency: number;
  readonly process: RecordProcessor;
}

/** The plan of a subscription to a topic's messages; refused records go through `sendDeadLetter`. */
export function messageSubscription(
  options: SubscribeOptions,
  resolved: ResolvedBusOptions,
  sendDeadLetter: (record: WireRecord) => Promise<void>,
): SubscriptionPlan {
  return {
    topicName: resolved.topicNames[options.topic],
    groupId: options.groupId,
    fromBeginning: options.fromBeginning ?? false,
    concurrency: options.concurrency ?? resolved.concurrency,
    process: subscriptionDelivery(options, resolved, sendDeadLetter),
  };
}

/** The plan of a subscription to the dead-letter topic. */
export function deadLetterSubscription(
  options: DeadLetterSubscribeOptions,
  resolved: ResolvedBusOptions,
): SubscriptionPlan {
  return {
    topicName: resolved.topicNames.dlq,
    groupId: options.groupId,
    fromBeginning: options.fromBeginning ?? false,
    concurrency: resolved.concurrency,
    process: (record, _position, abandon) =>
      deliverDeadLetter(record, options.handler, resolved.retry, abandon, resolved.logger),
  };
}

/**
 * One record, start to end: inspect, then hand over (with retries) or refuse to the DLQ. Resolves `done` only
 * when the record may be committed: handled, skipped, or safely on the DLQ. A handler error marked retryable (a
 * transient condition) is retried with capped backoff while `holds` says the partition is still ours, never
 * refused: when the partition goes (close, rebalance) the record is `abandoned` uncommitted and delivered again.
 * An unmarked error is retried `maxAttempts` times, then refused as `handler-failed` (a poison message must not
 * block its partition for ever); a terminal one is refused at once.
 */
export async function deliverRecord(
  record: WireRecord,
  position: RecordPosition,
  deps: DeliveryDeps,
  holds: PartitionHold = async () => true,
): Promise<DeliveryOutcome> {
  const i = deps.inspect;
  const verdict = inspectRecord(record, position, {
    signer: i.signer,
    nowMs: deps.now(),
    clockSkewMs: i.clockSkewMs,
    audiences: i.audiences,
    types: i.types,
  });
  if (verdict.kind === 'skip') return 'done';
  if (verdict.kind === 'reject') {
    await refuse(record, position, deps, verdict.reason, verdict.detail);
    return 'done';
  }
  const message = verdict.message;
  const parent = extractTraceContext({ traceparent: message.traceparent, tracestate: message.tracestate });
  const span = tracer.startSpan(`process ${deps.topicName}`, { kind: SpanKind.CONSUMER }, parent);
  // Attributes only for a span that records: without an SDK (or unsampled) this is per-message work for nothing.
  if (span.isRecording()) {
    span.setAttributes({
      'messaging.system': 'kafka',
      'messaging.operation.type': 'process',
      'messaging.destination.name': deps.topicName,
      'messaging.consumer.group.name': deps.groupId,
      'messaging.message.id': message.id,
      'messaging.kafka.message.key': message.key,
      'messaging.destination.partition.id': String(position.partition),
      'messaging.kafka.offset': Number(position.offset),
      'cloudevents.event_type': message.type,
    });
  }
  const ctx = trace.setSpan(parent, span);
  try {
    for (let attempt = 1; ; attempt++) {
      if (deps.abandon.aborted) return abandoned(span);
      try {
        // Promise.resolve: a plain-JavaScript handler may return nothing instead of a promise.
        const run = Promise.resolve(
          contextApi.with(ctx, () => deps.handler(message, { attempt, signal: deps.abandon })),
        );
        const settled = await raceAbort(run, deps.abandon);
        if (settled === 'aborted') return abandoned(span);
        return 'done';
      } catch (error) {
        const terminal = isTerminalHandlerError(error);
        const transient = isRetryableHandlerError(error);
        if (terminal || (!transient && attempt >= deps.retry.maxAttempts)) {
          failSpan(span, error);
          await refuse(record, position, deps, terminal ? 'handler-rejected' : 'handler-failed', errorText(error));
          return 'done';
        }
        if (transient && !(await holds())) return abandoned(span);
        const backoff = retryBackoff(deps.retry, attempt);
        deps.logger.warn(
          { err: error, topic: deps.topicName, key: message.key, attempt, backoffMs: backoff },
          'handler failed, retrying',
        );
        if ((await sleep(backoff, deps.abandon)) === 'aborted') return abandoned(span);
      }
    }
  } finally {
    span.end();
  }
}

/** Exponential backoff from `initialBackoffMs`, capped at `maxBackoffMs` (the exponent too, for endless retries). */
function retryBackoff(retry: RetryOptions, attempt: number): number {
  return Math.min(retry.maxBackoffMs, retry.initialBackoffMs * 2 ** Math.min(attempt - 1, 16));
}

function abandoned(span: { setAttribute(k: string, v: boolean): unknown }): DeliveryOutcome {
  span.setAttribute('meshwave.abandoned', true);
  return 'abandoned';
}

async function refuse(
  record: WireRecord,
  position: RecordPosition,
  deps: DeliveryDeps,
  reason: DeadLetter['reason'],
  detail: string,
): Promise<void> {
  const dlq = deadLetterRecord(record, position, deps.groupId, reason, detail, deps.now());
  await deps.sendDeadLetter(dlq);
  deps.logger.warn(
    { topic: deps.topicName, partition: position.partition, offset: position.offset, key: record.key, reason, detail },
    'message refused to the DLQ',
  );
  if (deps.onRejected !== undefined) {
    try {
      await deps.onRejected(decodeDeadLetter(dlq));
    } catch (error) {
      // The record is on the DLQ already; a failing observer must not block the partition.
      deps.logger.error({ err: error }, 'onRejected failed');
    }
  }
}

function errorText(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/**
 * One 'abort' listener per signal, fanning out to the deliveries waiting on it: adding and removing an
 * EventTarget listener for every message costs more than the rest of the delivery bookkeeping.
 */
const abortWaiters = new WeakMap<AbortSignal, Set<() => void>>();

function onAbort(signal: AbortSignal, fn: () => void): () => void {
  let waiters = abortWaiters.get(signal);
  if (waiters === undefined) {
    const set = new Set<() => void>();
    waiters = set;
    abortWaiters.set(signal, set);
    signal.addEventListener(
      'abort',
      () => {
        for (const waiter of set) waiter();
        set.clear();
      },
      { once: true },
    );
  }
  const set = waiters;
  set.add(fn);
  return () => set.delete(fn);
}

function raceAbort(work: Promise<void>, signal: AbortSignal): Promise<'settled' | 'aborted'> {
  if (signal.aborted) return Promise.resolve('aborted');
  // One promise per delivery, not an abort promise + Promise.race + an async frame: this runs for every record.
  // `work` always has a rejection handler here, so a handler abandoned mid-flight that fails later is no
  // unhandled rejection (settling the promise again is a no-op).
  return new Promise((resolve, reject) => {
    const cancel = onAbort(signal, () => resolve('aborted'));
    work.then(
      () => {
        cancel();
        resolve('settled');
      },
      (error: unknown) => {
        cancel();
        reject(error as Error);
      },
    );
  });
}

/** Sleeps `ms`, or less when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<'slept' | 'aborted'> {
  return new Promise((resolve) => {
    if (signal?.aborted === true) {
      resolve('aborted');
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve('aborted');
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve('slept');
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Error for a subscription or bus used after close. */
export const closedError = (what: string): BusError => new BusError(BusErrorCode.Closed, `${what} is closed`);

/**
 * Hands one DLQ record to a dead-letter handler. DLQ records are not verified (they are refusals, kept as they
 * came); a failing handler is retried with backoff until it succeeds or the subscription gives up.
 */
export async function deliverDeadLetter(
  record: WireRecord,
  handler: (deadLetter: DeadLetter) => Promise<void>,
  retry: RetryOptions,
  abandon: AbortSignal,
  logger: Logger,
): Promise<DeliveryOutcome> {
  const deadLetter = decodeDeadLetter(record);
  for (let attempt = 1; ; attempt++) {
    if (abandon.aborted) return 'abandoned';
    try {
      if ((await raceAbort(handler(deadLetter), abandon)) === 'aborted') return 'abandoned';
      return 'done';
    } catch (error) {
      const backoff = retryBackoff(retry, attempt);
      logger.warn({ err: error, attempt, backoffMs: backoff }, 'dead-letter handler failed, retrying');
      if ((await sleep(backoff, abandon)) === 'aborted') return 'abandoned';
    }
  }
}
