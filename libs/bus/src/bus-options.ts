import { SpanKind, context as contextApi, trace } from '@opentelemetry/api';
import { DEFAULT_TOPIC_NAMES, type Topic } from '@meshwave/contracts';
import { failSpan, injectTraceContext, silentLogger, type Logger } from '@meshwave/telemetry';
import { encodeEnvelope, encodeValidated, validatedData, type EncodeContext, type WireRecord } from './envelope.js';
import type { OutgoingMessage } from './event-bus.js';
import { MessageSigner, type SigningOptions } from './signing.js';
import { WireLayout } from './wire-layout.js';

/** Retries of a handler that failed with a transient error: exponential backoff, capped. */
export interface RetryOptions {
  /**
   * tries per delivery, the first included; then the message goes to the DLQ (`handler-failed`). Errors marked
   * `retryable: true` are not counted: retried until they pass or the subscription lets the partition go
   */
  readonly maxAttempts: number;
  readonly initialBackoffMs: number;
  readonly maxBackoffMs: number;
}

export const DEFAULT_RETRY: RetryOptions = { maxAttempts: 5, initialBackoffMs: 100, maxBackoffMs: 5_000 };

/** Options shared by every EventBus implementation. */
export interface BusOptions {
  /** `ce_source` of every message this bus publishes, e.g. `planner` or `cluster-agent/prod-1` */
  readonly source: string;
  readonly signing: SigningOptions;
  /** topic names per role; default `DEFAULT_TOPIC_NAMES` */
  readonly topicNames?: Partial<Record<Topic, string>>;
  /** expiry of a message that does not set `ttlSeconds`; default 3600 */
  readonly defaultTtlSeconds?: number;
  /** clock difference tolerated when judging expiry; default 30 000 */
  readonly clockSkewMs?: number;
  /** handler retries for transient errors; default 5 tries, 100 ms doubling to 5 s */
  readonly retry?: Partial<RetryOptions>;
  /** partitions handled at once per subscription; default 4 */
  readonly concurrency?: number;
  /** how long `close()` lets in-flight handlers finish before abandoning them uncommitted; default 10 000 */
  readonly shutdownGraceMs?: number;
  /** pino logger; default silent */
  readonly logger?: Logger;
  /** clock, for expiry and CloudEvents `time`; default `Date.now` */
  readonly now?: () => number;
  /**
   * The wire layout this bus writes (ADR 0021, 0026); consumers read v1, v2 and v3. Default v1 until every
   * service of a fleet runs a release that reads v3 (a consumer of an older release dead-letters what it cannot
   * read); v3 (CloudEvents structured mode) sends 2 headers instead of 10.
   */
  readonly wireLayout?: WireLayout;
}

export interface ResolvedBusOptions {
  readonly source: string;
  readonly signer: MessageSigner;
  readonly topicNames: Readonly<Record<Topic, string>>;
  readonly defaultTtlSeconds: number;
  readonly clockSkewMs: number;
  readonly retry: RetryOptions;
  readonly concurrency: number;
  readonly shutdownGraceMs: number;
  readonly logger: Logger;
  readonly now: () => number;
  readonly wireLayout: WireLayout;
}

export function resolveBusOptions(options: BusOptions): ResolvedBusOptions {
  return {
    source: options.source,
    signer: new MessageSigner(options.signing),
    topicNames: { ...DEFAULT_TOPIC_NAMES, ...options.topicNames },
    defaultTtlSeconds: options.defaultTtlSeconds ?? 3600,
    clockSkewMs: options.clockSkewMs ?? 30_000,
    retry: { ...DEFAULT_RETRY, ...options.retry },
    concurrency: Math.max(1, options.concurrency ?? 4),
    shutdownGraceMs: options.shutdownGraceMs ?? 10_000,
    logger: options.logger ?? silentLogger(),
    now: options.now ?? Date.now,
    wireLayout: options.wireLayout ?? WireLayout.V1,
  };
}

const tracer = trace.getTracer('@meshwave/bus');

export interface EncodedMessage {
  readonly topicName: string;
  readonly record: WireRecord;
}

/**
 * Runs `send` inside a `publish <topic>` producer span with every message validated first (all or nothing: one
 * invalid message and none is sent). `send` gets the messages as they are encoded and signed, one at a time as it
 * reads them: a publish of many big messages (a desired state per cluster) need not hold every encoded record at
 * once while the first ones are still being sent (issue 15, ADR 0075). The messages carry the span's trace context.
 */
export async function publishInSpan(
  messages: readonly OutgoingMessage[],
  options: ResolvedBusOptions,
  send: (encoded: Iterable<EncodedMessage>) => Promise<void>,
): Promise<void> {
  if (messages.length === 0) return;
  const names = [...new Set(messages.map((m) => options.topicNames[m.topic]))];
  const span = tracer.startSpan(`publish ${names.length === 1 ? names[0] : 'meshwave'}`, {
    kind: SpanKind.PRODUCER,
    attributes: {
      'messaging.system': 'kafka',
      'messaging.operation.type': 'send',
      'messaging.destination.name': names.join(','),
      'messaging.batch.message_count': messages.length,
    },
  });
  const ctx = trace.setSpan(contextApi.active(), span);
  try {
    const traceHeaders = injectTraceContext(ctx);
    const nowMs = options.now();
    const ctxOf: EncodeContext = {
      source: options.source,
      nowMs,
      defaultTtlSeconds: options.defaultTtlSeconds,
      signer: options.signer,
      trace: traceHeaders,
      wireLayout: options.wireLayout,
    };
    // every message checked before any is sent; what the check read is not kept (one parsed copy of every
    // message at once is what encoding lazily avoids): each is read again as it is encoded. A lone message's
    // parsed copy is all the check holds anyway: it is encoded from it rather than parsed twice (most of an agent's
    // publishes are one report).
    const lone = messages.length === 1 ? { data: validatedData(messages[0]!) } : undefined;
    if (lone === undefined) for (const m of messages) validatedData(m);
    function* encoded(): Generator<EncodedMessage> {
      for (const m of messages)
        yield {
          topicName: options.topicNames[m.topic],
          record: lone !== undefined ? encodeValidated(m, lone.data, ctxOf) : encodeEnvelope(m, ctxOf),
        };
    }
    await contextApi.with(ctx, () => send(encoded()));
  } catch (error) {
    failSpan(span, error);
    throw error;
  } finally {
    span.end();
  }
}

/** Topic role → name, as a bus with these options uses it (tests, tools). */
export function topicNameOf(options: Pick<BusOptions, 'topicNames'>, topic: Topic): string {
  return { ...DEFAULT_TOPIC_NAMES, ...options.topicNames }[topic];
}
