// One partition's batch of a Kafka subscription (kafkajs `eachBatch`), handled one message at a time.
import type { Logger } from '@meshwave/telemetry';
import type { EachBatchPayload, IHeaders } from 'kafkajs';
import type { RecordProcessor } from './delivery.js';
import type { WireRecord } from './envelope.js';

function toWireRecord(message: { key: Buffer | null; value: Buffer | null; headers?: IHeaders }): WireRecord {
  const headers: Record<string, string> = {};
  const raws = message.headers;
  // for-in, not Object.entries: no array of pairs per record (kafkajs builds `headers` as a plain object).
  if (raws !== undefined) {
    for (const name in raws) {
      const raw = raws[name];
      const value = Array.isArray(raw) ? raw[raw.length - 1] : raw;
      if (value !== undefined) headers[name] = value.toString();
    }
  }
  return { key: message.key?.toString('utf8') ?? '', value: message.value ?? Buffer.alloc(0), headers };
}

/** What handling a batch needs besides the batch: how often to commit, where a failed commit is logged. */
export interface BatchSettings {
  readonly commitIntervalMs: number;
  readonly logger: Logger;
}

/**
 * One partition's batch, one message at a time: one key is never handled twice at once and stays in order;
 * partitions run concurrently (partitionsConsumedConcurrently). Offsets are committed only for handled
 * messages, every `commitIntervalMs` and at the end of the batch. A commit during the batch is sent, not waited
 * for: the next message is handled meanwhile, and commits go one after another (each waits for the one before),
 * so the broker sees them in order; the batch ends only once the last one is answered. On a busy process, where
 * a network answer waits a turn of the event loop of several seconds, waiting for each commit made every message
 * a turn, and a subscription read ~0.3 records a second (fleet (b), issue 15, ADR 0073).
 */
export async function handleKafkaBatch(
  payload: EachBatchPayload,
  process: RecordProcessor,
  abandon: AbortSignal,
  settings: BatchSettings,
): Promise<void> {
  const { batch } = payload;
  let handled: string | undefined;
  let committedAt = Date.now();
  let heartbeatAt = 0;
  /** the commits sent so far, in order; settles once the last one was answered (a failure is logged) */
  let commits: Promise<void> = Promise.resolve();
  const commit = (): Promise<void> => {
    if (handled === undefined) return commits;
    const offset = (BigInt(handled) + 1n).toString();
    handled = undefined;
    committedAt = Date.now();
    commits = commits.then(async () => {
      try {
        // The payload's commit, not consumer.commitOffsets(): that one silently does nothing once the
        // consumer is stopping, which would lose the commits of handlers that finished during close().
        await payload.commitOffsetsIfNecessary({
          topics: [{ topic: batch.topic, partitions: [{ partition: batch.partition, offset }] }],
        });
      } catch (error) {
        // A rebalance took the partition: its next owner starts from the last commit (at-least-once).
        settings.logger.warn(
          { err: error, topic: batch.topic, partition: batch.partition, offset },
          'offset commit failed',
        );
      }
    });
    return commits;
  };
  // A handler retried for a transient condition keeps the membership alive, and stops once the partition is
  // gone: the heartbeat fails during a rebalance, `isRunning` turns false on close.
  const holds = async (): Promise<boolean> => {
    if (!payload.isRunning() || payload.isStale()) return false;
    try {
      await payload.heartbeat();
      return payload.isRunning() && !payload.isStale();
    } catch {
      return false;
    }
  };
  try {
    for (const message of batch.messages) {
      if (!payload.isRunning() || payload.isStale()) break;
      const outcome = await process(
        toWireRecord(message),
        { topic: batch.topic, partition: batch.partition, offset: message.offset },
        abandon,
        holds,
      );
      if (outcome === 'abandoned') break;
      payload.resolveOffset(message.offset);
      handled = message.offset;
      if (Date.now() - committedAt >= settings.commitIntervalMs) void commit();
      // kafkajs sends a heartbeat only once per heartbeatInterval anyway; asking every 200 ms saves an await per message.
      if (Date.now() - heartbeatAt >= 200) {
        heartbeatAt = Date.now();
        await payload.heartbeat();
      }
    }
  } finally {
    await commit();
  }
}
