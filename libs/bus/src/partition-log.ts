import type { WireRecord } from './envelope.js';

/** Records an in-memory partition keeps by default: the newest 10,000; older ones are trimmed (Kafka's retention). */
export const DEFAULT_RETAIN_RECORDS = 10_000;

/**
 * Bytes (record values and keys) an in-memory partition keeps by default: 16 MiB, as Kafka's `retention.bytes`
 * bounds a partition. A count alone does not bound memory: at fleet scale one record (a cluster's progress, a VM
 * group's) weighs hundreds of kB, and 10,000 of them per partition held gigabytes (issue 15, ADR 0044).
 */
export const DEFAULT_RETAIN_BYTES = 16 * 1024 * 1024;

const sizeOf = (record: WireRecord): number => record.value.length + record.key.length;

/**
 * One partition of an in-memory topic with bounded retention: the newest `retain` records, at most `retainBytes`
 * of them, stay; older ones are trimmed, and offsets keep counting (an offset is never reused), as in a Kafka
 * partition whose old segments were deleted. Memory stays bounded however long a process runs.
 */
export class PartitionLog {
  private items: (WireRecord | undefined)[] = [];
  /** index in `items` of the first retained record */
  private head = 0;
  /** offset of the first retained record */
  private base = 0;
  /** bytes of the retained records */
  private bytes = 0;

  constructor(
    readonly retain: number,
    readonly retainBytes: number = DEFAULT_RETAIN_BYTES,
  ) {
    if (!Number.isInteger(retain) || retain < 1)
      throw new RangeError(`retain must be a whole number >= 1, not ${retain}`);
    if (!Number.isInteger(retainBytes) || retainBytes < 1)
      throw new RangeError(`retainBytes must be a whole number >= 1, not ${retainBytes}`);
  }

  /** offset of the oldest record still retained */
  get start(): number {
    return this.base;
  }

  /** offset the next record will get */
  get end(): number {
    return this.base + this.items.length - this.head;
  }

  /** bytes (values and keys) of the records retained now */
  get retainedBytes(): number {
    return this.bytes;
  }

  /**
   * Appends `record`; returns its offset. `keepFrom` is the lowest offset a consumer group has yet to commit:
   * nothing from there on is trimmed, so a slow group loses no record it has not handled (at-least-once); the
   * window only bounds what every group has already passed. The newest record always stays, however large.
   */
  append(record: WireRecord, keepFrom: number = Number.POSITIVE_INFINITY): number {
    const offset = this.end;
    this.items.push(record);
    this.bytes += sizeOf(record);
    while (this.overRetention() && this.base < keepFrom && this.end - this.base > 1) {
      this.bytes -= sizeOf(this.items[this.head] as WireRecord);
      this.items[this.head] = undefined;
      this.head++;
      this.base++;
      // compact once half the array is trimmed slots: amortised O(1) per append
      if (this.head * 2 > this.items.length) {
        this.items = this.items.slice(this.head);
        this.head = 0;
      }
    }
    return offset;
  }

  /** The record at `offset`, or undefined when it is not written yet or already trimmed (see `start`). */
  at(offset: number): WireRecord | undefined {
    if (offset < this.base) return undefined;
    return this.items[this.head + offset - this.base];
  }

  private overRetention(): boolean {
    return this.end - this.base > this.retain || this.bytes > this.retainBytes;
  }
}
