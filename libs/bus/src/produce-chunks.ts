// A publish split into produce requests the broker accepts (ADR 0070). Kafka refuses a partition's record batch
// larger than its `message.max.bytes` (1 MiB by default), and kafkajs puts every message of one send for the
// same partition in one batch: at fleet scale a reconcile's desired states (about 160 KB per cluster of 2,000
// units, 45 clusters over 6 partitions) made a batch of ~1.3 MB, the broker refused it, and the rollout's
// reconcile failed the same way on every retry.
import type { WireRecord } from './wire-layout.js';

/**
 * Bytes one produce request of a publish may hold by default: below Kafka's default `message.max.bytes`
 * (1,048,588) with room for the batch's and records' own framing.
 */
export const DEFAULT_MAX_PRODUCE_BYTES = 768 * 1024;

/** Per-record framing beyond key, value and headers (lengths, attributes, offsets, timestamp deltas). */
const RECORD_OVERHEAD_BYTES = 32;

/** What a record takes in a record batch, uncompressed (an upper estimate). */
export function recordBytes(record: WireRecord): number {
  let n = RECORD_OVERHEAD_BYTES + Buffer.byteLength(record.key) + record.value.length;
  for (const [name, value] of Object.entries(record.headers))
    n += Buffer.byteLength(name) + Buffer.byteLength(value) + 8;
  return n;
}

/**
 * The records in order, cut into consecutive chunks of at most `maxBytes` each (a record larger than that goes
 * alone: the broker decides). Sent one chunk after the other, each partition's records keep their order. Lazy: a
 * chunk is taken from `records` (one record ahead, to know it is full) only when the one before it was consumed,
 * so records encoded as they are read are never all held at once (ADR 0075).
 */
export function* produceChunks<T extends { readonly record: WireRecord }>(
  records: Iterable<T>,
  maxBytes: number,
): Generator<T[]> {
  let chunk: T[] = [];
  let bytes = 0;
  for (const r of records) {
    const size = recordBytes(r.record);
    if (chunk.length > 0 && bytes + size > maxBytes) {
      yield chunk;
      chunk = [];
      bytes = 0;
    }
    chunk.push(r);
    bytes += size;
  }
  if (chunk.length > 0) yield chunk;
}
